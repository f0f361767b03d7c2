// A timetable's bells judged one by one: did the 08:00 bell break the broker, did the 08:45 bell?
import type { RunInfo } from '../run-folder/run-folder.js';
import { clockAt, violationStarts, type LayerAnalysis } from './layer.js';
import type { BellResult } from './model.js';

/** Each bell from its ring to the next bell's (the last to the end of the run), on every layer's judged seconds. */
export function bellResults(run: RunInfo, layers: LayerAnalysis[], last: number): BellResult[] | undefined {
  const bells = run.scenario.bells;
  if (!bells?.length) return undefined;
  const seconds = bells.map((b) => Math.max(0, Math.floor((run.firstBellAtMs + b.atMs) / 1000)));
  const starts = layers.map((l) => ({ l, at: violationStarts(l.judgedSeconds, last) }));
  return bells.map((b, i) => {
    const from = seconds[i]!;
    const to = i + 1 < seconds.length ? seconds[i + 1]! : last + 1;
    const mine = run.scenario.phases.filter((p) => p.bell === b.clock);
    const broken = starts.flatMap(({ l, at }) => {
      const s = at.find((x) => x >= from && x < to);
      return s === undefined ? [] : [{ layer: l.layer, clock: clockAt(run.scenario, run.firstBellAtMs, s), offeredPerSec: l.view.offered(s) }];
    });
    const judged = layers.some((l) => l.judgedSeconds.slice(from, to).some((x) => x !== undefined));
    return {
      clock: b.clock, second: from, participants: mine.reduce((a, p) => a + p.participants, 0), classes: new Set(mine.flatMap((p) => (p.classes ?? []).map((c) => c.conference))).size,
      verdict: broken.length ? 'broke' : judged ? 'met' : 'not-judged',
      broken,
    };
  });
}
