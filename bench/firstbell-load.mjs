// Runs firstbell's engine on one benchmark scenario given as JSON in argv[2]; prints the run folder.
// The same code path as `firstbell run`, without the report build that follows it.
import { availableParallelism } from 'node:os';
import { BUILT_IN_JOURNEYS } from '../dist/index.js';
import { buildPlan } from '../dist/plan/plan.js';
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, resolveScenario } from '../dist/scenarios/model.js';
import { platformOfInput } from '../dist/modules/journey.js';
import { runOn } from '../dist/run/conductor.js';
import { layoutLoad } from '../dist/plan/limits.js';
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
const plan = buildPlan(scenario, 1, (summary) => {
  const layout = layoutLoad({
    participants: summary.participants, peakArrivalsPerSec: summary.peakArrivalsPerSec, targetHost: new URL(spec.platform.target).hostname, cores: availableParallelism(),
    workers: spec.workers, localAddresses: spec.localAddresses, holds: BUILT_IN_JOURNEYS[spec.platform.journey].holds !== false,
  });
  return spec.systemAddress ? { ...layout, localAddresses: [] } : layout;
});
// With `live`, the live page's process as `--live` starts it: the benchmark opens a page on it.
const live = spec.live ? await LivePage.start('127.0.0.1', 0) : undefined;
if (live) {
  process.stderr.write(`live page: ${live.url}\n`);
  // The page is open before the clock starts.
  await new Promise((r) => setTimeout(r, spec.liveWaitMs ?? 3_000));
}
const r = await runOn(await platformOfInput(spec.platform), { plan, outDir: spec.out, runId: spec.name, lateThresholdMs: spec.lateThresholdMs ?? 100, onFolder: (d) => live?.follow(d) });
const liveCost = live ? await live.cost() : undefined;
await live?.stop();
process.stdout.write(JSON.stringify({ dir: r.dir, workers: plan.layout.workers, localAddresses: plan.layout.localAddresses.length, ...(liveCost ? { live: liveCost } : {}) }) + '\n');
