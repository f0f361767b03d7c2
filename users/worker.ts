// A worker process: builds the schedule and the target, sends its share of the arrivals on the parent's clock,
// and streams samples and per-second health back over IPC.
import { guardConnections, NetPolicy } from '../protocol/address-guard.js';
import { loadRows } from '../modules/data.js';
import { buildPlatform } from '../modules/journey.js';
import { buildSchedule } from '../plan/schedule.js';
import { shareSize } from '../plan/shard.js';
import { Series } from '../run-folder/series.js';
import { Engine, prepareForLoad, sourcePorts } from './engine.js';
import { catchJourneyErrors, HealthMonitor } from './health.js';
import { Recorder } from './recorder.js';
import { CsvBytes } from '../run-folder/csv-bytes.js';
import type { Share } from '../plan/shard.js';
import { adoptClockAnchor, epochNow } from '../lib/clock.js';
import { type FromWorker, type ToWorker, type WorkerInit } from './workers.js';

const send = (m: FromWorker, cb?: () => void) => process.send!(m, undefined, undefined, cb);

/** Step-seconds of the series a worker hands back in one message, at most: a message is one string, and a long run's series would pass V8's limit. */
const STEP_SECONDS_A_MESSAGE = 4096;

/** Whether row n is one of this worker's participants' (participant n has row n): it keeps those only. */
function rowsOfShare(participantIds: Uint32Array, share: Share): (n: number) => boolean {
  const mine = new Uint8Array(participantIds.length);
  for (let i = share.index; i < participantIds.length; i += share.count) mine[participantIds[i]!] = 1;
  return (n) => mine[n] === 1;
}

async function serve(init: WorkerInit): Promise<void> {
  const target = await buildPlatform(init.target);
  const schedule = buildSchedule(init.scenario, init.seed);
  const data = init.scenario.data;
  const rows = data ? await loadRows(data, schedule.offsetsMs.length, data.reuse ? undefined : rowsOfShare(schedule.participantIds, init.share)) : undefined;
  const net = new NetPolicy(init.allowedHosts, init.maxAnswerBytes);
  // The journey's own connections too (fetch, node:net, a package's HTTP client) go by the run's allow-list.
  guardConnections(net);
  const monitor = new HealthMonitor(init.lateThresholdMs);
  // One participant's code throwing outside its steps must not end this process's share of the run.
  catchJourneyErrors(monitor);
  // Samples' lines as bytes until they are sent, at most every 200 ms or 128 KB.
  const lines = new CsvBytes();
  const flush = () => {
    if (lines.length > 0) send({ type: 'samples', lines: lines.takeText() });
  };
  const recorder = new Recorder(new Series(target.decls, init.scenario.joinWithinMs), {
    sample: (s) => {
      lines.sample(s);
      if (lines.length >= 128 * 1024) flush();
    },
  });
  let t0Epoch = 0;
  const clock = () => epochNow() - t0Epoch;
  const source = sourcePorts(init.localAddresses, init.share);
  const engine = new Engine({
    scenario: init.scenario, seed: init.seed, target, schedule, share: init.share, origin: init.origin, clock,
    maxActive: init.maxActive, lateThresholdMs: init.lateThresholdMs, monitor, emit: recorder.add, source,
    rows, reuseRows: data?.reuse, net, smallHeapInPauses: true,
  });
  const stop = new AbortController();
  const flusher = setInterval(flush, 200);
  let ticker: NodeJS.Timeout | undefined;
  const second = (t: number) => {
    send({ type: 'second', index: init.index, t, health: monitor.take(t, engine.active), layers: recorder.live.takeEncoded(), stats: { ...engine.stats } });
  };

  process.on('message', (m: ToWorker) => {
    if (m.type === 'go') {
      adoptClockAnchor(m.clockAnchor);
      t0Epoch = m.t0Epoch;
      monitor.startClock(clock);
      // Seconds close on the parent's second boundaries: second t closes at (t + 1) s.
      let nextT = 0;
      const arm = () => {
        ticker = setTimeout(() => {
          second(nextT++);
          arm();
        }, Math.max(1, (nextT + 1) * 1000 - clock()));
      };
      arm();
      engine.run(stop.signal).catch((e: unknown) => send({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
    } else if (m.type === 'stop') {
      clearTimeout(ticker);
      stop.abort(new Error(m.reason));
      void (async () => {
        second(m.t);
        engine.stopAll(stop.signal.reason);
        await engine.settle(3_000);
        clearInterval(flusher);
        flush();
        monitor.stop();
        for (const seconds of recorder.series.jsonSecondParts(STEP_SECONDS_A_MESSAGE)) send({ type: 'seconds', seconds });
        send({ type: 'done', series: { ...recorder.series.jsonHead(), seconds: {} }, stats: { ...engine.stats } }, () => process.exit(0));
      })();
    }
  });
  await prepareForLoad({ origin: init.origin, target, scenario: init.scenario, arrivals: shareSize(schedule.offsetsMs.length, init.share), net, source });
  send({ type: 'ready' });
}

process.once('message', (m: ToWorker) => {
  if (m.type !== 'init') return;
  serve(m).catch((e: unknown) => send({ type: 'error', message: e instanceof Error ? e.message : String(e) }, () => process.exit(1)));
});
// Ctrl-C reaches the whole process group: the parent stops the run, and this worker with it.
process.on('SIGINT', () => undefined);
// The parent going away ends the worker: no orphan keeps sending load.
process.on('disconnect', () => process.exit(0));
