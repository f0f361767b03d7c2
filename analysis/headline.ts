// The verdict in words: what went wrong first, then each layer's break, limit and recovery, as an operator reads them.
import type { RunInfo } from '../run-folder/run-folder.js';
import { clockAt } from './layer.js';
import { MIN_ATTEMPTS_PER_SECOND, SUSTAIN_SECONDS, type K6Threshold, type Analysis, type BellResult, type GeneratorVerdict, type LayerResult, type Symptom, type TargetDown, type Users } from './model.js';

const n = (x: number) => x.toLocaleString('en-US');
const pct = (s: Symptom) => `${Math.round(s.share * 100)} %`;

/** " — janus's open files had reached 19,998 of its limit of 20,000": the watched signals a finding cites, if any. */
export const citedText = (signals: readonly string[] | undefined) => (signals?.length ? ` — ${signals.join(', and ')}` : '');

/** "went down at 08:00:05 (connection reset, then connection refused) with 4,100 participants holding; answered again at …" */
export function downText(d: TargetDown, run: RunInfo): string {
  const at = (sec: number) => clockAt(run.scenario, run.firstBellAtMs, sec);
  const held = d.heldBefore ? ` with ${n(d.heldBefore)} participants holding` : '';
  const back = d.backSecond === null ? 'it did not come back before the run ended' : `it answered again at ${at(d.backSecond)}, ${d.backSecond - d.second} s later`;
  return `The target went down at ${at(d.second)}${held}: ${d.how.join(', then ')}${citedText(d.signals)}; ${back}.`;
}

/** How a break not yet over is told: at the run's end, or while it goes (the live page). */
export const notRecoveredText = (live: unknown) => (live ? 'not recovered yet' : 'not recovered by the end of the run');

const share = (x: number) => `${Math.round(x * 1000) / 10} %`;

/** "refuses new connections beyond 500 held: the count stood still for 4 s while connects failed" */
function limitText(l: LayerResult): string {
  const c = l.connectionLimit!;
  return `refuses new connections beyond ${n(c.held)} held${citedText(c.signals)}: the count stood still for ${c.forSec} s while the target turned new ones away`;
}

/** "126 of its attempts had no answer when the run ended, after waiting longer than the objective's p95 of 1,000 ms" */
function unansweredText(count: number, l: Pick<LayerResult, 'objective'>): string {
  return `${n(count)} of its attempts had no answer when the run ended, after waiting longer than the objective's p95 of ${n(l.objective.p95Ms)} ms`;
}

/** A layer missed by failures over the run (or by attempts left unanswered), not by a connection limit alone. */
function missedText(l: LayerResult): string {
  const o = l.objective;
  if (l.failedShare <= o.maxErrorRate && l.unanswered) return `${unansweredText(l.unanswered, l)}: more than the 5 % a p95 leaves`;
  return `${share(l.failedShare)} of its attempts failed over the run (objective at most ${share(o.maxErrorRate)})`;
}

/**
 * A layer's state in a few words, the same on the terminal line and on the report's card: broke (when, at what load,
 * recovered or not), missed, down with the target, unclear, not judged, or met.
 */
export function layerStateWords(l: LayerResult, a: Pick<Analysis, 'run' | 'targetDown' | 'live'>): string {
  const o = l.objective;
  switch (l.state) {
    case 'broke': {
      const b = l.breakPoint!;
      return `broke at ${b.clock}, ${n(b.offeredPerSec)} ${l.unit} offered, ${n(b.concurrency)} connected${citedText(b.signals)}${b.generatorBehind ? ' (the generator behind then: its late sends came bunched)' : ''}; ${b.recovered ? `recovered after ${b.brokenForSec} s` : notRecoveredText(a.live)}`;
    }
    case 'missed':
      return l.connectionLimit && l.failedShare <= o.maxErrorRate
        ? `missed its objective: ${limitText(l)}`
        : `missed its objective: ${missedText(l)}, in seconds too far apart to make a break${boundFailures(l, 'short')}`;
    case 'down':
      return `stopped with the target, which went down at ${clockAt(a.run.scenario, a.run.firstBellAtMs, a.targetDown!.second)}`;
    case 'unclear':
      return `not shown either way: ${n(l.timeoutsWhileGeneratorBound)} of its attempts timed out in seconds in which the generator was the bottleneck`;
    case 'not-judged':
      return 'not judged (too few attempts per second)';
    case 'met':
      return `met (peak ${n(l.peakOfferedPerSec)} ${l.unit})`;
  }
}

/** " (12 of them while the generator was behind …)": the target's answers to load the generator may have bunched. */
function boundFailures(l: LayerResult, form: 'short' | 'long'): string {
  const k = l.failedWhileGeneratorBound;
  if (!k) return '';
  const all = k >= l.failed ? (k === 1 ? 'it came' : 'all of them came') : `${n(k)} of them came`;
  return form === 'short'
    ? ` (${all} while the generator was behind, its late sends bunched)`
    : ` ${all[0]!.toUpperCase()}${all.slice(1)} in seconds in which the generator was behind, when its late sends reached the target bunched together: a burst the plan did not have.`;
}

function layerText(l: LayerResult, live: Analysis['live']): string {
  const limit = l.connectionLimit ? ` It ${limitText(l)}.` : '';
  if (l.state === 'missed') {
    return l.connectionLimit && l.failedShare <= l.objective.maxErrorRate
      ? `The ${l.layer} layer ${limitText(l)}.`
      : `The ${l.layer} layer missed its objective: ${missedText(l)}, though never for ${SUSTAIN_SECONDS} judged seconds in a row.${boundFailures(l, 'long')}${limit}`;
  }
  if (l.state === 'unclear') {
    return `The ${l.layer} layer is not shown either way: ${n(l.timeoutsWhileGeneratorBound)} of its attempts timed out in seconds in which the generator was the bottleneck, which could not be told apart from the generator stalling.`;
  }
  const b = l.breakPoint!;
  const conc = b.concurrency ? ` with ${n(b.concurrency)} participants connected` : '';
  const top = b.symptomsAtBreak[0];
  const over = b.symptoms[0];
  let saw = '';
  if (top) saw = `; at the break users saw ${top.label} (${pct(top)})`;
  if (over && (over.kind !== top?.kind || b.brokenForSec > 1)) saw += `${top ? ',' : '; users saw'} over the ${b.brokenForSec} s broken ${over.label} (${pct(over)})`;
  if (b.unanswered) saw += `; ${unansweredText(b.unanswered, l)}`;
  const rec = b.recovered ? `recovered after ${b.brokenForSec} s` : notRecoveredText(live);
  const behind = b.generatorBehind ? ' The generator was behind in that second: its late sends reached the target together, a burst the plan did not have, so the break may be its making as much as the target\'s.' : '';
  return `The ${l.layer} layer broke at ${b.clock} at ${n(b.offeredPerSec)} ${l.unit} offered${conc}${citedText(b.signals)}${saw}; ${rec}.${behind}${limit}`;
}

/** Run seconds as clock ranges: "08:00:12–08:00:20, 08:00:31" (the first three ranges, then how many more). */
export function secondsText(seconds: readonly number[], run: RunInfo): string {
  const at = (sec: number) => clockAt(run.scenario, run.firstBellAtMs, sec);
  const ranges: [number, number][] = [];
  for (const sec of [...seconds].sort((x, y) => x - y)) {
    const r = ranges[ranges.length - 1];
    if (r && sec === r[1] + 1) r[1] = sec;
    else ranges.push([sec, sec]);
  }
  const shown = ranges.slice(0, 3).map(([a, b]) => (a === b ? at(a) : `${at(a)}–${at(b)}`));
  return ranges.length > 3 ? `${shown.join(', ')} and ${ranges.length - 3} more` : shown.join(', ');
}

/** "The target may have stopped answering at 08:00:13 …, but the generator was the bottleneck then …" */
export function silenceText(s: NonNullable<Analysis['silence']>, run: RunInfo): string {
  const at = (sec: number) => clockAt(run.scenario, run.firstBellAtMs, sec);
  const [from, to] = s.generatorSeconds;
  return `Nothing came back from the target from ${at(s.second)} (${s.how.join(', then ')}), but the generator was the bottleneck at ${at(from)}${to > from ? `–${at(to)}` : ''}: that could not be told apart from the generator stalling, so it is not reported as the target going down.`;
}

function nobodyText(u: Users, a: Pick<Analysis, 'steps'>): string {
  const kinds = a.steps.flatMap((s) => s.failures).sort((x, y) => y.count - x.count);
  const top = kinds[0];
  return `No participant got through: ${n(u.arrived)} arrived and none joined${top ? `; attempts ended in ${top.label} (${top.count} ×)` : ''}.`;
}

/** "Bells: 08:00 broke the broker (08:00:41); 08:45 met." */
function bellsText(bells: BellResult[]): string {
  const each = bells.map((b) =>
    b.verdict === 'broke' ? `${b.clock} broke the ${b.broken.map((x) => `${x.layer} (${x.clock})`).join(' and the ')}` : `${b.clock} ${b.verdict === 'met' ? 'met the objectives' : 'was not judged'}`,
  );
  return `Bells: ${each.join('; ')}.`;
}

/** How the report names what the journey's code threw outside its steps. */
export const OUTSIDE_STEPS = 'outside any step';

/** "The journey's own code threw 3 times outside any step (…)": errors no step caught, from a timer or a promise nobody awaited. */
function uncaughtText(errors: NonNullable<RunInfo['uncaught']>): string {
  const count = errors.reduce((k, e) => k + e.count, 0);
  return `The journey's own code threw ${n(count)} time${count === 1 ? '' : 's'} ${OUTSIDE_STEPS} (${errors[0]!.message}${errors.length > 1 ? `, and ${errors.length - 1} other error${errors.length > 2 ? 's' : ''}` : ''}): fix the journey and run again.`;
}

/** "p95 812 ms (limit 500 ms), errors 3.20 % (limit 1.00 %)": a k6 threshold's figures. */
export function thresholdText(t: K6Threshold): string {
  return `p95 ${Math.round(t.p95Ms)} ms (limit ${t.p95Limit} ms), errors ${(t.errorRate * 100).toFixed(2)} % (limit ${(t.errorLimit * 100).toFixed(2)} %)`;
}

/** The headline: the target's death first, then nobody through, then each break in time order, else what was met. */
export function headlineOf(a: Omit<Analysis, 'headline'>, generator: GeneratorVerdict): string {
  const { run, layers, users } = a;
  const live = a.live;
  let text = live
    ? `So far, ${live.second + 1} s of ${live.plannedEndSecond} s: `
    : run.status === 'interrupted' ? 'Interrupted run. ' : run.status === 'failed' ? 'The run failed part-way. ' : run.status === 'running' ? 'The run did not close (it was killed). ' : '';
  // A run that reached its end with a worker ended on the way says so first.
  if (run.status === 'completed' && run.stopReason) text += `${run.stopReason[0]!.toUpperCase()}${run.stopReason.slice(1)}. `;
  const sf = generator.shortfall;
  if (sf?.shards) text += `Not confirmed: ${sf.shards}, so ${n(sf.unsent)} of ${n(sf.planned)} planned arrivals were not sent and the load was not the plan. `;
  else if (sf) text += `Not confirmed: k6 left ${n(sf.unsent)} of ${n(sf.planned)} planned arrivals unsent (${Math.round(sf.share * 1000) / 10} %; ${n(sf.dropped)} dropped for want of a free VU), so the load was not the plan. `;
  if (generator.suspectSeconds.length > 0) {
    const who = run.source?.kind === 'k6' ? 'k6 started participants late (behind the plan)' : 'The generator was the bottleneck';
    text += `${who} in ${generator.suspectSeconds.length} s (${secondsText(generator.suspectSeconds, run)}); there only what the target answered counts, not its timeouts or latency. `;
  }
  if (run.uncaught?.length) text += uncaughtText(run.uncaught) + ' ';
  if (a.targetDown) text += downText(a.targetDown, run) + ' ';
  if (a.silence) text += silenceText(a.silence, run) + ' ';
  if (users.arrived > 0 && users.joined === 0) text += nobodyText(users, a) + ' ';
  const failedThresholds = (a.k6Thresholds ?? []).filter((t) => !t.passed);
  if (failedThresholds.length) text += `k6's thresholds failed over the whole run, on every runner's samples together: ${failedThresholds.map((t) => `the ${t.layer} layer's ${thresholdText(t)}`).join('; ')}. `;
  const broken = layers.filter((l) => l.state === 'broke').sort((x, y) => x.breakPoint!.second - y.breakPoint!.second);
  const other = layers.filter((l) => l.state === 'missed' || l.state === 'unclear');
  if (a.bells?.length) text += bellsText(a.bells) + ' ';
  if (broken.length || other.length) return text + [...broken, ...other].map((l) => layerText(l, live)).join(' ');
  if (live && a.verdict === 'not-judged' && layers.some((l) => l.judged)) return `${text}what ran so far met the objectives; the run goes on.`;
  if (live && a.verdict === 'not-judged') return `${text}nothing judged yet (${n(users.arrived)} participants arrived, ${n(users.joined)} joined).`;
  if (a.verdict === 'not-judged' && run.status !== 'completed' && layers.some((l) => l.judged)) {
    return `${text}Not judged: what ran until then met the objectives, but the run did not reach its planned end, so nothing is shown to hold for the rest.`;
  }
  if (a.verdict === 'not-judged' && run.uncaught?.length && layers.some((l) => l.judged)) {
    return `${text}Not judged: participants whose code threw there may not have done what the journey says.`;
  }
  if (a.verdict === 'not-judged') {
    return `${text}Nothing was judged: no second of any layer had ${MIN_ATTEMPTS_PER_SECOND} or more ended attempts of a step (${n(users.arrived)} participants arrived, ${n(users.joined)} joined). Raise the load or lengthen the run.`;
  }
  if (a.verdict === 'failed') return text.trim();
  const judged = layers.filter((l) => l.state === 'met');
  const notJudged = layers.filter((l) => l.state === 'not-judged').map((l) => l.layer);
  const first = layers[0];
  const peak = first ? ` (peak ${n(first.peakOfferedPerSec)} ${first.unit} offered to the ${first.layer} layer)` : '';
  const rest = notJudged.length ? ` The ${notJudged.join(' and ')} layer${notJudged.length > 1 ? 's were' : ' was'} not judged: too few attempts per second.` : '';
  const who = judged.length === layers.length ? 'layer' : 'judged layer';
  // Load short of the plan confirms nothing: only what was sent met the objectives.
  const every = generator.shortfall ? `What was sent met the objective of every ${who}` : generator.suspectSeconds.length ? `Where the generator kept up, every ${who} met its objective` : `Every ${who} met its objective`;
  return `${text}${every}${peak}.${rest}`;
}
