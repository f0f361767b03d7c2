import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { correlate } from './correlate.js';
import { HarError, readHar, recordingOf } from './har.js';
import { journeySource } from './journey-source.js';

const HARS = new URL('../test/har/', import.meta.url).pathname;
const imported = (file: string) => {
  const c = correlate(recordingOf(readHar(join(HARS, file))));
  return { ...journeySource(c, file, 'journey.users.csv'), c };
};

/** Each of `lines` is in the journey's source. */
const contains = (source: string, lines: string[]) => lines.forEach((l) => expect(source).toContain(l));

describe('import har: offline correlation', () => {
  it('takes a CSRF token from a hidden form field, a redirect from its Location and a token from a meta tag into a header; leaves out assets and other hosts', () => {
    const j = imported('csrf-form.har');
    contains(j.source, [
      "return { csrf: extract.formField(res.body, 'csrf') };",
      "vu.http.request('POST', '/login', { form: { username, password, csrf }, expect: [303], signal })",
      "return { location: extract.regex(String(res.headers['location'] ?? ''), /.+/, 'location header') };",
      "vu.http.request('GET', location, { expect: [200], signal })",
      "return { csrfToken: extract.meta(res.body, 'csrf-token') };",
      "headers: { 'x-csrf-token': csrfToken }",
    ]);
    // The session cookie goes back by itself: no variable, no Cookie header copied.
    expect(j.source).not.toMatch(/s3ss10nV4lu3|'cookie'/);
    expect(j.source).toContain('// Left out: 2 static assets (css, png); 1 request to fonts.example.org.');
    expect(j.steps).toEqual([
      { name: 'login_page', layer: 'admission' }, { name: 'login', layer: 'admission' }, { name: 'dashboard_page', layer: 'admission' }, { name: 'today', layer: 'broker' },
    ]);
    // The credentials typed: columns of the data, the participant's test account without it.
    expect(j.source).toContain("const username = vu.data?.['username'] ?? vu.identity.user;");
    expect(j.source).toContain("const password = vu.data?.['password'] ?? vu.identity.password;");
    expect(j.csv).toBe('username,password\nanna-0,0-anna\n');
    expect(j.source).toContain("await vu.think(3500); // the recording's pause");
  });

  it('takes a JSON token into an Authorization header, a JSON id into a later URL and body, and a room into a WebSocket URL', () => {
    const j = imported('json-token.har');
    expect(j.c.variables.map((v) => [v.name, v.how])).toEqual([
      ['token', { kind: 'json', path: 'token' }], ['userId', { kind: 'json', path: 'user.id' }], ['room', { kind: 'json', path: 'rooms[0].room' }], ['seat', { kind: 'json', path: 'seat' }],
    ]);
    // The id went back as a JSON number, and goes back as one.
    contains(j.source, [
      "return { token: String(extract.json(res.body, 'token')), userId: String(extract.json(res.body, 'user.id')) };",
      "vu.http.request('GET', `/api/users/${userId}/rooms?active=1`, { headers: { 'authorization': `Bearer ${token}` }, expect: [200], signal })",
      'json: { user: Number(userId), room }',
      "const ws = await vu.ws(`/ws/classroom?room=${room}&seat=${seat}`, signal, { protocol: 'classroom-v1' });",
      // The two messages the socket opened with, waited for in whatever order they come.
      "(m) => (m.json as { type?: unknown } | undefined)?.type === 'roster',",
      "(m) => (m.json as { type?: unknown } | undefined)?.type === 'welcome',",
      "what: '2 answers (type roster, type welcome)'",
      'ws.send(`{"type": "hello", "seat": "${seat}"}`);',
    ]);
    expect(j.steps.map((s) => `${s.name} ${s.layer}`)).toEqual(['home admission', 'login admission', 'rooms broker', 'join broker', 'classroom media']);
    expect(j.source).toContain("classroom: { layer: 'media', goal: 'journey' },");
  });

  it("takes the ids a WebSocket's own messages hand out (a Janus session and handle) into the messages sent after them on it", () => {
    const j = imported('janus-ws.har');
    // Named by the keys they are sent back under.
    expect(j.c.variables.map((v) => [v.name, v.how])).toEqual([['sessionId', { kind: 'message', index: 1, path: 'data.id' }], ['handleId', { kind: 'message', index: 3, path: 'data.id' }]]);
    contains(j.source, [
      "const ws = await vu.ws('/janus', signal, { protocol: 'janus-protocol' });",
      `ws.send('{"janus":"create","transaction":"Xq1"}');`,
      "const m1 = await ws.waitFor((m) => (m.json as { janus?: unknown } | undefined)?.janus === 'success' && (m.json as { transaction?: unknown }).transaction === 'Xq1', { signal, timeoutMs: 10_000, what: 'janus success Xq1' });",
      "const sessionId = String(extract.json(m1.text, 'data.id'));",
      'ws.send(`{"janus":"attach","plugin":"janus.plugin.videoroom","transaction":"Xq2","session_id":${sessionId}}`);',
      "const handleId = String(extract.json(m3.text, 'data.id'));",
      'ws.send(`{"janus":"message","body":{"request":"join","room":1234,"ptype":"publisher","display":"anna"},"transaction":"Xq3","session_id":${sessionId},"handle_id":${handleId}}`);',
      "await ws.waitFor((m) => (m.json as { janus?: unknown } | undefined)?.janus === 'event' && (m.json as { transaction?: unknown }).transaction === 'Xq3', { signal, timeoutMs: 10_000, what: 'janus event Xq3' });",
      'ws.send(`{"janus":"keepalive","session_id":${sessionId},"transaction":"Xq4"}`);',
    ]);
    // The room's id came from the page's own URL, which no answer handed out: sent as recorded.
    expect(j.source).not.toContain('5566778899');
  });

  it('waits for a receipt at the first wait after its request, where the recording had it come in only after a later request', () => {
    // janus-ws.har with two candidates trickled before the join's event, whose receipts came only after a third.
    const har = JSON.parse(readFileSync(join(HARS, 'janus-ws.har'), 'utf8')) as { log: { entries: { _webSocketMessages?: { type: string; time: number; opcode: number; data: string }[] }[] } };
    const socket = har.log.entries.find((e) => e._webSocketMessages)!;
    const at = (type: string, time: number, data: object) => ({ type, time, opcode: 1, data: JSON.stringify(data) });
    const trickle = (t: string) => ({ janus: 'trickle', candidate: { candidate: `candidate:${t}` }, transaction: t, session_id: 4417254321, handle_id: 9921771 });
    socket._webSocketMessages = [
      ...socket._webSocketMessages!.slice(0, 5),
      at('send', 1.41, trickle('T1')), at('send', 1.42, trickle('T2')),
      ...socket._webSocketMessages!.slice(5, 7),
      at('send', 1.7, trickle('T3')),
      ...['T1', 'T2', 'T3'].map((t, i) => at('receive', 1.8 + i / 100, { janus: 'ack', session_id: 4417254321, transaction: t })),
    ];
    const dir = tempDir();
    writeFileSync(join(dir, 'late-receipts.har'), JSON.stringify(har));
    const source = journeySource(correlate(recordingOf(readHar(join(dir, 'late-receipts.har')))), 'late-receipts.har', 'journey.users.csv').source;
    contains(source, ["what: '3 answers (janus event Xq3, janus ack T1 and 1 more)'", "what: 'janus ack T3'"]);
    expect(source.indexOf("what: '3 answers")).toBeLessThan(source.indexOf('"transaction":"T3"'));
  });

  it("makes the values of the page's address that the page sent on (a room, a name) columns of the data, and waits for a socket's answers in whatever order they come", () => {
    // Recorded by firstbell record from the janus.js classroom page of examples/janus-classroom (its SDP cut short).
    const j = imported('janus-page.har');
    expect(j.c.credentials.map((c) => [c.name, c.column, c.value, c.fallback])).toEqual([['room', 'room', '4711', 'recorded'], ['name', 'name', 'pupil-1', 'user']]);
    expect(j.csv).toBe('room,name\n4711,pupil-1\n');
    contains(j.source, [
      "const room = vu.data?.['room'] ?? '4711';",
      "const name = vu.data?.['name'] ?? vu.identity.user;",
      "vu.http.request('GET', `/classroom.html?room=${room}&name=${name}`, { expect: [200], signal })",
      '"body":{"request":"join","room":${room},"ptype":"publisher","display":"${name}"}',
      // The join's receipt is left out: its event is its answer.
      "what: 'janus event fmPxmMYtTpe7'",
      // The configure's event and the trickles' receipts came mixed: all are waited for, in any order.
      "what: '7 answers (janus ack WhACTk2xkDcb, janus event mLioSIsPUjzj and 5 more)'",
      '// 3 messages that followed from media (webrtcup, media) are not waited for.',
    ]);
    expect(j.source).not.toContain("'janus ack fmPxmMYtTpe7'");
    expect(j.source).not.toContain("'janus webrtcup'");
    // A plain word is followed only as a whole field: the "event" of an answer's kind is not the SDP's "telephone-event".
    expect(j.source).toContain('telephone-event/8000');
    expect(j.c.variables.map((v) => v.name)).toEqual(['sessionId', 'handleId']);
  });

  it('names what is wrong with a file that is not a HAR, and where', () => {
    const dir = tempDir();
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    expect(() => readHar(write('a.har', '{"log":'))).toThrow(/a\.har: not a HAR file: it is not JSON \(.+\)\. Save it from the browser's developer tools \(Network → Export HAR\)\./);
    expect(() => readHar(write('b.har', '{"entries":[]}'))).toThrow(/b\.har: not a HAR file: it has no log\.entries list/);
    expect(() => readHar(write('c.har', '{"log":{"entries":[{"request":{"method":"GET","url":"/x"},"response":{"status":200}}]}}'))).toThrow(/c\.har: log\.entries\[0\]: request\.url "\/x" is not a URL/);
    expect(() => readHar(write('d.har', '{"log":{"entries":[{"request":{"method":"GET","url":"http://a/"}}]}}'))).toThrow(/d\.har: log\.entries\[0\] has no response\.status/);
    expect(() => readHar(join(dir, 'none.har'))).toThrow(HarError);
    const assets = write('e.har', JSON.stringify({ log: { entries: [{ request: { method: 'GET', url: 'http://a.test/app.js' }, response: { status: 200, content: { mimeType: 'application/javascript' } } }] } }));
    expect(() => recordingOf(readHar(assets))).toThrow('the recording has no requests to http://a.test but static assets');
  });
});
