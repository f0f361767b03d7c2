import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { planRunMeasured } from '../cli/plan.js';
import { load } from '../api/load.js';
import { platformOfInput } from '../modules/journey.js';
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, resolveScenario } from '../scenarios/model.js';
import { loopMsPerArrival } from './calibrate.js';

const scenario = (perSec: number) =>
  resolveScenario(
    {
      name: 'burst', description: 'new-connection arrivals', firstBell: '08:00:00', population: { schools: 1, conferences: 1, participantsPerConference: 10 },
      phases: [load.constant({ perSec, forMs: 10_000 })], observeMs: 1_000, client: { ...DEFAULT_CLIENT, thinkTimeMs: 0 }, objectives: DEFAULT_OBJECTIVES, joinWithinMs: 10_000,
    },
    1,
  );

// Nothing is sent to the target: the calibration's arrivals go to a stand-in on loopback.
const nowhere = 'http://127.0.0.1:9/';

describe('what an arrival costs an event loop', () => {
  it('times a journey against its stand-in, and says nothing of one the stand-in cannot play', async () => {
    const http = await platformOfInput({ journey: 'http', target: nowhere });
    const ms = await loopMsPerArrival(http, scenario(1_000), 2_000, 400);
    // A plain GET on a new connection: well under a millisecond of the loop, and more than nothing.
    expect(ms).toBeGreaterThan(0.005);
    expect(ms).toBeLessThan(5);
    // Moodle's login wants a token in the page the stand-in never sends: its journeys fail, their cost is not theirs.
    expect(await loopMsPerArrival(await platformOfInput({ journey: 'moodle', target: nowhere }), scenario(1_000), 2_000, 400)).toBeUndefined();
  });

  it.runIf(availableParallelism() >= 2)('sizes a run\'s processes by it when none are given, and not otherwise', async () => {
    const http = await platformOfInput({ journey: 'http', target: nowhere });
    const measured = await planRunMeasured(scenario(2_000), 1, http, {});
    expect(measured.layout.workersWhy).toMatch(/2,000 arrivals\/s at \d+ µs of an event loop each, measured here/);
    expect((await planRunMeasured(scenario(2_000), 1, http, { workers: 2 })).layout).toMatchObject({ workers: 2, workersWhy: 'as given' });
    // Below the rate that spreads the load at all, nothing to measure.
    expect((await planRunMeasured(scenario(100), 1, http, {})).layout.workersWhy).toBe('one process is enough');
  });
});
