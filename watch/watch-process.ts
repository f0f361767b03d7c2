// The watch's own process: reads every watched source once a second and writes watch.csv into the run folder, so
// that its reads never take the CPU or the event loop of the process that sends the load. Tells its parent when a
// source fails (and what it said), and stops when told or when its parent is gone.
import { join } from 'node:path';
import { guardConnections, NetPolicy } from '../protocol/address-guard.js';
import { FILES } from '../run-folder/run-folder.js';
import { LineSink } from '../run-folder/writer.js';
import { columnsOf, sourceOf, WatchError, type Reading, type WatchSpec } from './sources.js';
import { RemoteWriter } from './remote-write.js';
import { REMOTE_WRITE, type FromWatch, type WatchInit } from './watcher.js';

/** How often a source's peek looks between reads, ms. */
const PEEK_MS = 100;

const send = (m: FromWatch) => process.connected && process.send!(m);

function main(): void {
  const init = JSON.parse(process.argv[2]!) as WatchInit;
  // Every connection of this process goes to loopback, the target or an allowed host.
  guardConnections(new NetPolicy(init.allowedHosts));
  const sources = init.specs.map(sourceOf);
  const widths = init.specs.map((s: WatchSpec) => columnsOf(s).length);
  const sink = init.specs.length ? new LineSink(join(init.dir, FILES.watch), ['second', ...init.specs.flatMap(columnsOf)].join(','), 500) : undefined;
  const said = new Map<string, string>();
  let stopped = false;
  const readAll = () =>
    Promise.all(sources.map(async (src, k): Promise<Reading> => {
      const fail = (message: string) => {
        if (said.get(src.spec.name) === message) return;
        said.set(src.spec.name, message);
        send({ type: 'failed', name: src.spec.name, message });
      };
      try {
        const r = await src.read();
        if (src.problem) fail(src.problem);
        else if (said.has(src.spec.name)) {
          said.delete(src.spec.name);
          send({ type: 'recovered', name: src.spec.name });
        }
        return r;
      } catch (e) {
        fail(e instanceof WatchError ? e.message : e instanceof Error ? e.message : String(e));
        return Array(widths[k]).fill(null);
      }
    }));
  const now = () => Date.now() - init.t0Epoch;
  // A first read before t = 0: what is counted per second (CPU, accepted) needs one before it.
  if (sources.length) void readAll();
  const tick = async (t: number): Promise<void> => {
    if (stopped) return;
    const wait = (t + 1) * 1000 - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (stopped) return;
    const rows = await readAll();
    if (stopped) return;
    sink?.write([t, ...rows.flat().map((v) => (v === null || !Number.isFinite(v) ? '' : String(v)))].join(','));
    // A second whose reads took longer than a second is skipped, not bunched.
    void tick(Math.max(t + 1, Math.floor(now() / 1000)));
  };
  if (sources.length) void tick(Math.max(0, Math.floor(now() / 1000)));
  // Between reads, the cheaper looks of sources that have them (open files can climb to their limit within a second).
  const peeks = setInterval(() => {
    for (const src of sources) void src.peek?.().catch(() => undefined);
  }, PEEK_MS);
  // The run's own figures into a Prometheus, every second, from the run folder as written.
  let remoteFailed = '';
  const remote = init.remoteWrite
    ? new RemoteWriter(init.remoteWrite.url, init.dir, { id: init.remoteWrite.run, scenario: init.remoteWrite.scenario }, (message) => {
      if (message !== remoteFailed) send({ type: 'failed', name: REMOTE_WRITE, message });
      remoteFailed = message;
    }, () => {
      if (remoteFailed) send({ type: 'recovered', name: REMOTE_WRITE });
      remoteFailed = '';
    })
    : undefined;
  // One push at a time: a Prometheus slow to answer gets the next second's figures when it has taken these.
  let pushing: Promise<void> | undefined;
  const pushes = remote ? setInterval(() => (pushing ??= remote.push().finally(() => (pushing = undefined))), 1_000) : undefined;
  const stop = async (final: boolean) => {
    if (stopped) return;
    stopped = true;
    clearInterval(peeks);
    clearInterval(pushes);
    sink?.close();
    // The last push reads the run's closed files to their end: Prometheus then holds what samples.csv holds.
    await pushing;
    if (remote && final) await remote.push(true);
    remote?.close();
    process.exit(0);
  };
  process.on('message', (m: { type: 'stop' }) => m.type === 'stop' && void stop(true));
  process.on('disconnect', () => void stop(false));
}

main();
