import { describe, expect, it } from 'vitest';
import { DEFAULT_OBJECTIVES } from './model.js';
import { applyObjectiveFlags, parseFaultFlag, parseFaultFlags } from './flags.js';

describe('--fault', () => {
  it('reads every kind the proxy and the platforms apply', () => {
    expect(parseFaultFlag('errors 502 at 10s for 20s on /api/join')).toEqual({ kind: 'errors', status: 502, ratio: 1, atMs: 10_000, forMs: 20_000, pathPrefix: '/api/join' });
    expect(parseFaultFlag('errors 503 25% at -30s for 1m')).toEqual({ kind: 'errors', status: 503, ratio: 0.25, atMs: -30_000, forMs: 60_000 });
    expect(parseFaultFlag('reset 50% at 0s for 5s')).toEqual({ kind: 'reset', ratio: 0.5, atMs: 0, forMs: 5_000 });
    expect(parseFaultFlag('reset at 0s for 5s')).toEqual({ kind: 'reset', ratio: 1, atMs: 0, forMs: 5_000 });
    expect(parseFaultFlag('latency 300ms at 1.5s for 500ms')).toEqual({ kind: 'latency', addMs: 300, atMs: 1_500, forMs: 500 });
    expect(parseFaultFlag('bandwidth 64kB/s at 0s for 30s on /media/')).toEqual({ kind: 'bandwidth', bytesPerSec: 64_000, atMs: 0, forMs: 30_000, pathPrefix: '/media/' });
    expect(parseFaultFlag('blackhole at 2s for 3s')).toEqual({ kind: 'blackhole', atMs: 2_000, forMs: 3_000 });
    expect(parseFaultFlag('farm-down 1 at 10s for 12s')).toEqual({ kind: 'farm-down', farm: 1, atMs: 10_000, forMs: 12_000 });
    expect(parseFaultFlag('broker-defect 100 at -30s for 130s')).toEqual({ kind: 'broker-defect', threshold: 100, atMs: -30_000, forMs: 130_000 });
  });

  it('names what is wrong and how to write it', () => {
    const msg = (t: string) => {
      const r = parseFaultFlag(t);
      if ('kind' in r) throw new Error(`parsed: ${JSON.stringify(r)}`);
      return `${r.where}: ${r.message} (${r.hint})`;
    };
    expect(msg('outage at 1s for 2s')).toBe("--fault 'outage at 1s for 2s': 'outage' is not a fault kind (start with one of latency, errors, reset, blackhole, bandwidth, farm-down, broker-defect, slow-login)");
    expect(msg('errors at 1s for 2s')).toContain('has no status');
    expect(msg('errors 502 for 2s')).toContain('has no start');
    expect(msg('errors 502 at soon for 2s')).toContain("'soon' is not a time");
    expect(msg('errors 502 at 1s for 0s')).toContain("'0s' is not a length");
    expect(msg('errors 502 at 1s for 2s on api')).toContain("'api' is not a path");
    expect(msg('errors 502 at 1s at 2s for 2s')).toContain("'at' is given twice");
    expect(msg('reset 150% at 1s for 2s')).toContain('1.5 is outside (0, 1]');
    expect(msg('latency fast at 1s for 2s')).toContain("'fast' is not the time to add");
    expect(msg('bandwidth 64kbit at 1s for 2s')).toContain("'64kbit' is not a rate");
    expect(msg('blackhole 5 at 1s for 2s')).toContain('blackhole takes no value');
    expect(msg('farm-down x at 1s for 2s')).toContain('is not a farm index');
  });

  it('gathers every bad one, not just the first', () => {
    const r = parseFaultFlags(['errors 502 at 1s for 2s', 'nope', 'reset at x for 1s']);
    expect(r.faults).toHaveLength(1);
    expect(r.problems.map((p) => p.where)).toEqual(["--fault 'nope'", "--fault 'reset at x for 1s'"]);
  });
});

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
