// What firstbell puts into every page a browser user opens, before the page's own scripts run: it keeps each
// RTCPeerConnection the page makes, notes the first video frame decoded from any of them, and reads their counters.
// The page needs no help from its authors; its own code sees the same RTCPeerConnection as before.
import type { MediaReading } from '../../api/web-client.js';

/** The collector's state on the page, under a name no page uses. */
interface Collector {
  pcs: Set<RTCPeerConnection>;
  /** Epoch ms of the first decoded video frame; 0 until then. */
  firstFrameAt: number;
  /** A peer connection of the page was connected at some time. */
  everConnected: boolean;
}

/** Runs in the page, before its scripts (page.evaluateOnNewDocument). Self-contained: puppeteer sends its source. */
export function installCollector(): void {
  const w = window as unknown as { __firstbellCollector?: Collector; RTCPeerConnection?: typeof RTCPeerConnection; webkitRTCPeerConnection?: unknown };
  // The instant of each click, so that "click to joined" starts at the click, not at the wait for the button; in the
  // tab's session storage, which a navigation the click starts keeps (the page functions are self-contained: the key is spelt out).
  window.addEventListener(
    'click',
    () => {
      try {
        sessionStorage.setItem('__firstbellClickAt', String(performance.timeOrigin + performance.now()));
      } catch {
        // A page without storage (an opaque origin): the step's start stands for the click.
      }
    },
    true,
  );
  if (w.__firstbellCollector || !w.RTCPeerConnection) return;
  const state: Collector = { pcs: new Set(), firstFrameAt: 0, everConnected: false };
  Object.defineProperty(window, '__firstbellCollector', { value: state, enumerable: false });
  let polling: ReturnType<typeof setInterval> | undefined;
  const poll = () => {
    if (polling !== undefined) return;
    polling = setInterval(() => {
      if (state.firstFrameAt) return clearInterval(polling);
      for (const pc of state.pcs) {
        pc.getStats()
          .then((report) => {
            for (const s of report.values()) {
              if (s.type === 'inbound-rtp' && s.kind === 'video' && (s.framesDecoded ?? 0) > 0 && !state.firstFrameAt) state.firstFrameAt = performance.timeOrigin + performance.now();
            }
          })
          .catch(() => undefined);
      }
    }, 50);
  };
  const Native = w.RTCPeerConnection;
  const Watched = new Proxy(Native, {
    construct(target, args, newTarget) {
      const pc = Reflect.construct(target, args, newTarget) as RTCPeerConnection;
      state.pcs.add(pc);
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'connected') state.everConnected = true;
      });
      poll();
      return pc;
    },
  });
  w.RTCPeerConnection = Watched;
  if (w.webkitRTCPeerConnection) w.webkitRTCPeerConnection = Watched;
}

/** What the collector reads in one go: the media counters, and whether the page still has a live connection. */
export type CollectorReading = MediaReading & { connected: number; everConnected: boolean; present: boolean };

/** Runs in the page: every peer connection's counters, summed (the driver turns them into rates). */
export async function readCollector(): Promise<CollectorReading> {
  const state = (window as unknown as { __firstbellCollector?: Collector }).__firstbellCollector;
  const out: CollectorReading = { framesDecoded: 0, fps: 0, packetsLost: 0, jitterMs: 0, bytesIn: 0, bytesOut: 0, freezes: 0, pairs: [], connected: 0, everConnected: false, present: !!state };
  if (!state) return out;
  out.everConnected = state.everConnected;
  let inbound = 0;
  let jitters = 0;
  for (const pc of state.pcs) {
    if (pc.connectionState !== 'failed' && pc.connectionState !== 'closed') out.connected++;
    if (pc.connectionState === 'closed') continue;
    const report = await pc.getStats().catch(() => undefined);
    if (!report) continue;
    for (const s of report.values()) {
      if (s.type === 'inbound-rtp') {
        out.packetsLost += s.packetsLost ?? 0;
        out.bytesIn += s.bytesReceived ?? 0;
        if (s.jitter !== undefined) {
          out.jitterMs += s.jitter * 1000;
          jitters++;
        }
        if (s.kind === 'video') {
          inbound++;
          out.framesDecoded += s.framesDecoded ?? 0;
          out.fps += s.framesPerSecond ?? 0;
          out.freezes += s.freezeCount ?? 0;
        }
      }
      if (s.type === 'outbound-rtp') out.bytesOut += s.bytesSent ?? 0;
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        const local = report.get(s.localCandidateId);
        const remote = report.get(s.remoteCandidateId);
        out.pairs!.push(`${local?.address}:${local?.port}-${remote?.address}:${remote?.port}`);
      }
    }
  }
  if (inbound) out.fps /= inbound;
  if (jitters) out.jitterMs /= jitters;
  return out;
}

/** Runs in the page: epoch ms of the last click in this tab, or 0. */
export function lastClickAt(): number {
  try {
    return Number(sessionStorage.getItem('__firstbellClickAt') ?? 0);
  } catch {
    return 0;
  }
}

/** Runs in the page: epoch ms of the first decoded video frame, or 0. */
export function firstFrameAt(): number {
  return (window as unknown as { __firstbellCollector?: Collector }).__firstbellCollector?.firstFrameAt ?? 0;
}
