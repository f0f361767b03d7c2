// The verdict in words: what went wrong first, then each layer's break, limit and recovery, as an operator reads them.
import type { RunInfo } from '../run-folder/run-folder.js';
import { clockAt } from './layer.js';
import { MIN_ATTEMPTS_PER_SECOND, type Analysis, type BellResult, type GeneratorVerdict, type LayerResult, type Symptom, type TargetDown, type Users } from './model.js';

const n = (x: number) => x.toLocaleString('en-US');
const pct = (s: Symptom) => `${Math.round(s.share * 100)} %`;

/** "went down at 08:00:05 (connection reset, then connection refused) with 4,100 participants holding; answered again at …" */
export function downText(d: TargetDown, run: RunInfo): string {
  const at = (sec: number) => clockAt(run.scenario, run.firstBellAtMs, sec);
  const held = d.heldBefore ? ` with ${n(d.heldBefore)} participants holding` : '';
  const back = d.backSecond === null ? 'it did not come back before the run ended' : `it answered again at ${at(d.backSecond)}, ${d.backSecond - d.second} s later`;
  return `The target went down at ${at(d.second)}${held}: ${d.how.join(', then ')}; ${back}.`;
}

function layerText(l: LayerResult): string {
  const b = l.breakPoint!;
  const conc = b.concurrency ? ` with ${n(b.concurrency)} participants connected` : '';
  const top = b.symptomsAtBreak[0];
  const over = b.symptoms[0];
  let saw = '';
  if (top) saw = `; at the break users saw ${top.label} (${pct(top)})`;
  if (over && (over.kind !== top?.kind || b.brokenForSec > 1)) saw += `${top ? ',' : '; users saw'} over the ${b.brokenForSec} s broken ${over.label} (${pct(over)})`;
  const rec = b.recovered ? `recovered after ${b.brokenForSec} s` : 'not recovered by the end of the run';
  const limit = l.connectionLimit ? ` It refuses new connections beyond ${n(l.connectionLimit.held)} held: the count stood still for ${l.connectionLimit.forSec} s while connects failed.` : '';
  return `The ${l.layer} layer broke at ${b.clock} at ${n(b.offeredPerSec)} ${l.unit} offered${conc}${saw}; ${rec}.${limit}`;
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

/** The headline: the target's death first, then nobody through, then each break in time order, else what was met. */
export function headlineOf(a: Omit<Analysis, 'headline'>, generator: GeneratorVerdict): string {
  const { run, layers, users } = a;
  let text = run.status === 'interrupted' ? 'Interrupted run. ' : run.status === 'failed' ? 'The run failed part-way. ' : run.status === 'running' ? 'The run did not close (it was killed). ' : '';
  const sf = generator.shortfall;
  if (sf?.shards) text += `Not confirmed: ${sf.shards}, so ${n(sf.unsent)} of ${n(sf.planned)} planned arrivals were not sent and the load was not the plan. `;
  else if (sf) text += `Not confirmed: k6 left ${n(sf.unsent)} of ${n(sf.planned)} planned arrivals unsent (${Math.round(sf.share * 1000) / 10} %; ${n(sf.dropped)} dropped for want of a free VU), so the load was not the plan. `;
  if (generator.suspectSeconds.length > 0) text += `The generator was the bottleneck in ${generator.suspectSeconds.length} s; those seconds are left out of the verdict. `;
  if (a.targetDown) text += downText(a.targetDown, run) + ' ';
  if (users.arrived > 0 && users.joined === 0) text += nobodyText(users, a) + ' ';
  const broken = layers.filter((l) => l.breakPoint).sort((x, y) => x.breakPoint!.second - y.breakPoint!.second);
  if (a.bells?.length) text += bellsText(a.bells) + ' ';
  if (broken.length) return text + broken.map(layerText).join(' ');
  if (a.verdict === 'not-judged' && run.status !== 'completed' && layers.some((l) => l.judged)) {
    return `${text}Not judged: what ran until then met the objectives, but the run did not reach its planned end, so nothing is shown to hold for the rest.`;
  }
  if (a.verdict === 'not-judged') {
    return `${text}Nothing was judged: no second of any layer had ${MIN_ATTEMPTS_PER_SECOND} or more ended attempts of a step (${n(users.arrived)} participants arrived, ${n(users.joined)} joined). Raise the load or lengthen the run.`;
  }
  if (a.verdict === 'failed') return text.trim();
  const judged = layers.filter((l) => l.judged);
  const notJudged = layers.filter((l) => !l.judged).map((l) => l.layer);
  const first = layers[0];
  const peak = first ? ` (peak ${n(first.peakOfferedPerSec)} ${first.unit} offered to the ${first.layer} layer)` : '';
  const rest = notJudged.length ? ` The ${notJudged.join(' and ')} layer${notJudged.length > 1 ? 's were' : ' was'} not judged: too few attempts per second.` : '';
  const who = judged.length === layers.length ? 'layer' : 'judged layer';
  // Load short of the plan confirms nothing: only what was sent met the objectives.
  const every = generator.shortfall ? `What was sent met the objective of every ${who}` : generator.suspectSeconds.length ? `In the seconds that count, every ${who} met its objective` : `Every ${who} met its objective`;
  return `${text}${every}${peak}.${rest}`;
}
