// The classroom: joins the VideoRoom of ?room= as ?name=, sends camera and microphone, and shows every classmate.
// The Janus API is reached at /janus on the same host (nginx passes it on to Janus).
(() => {
  const params = new URLSearchParams(location.search);
  const room = Number(params.get('room') ?? 1);
  const name = params.get('name') ?? 'pupil';
  const server = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/janus`;
  const status = document.getElementById('status');
  const say = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };
  document.getElementById('room').textContent = String(room);
  let janus;

  function fail(why) {
    say('failed', `Could not join: ${why}`);
  }

  function watch(feed) {
    let handle;
    janus.attach({
      plugin: 'janus.plugin.videoroom',
      success: (h) => {
        handle = h;
        handle.send({ message: { request: 'join', room, ptype: 'subscriber', streams: [{ feed: feed.id }] } });
      },
      error: (e) => console.warn('cannot watch', feed.display, e),
      onmessage: (msg, jsep) => {
        if (!jsep) return;
        handle.createAnswer({
          jsep,
          tracks: [{ type: 'data' }],
          success: (answer) => handle.send({ message: { request: 'start', room }, jsep: answer }),
          error: (e) => console.warn('no answer for', feed.display, e),
        });
      },
      onremotetrack: (track, mid, on) => {
        if (!on || track.kind !== 'video') return;
        const video = document.createElement('video');
        video.autoplay = true;
        video.muted = true;
        video.playsInline = true;
        video.srcObject = new MediaStream([track]);
        document.getElementById('classmates').append(video);
      },
    });
  }

  function publish(handle) {
    handle.createOffer({
      tracks: [{ type: 'audio', capture: true, recv: false }, { type: 'video', capture: { width: 320, height: 240 }, recv: false }],
      success: (jsep) => handle.send({ message: { request: 'configure', audio: true, video: true }, jsep }),
      error: (e) => fail(`camera or microphone: ${e.message ?? e}`),
    });
  }

  function enter() {
    say('joining', 'Joining your class…');
    let pub;
    janus = new Janus({
      server,
      iceServers: [],
      success: () =>
        janus.attach({
          plugin: 'janus.plugin.videoroom',
          success: (handle) => {
            pub = handle;
            // The first pupil in makes the room; 427 says a classmate already did.
            pub.send({
              message: { request: 'create', room, publishers: 50 },
              success: (made) => {
                if (made?.error_code && made.error_code !== 427) return fail(made.error);
                pub.send({ message: { request: 'join', room, ptype: 'publisher', display: name } });
              },
              error: (e) => fail(e),
            });
          },
          error: (e) => fail(e),
          onmessage: (msg, jsep) => {
            if (msg.videoroom === 'joined') publish(pub);
            if (msg.error) fail(msg.error);
            for (const p of msg.publishers ?? []) watch(p);
            if (jsep) pub.handleRemoteJsep({ jsep });
          },
          onlocaltrack: (track, on) => {
            if (on && track.kind === 'video') document.getElementById('me').srcObject = new MediaStream([track]);
          },
          webrtcState: (up) => (up ? say('joined', 'You are in your class.') : fail('the connection to the class was lost')),
        }),
      error: (e) => fail(`the classroom server: ${e}`),
      destroyed: () => say('left', 'You left the class.'),
    });
  }

  document.getElementById('join').addEventListener('click', () => {
    document.getElementById('join').disabled = true;
    Janus.init({ debug: false, dependencies: Janus.useDefaultDependencies(), callback: enter });
  });
})();
