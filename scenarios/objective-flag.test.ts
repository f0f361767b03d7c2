import { describe, expect, it } from 'vitest';
import { DEFAULT_OBJECTIVES } from './model.js';
import { applyObjectiveFlags } from './objective-flag.js';

describe('objectives from the command line', () => {
  it('sets p95 in ms or s and error rates as percentages or fractions', () => {
    const { objectives, problems } = applyObjectiveFlags(DEFAULT_OBJECTIVES, ['broker.p95=1.5s', 'media.p95=800ms', 'admission.errors=0.5%', 'broker.errors=0.02']);
    expect(problems).toEqual([]);
    expect(objectives.broker).toEqual({ p95Ms: 1500, maxErrorRate: 0.02 });
    expect(objectives.media.p95Ms).toBe(800);
    expect(objectives.admission.maxErrorRate).toBe(0.005);
    expect(DEFAULT_OBJECTIVES.broker.p95Ms).toBe(2000);
  });

  it('names every bad flag with a hint', () => {
    const { problems } = applyObjectiveFlags(DEFAULT_OBJECTIVES, ['brokr.p95=1s', 'broker.p99=1s', 'broker.errors=150%', 'nonsense']);
    expect(problems.map((p) => `${p.where}: ${p.message}`)).toEqual([
      "--objective brokr.p95=1s: 'brokr' is not a layer",
      "--objective broker.p99=1s: 'p99' is not an objective",
      "--objective broker.errors=150%: '150%' is not a share from 0 to 1",
      '--objective nonsense: is not of the form LAYER.METRIC=VALUE',
    ]);
  });
});
