// Runs firstbell's engine on one benchmark scenario given as JSON in argv[2]; prints the run folder.
// The same code path as `firstbell run`, without the report build that follows it.
import { availableParallelism } from 'node:os';
import { buildPlan } from '../dist/plan/plan.js';
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, resolveScenario } from '../dist/scenarios/model.js';
import { platformOfInput } from '../dist/modules/journey.js';
import { runOn } from '../dist/run/conductor.js';
import { layoutLoad } from '../dist/plan/limits.js';
import { planRunMeasured } from '../dist/cli/plan.js';
import { LivePage } from '../dist/reports/live-child.js';

const spec = JSON.parse(process.argv[2]);
const scenario = resolveScenario(
  {
    name: spec.name,
    description: 'benchmark',
    firstBell: '08:00:00',
    population: { schools: 1, conferences: 1, participantsPerConference: 10 },
    phases: spec.phases,
    observeMs: spec.observeMs ?? 2_000,
    client: { ...DEFAULT_CLIENT, thinkTimeMs: spec.thinkTimeMs ?? 0, ...(spec.heartbeatMs ? { heartbeatMs: spec.heartbeatMs } : {}) },
    objectives: DEFAULT_OBJECTIVES,
    joinWithinMs: 10_000,
  },
  1,
);
// As `firstbell run` plans it: its processes sized by what an arrival costs here where that can be measured.
const target = await platformOfInput(spec.platform);
const planned = spec.localAddresses
  ? buildPlan(scenario, 1, (summary) => layoutLoad({
    participants: summary.participants, peakArrivalsPerSec: summary.peakArrivalsPerSec, targetHost: target.url.hostname, cores: availableParallelism(),
    workers: spec.workers, localAddresses: spec.localAddresses, holds: target.holds !== false,
  }))
  : await planRunMeasured(scenario, 1, target, { workers: spec.workers });
const plan = spec.systemAddress ? { ...planned, layout: { ...planned.layout, localAddresses: [] } } : planned;
// With `live`, the live page's process as `--live` starts it: the benchmark opens a page on it.
const live = spec.live ? await LivePage.start('127.0.0.1', 0) : undefined;
if (live) {
  process.stderr.write(`live page: ${live.url}\n`);
  // The page is open before the clock starts.
  await new Promise((r) => setTimeout(r, spec.liveWaitMs ?? 3_000));
}
const r = await runOn(target, { plan, outDir: spec.out, runId: spec.name, lateThresholdMs: spec.lateThresholdMs ?? 100, onFolder: (d) => live?.follow(d) });
const liveCost = live ? await live.cost() : undefined;
await live?.stop();
process.stdout.write(JSON.stringify({ dir: r.dir, workers: plan.layout.workers, workersWhy: plan.layout.workersWhy, localAddresses: plan.layout.localAddresses.length, ...(liveCost ? { live: liveCost } : {}) }) + '\n');
