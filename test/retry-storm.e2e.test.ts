import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { writeReport } from '../reports/build-report.js';
import { captureIo, tempDir } from './helpers.js';

describe('the 2021 broker defect and how clients retry', () => {
  it('collapses goodput under the burst; backoff clients recover sooner than reload-every-30-s clients; the report states both amplification factors', { timeout: 600_000 }, async () => {
    const out = tempDir();
    const c = captureIo();
    expect(await main(['whatif', 'monday-0800-retry-storm', 'monday-0800-backoff', '--scale', '0.015', '--out', out, '--no-progress'], c.io), c.err()).toBe(EXIT.ok);
    const dirs = readdirSync(out);
    const storm = await writeReport(join(out, dirs.find((d) => d.endsWith('retry-storm'))!));
    const backoff = await writeReport(join(out, dirs.find((d) => d.endsWith('backoff'))!));

    for (const { analysis: a } of [storm, backoff]) {
      const broker = a.layers.find((l) => l.layer === 'broker')!;
      expect(broker.breakPoint, a.headline).toBeDefined();
      // Goodput collapses: in at least two seconds of the burst the broker serves under a quarter of what is offered.
      const bell = a.timeline.firstBellSecond;
      const { goodput, offered } = a.timeline.layers.broker;
      const collapsed = offered.slice(bell + 1, bell + 10).filter((o, i) => o > 100 && goodput[bell + 1 + i]! < 0.25 * o);
      expect(collapsed.length, `goodput ${goodput.slice(bell, bell + 10).join(',')} of ${offered.slice(bell, bell + 10).join(',')}`).toBeGreaterThanOrEqual(2);
      expect(broker.knee).toBeDefined();
    }

    // Recovery: measured from the end of the burst's arrival window until the broker met its objective again.
    const recovery = (a: typeof storm.analysis) => {
      const b = a.layers.find((l) => l.layer === 'broker')!.breakPoint!;
      return b.recovered ? b.recoveryAfterBurstSec : Number.POSITIVE_INFINITY;
    };
    expect(recovery(backoff.analysis), `${backoff.analysis.headline} vs ${storm.analysis.headline}`).toBeLessThan(recovery(storm.analysis));

    // Both amplification factors are stated, and retries do amplify.
    for (const r of [storm, backoff]) {
      expect(r.analysis.users.attemptsPerUser).toBeGreaterThan(1);
      expect(readFileSync(r.reportPath, 'utf8')).toContain(`Journeys per participant: <b>${r.analysis.users.attemptsPerUser}</b> (retry amplification)`);
    }
  });
});
