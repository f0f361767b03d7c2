import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeReport } from '../reports/build-report.js';
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, resolveScenario } from '../scenarios/model.js';
import { MergeError, mergeShards } from './merge.js';
import { BROWSER_HEALTH_HEADER } from './records.js';
import { FILES, HEALTH_HEADER, readRunInfo, SAMPLE_HEADER, type RunInfo } from './run-folder.js';

const scenario = resolveScenario({
  name: 'two-shards', description: 'four participants', firstBell: '08:00:00', population: { schools: 1, conferences: 1, participantsPerConference: 4 },
  phases: [{ name: 'p', startMs: 0, durationMs: 2000, participants: 4, curve: { kind: 'uniform' } }], observeMs: 1000, client: DEFAULT_CLIENT, objectives: DEFAULT_OBJECTIVES, joinWithinMs: 10_000,
}, 1);

/** A shard's run folder as `run --shard` leaves it: run.json, samples, health and the browser's health. */
function shard(root: string, index: number, o: { status?: RunInfo['status']; startAt?: string; browsers?: string[]; count?: number; cut?: boolean; watch?: string[] } = {}): string {
  const dir = join(root, `20261202-080000-two-shards-shard-${index}-of-2`);
  mkdirSync(dir, { recursive: true });
  const info: RunInfo = {
    tool: { name: 'firstbell', version: '0', node: 'v20' }, id: dir.split('/').pop()!, status: o.status ?? 'completed', startedAt: '2026-12-02T07:59:50.000Z',
    host: { hostname: `host-${index}`, cpus: 2, platform: 'linux-x64' }, scenario, seed: 1, target: { kind: 'journey', url: 'http://127.0.0.1:8080' },
    firstBellAtMs: 0, plannedEndMs: 3000, steps: [{ layer: 'admission', step: 'login', goal: 'journey' }],
    plan: { participants: 4, peakArrivalsPerSec: 2, phases: [] }, shard: { index, count: o.count ?? 2, startAt: o.startAt ?? '2026-12-02T08:00:00.000Z', startSkewMs: index / 10 },
    ...(o.watch ? { watch: [{ name: 'janus', kind: 'process', source: 'process:janus', columns: ['janus.fds', 'janus.fd_limit'] }] } : {}),
    ...(o.status === 'running' ? {} : { generator: { arrivalsPlanned: 2, arrivalsSent: 2, late: 0, dropped: 0, lateThresholdMs: 100, maxActive: 10, workers: 1 } }),
  };
  writeFileSync(join(dir, FILES.run), JSON.stringify(info));
  // A samples file cut short keeps the first participant's line only.
  const users = o.cut ? [index - 1] : [index - 1, index + 1];
  writeFileSync(join(dir, FILES.samples), [SAMPLE_HEADER, ...users.map((u) => `${u * 500},${u * 500},${u * 500 + 20},${u},admission,login,ok,200`)].join('\n') + '\n');
  writeFileSync(join(dir, FILES.health), [HEALTH_HEADER, `0,1,2,${10 * index},3,4,1,0,0,1,50`, `1,1,2,5,3,4,1,0,0,2,50`].join('\n') + '\n');
  if (o.browsers) writeFileSync(join(dir, FILES.browserHealth), [BROWSER_HEALTH_HEADER, ...o.browsers].join('\n') + '\n');
  if (o.watch) writeFileSync(join(dir, FILES.watch), ['second,janus.fds,janus.fd_limit', ...o.watch].join('\n') + '\n');
  return dir;
}

describe('merging shard run folders', () => {
  it('adds up counts, keeps the busiest CPU, merges the browsers on each machine, and records each shard', async () => {
    const root = mkdtempSync(join(tmpdir(), 'firstbell-merge-'));
    const dirs = [shard(root, 1, { browsers: ['0,5,40,300,60'] }), shard(root, 2, { browsers: ['0,4,30,200,70'] })];
    const r = await mergeShards(dirs, root);
    const info = readRunInfo(r.dir);
    expect(info.status).toBe('completed');
    expect(info.generator).toMatchObject({ arrivalsPlanned: 4, arrivalsSent: 4 });
    expect(info.shards?.members.map((m) => [m.index, m.startSkewMs, m.worstCpuPct])).toEqual([[1, 0.1, 10], [2, 0.2, 20]]);
    expect(info.zeroEpochMs).toBe(Date.parse('2026-12-02T08:00:00.000Z'));
    expect(readFileSync(join(r.dir, FILES.health), 'utf8').split('\n')[1]).toBe('0,1,2,20,3,4,2,0,0,2,100,30');
    expect(readFileSync(join(r.dir, FILES.browserHealth), 'utf8').split('\n')[1]).toBe('0,9,70,500,70');
    expect(readFileSync(join(r.dir, FILES.samples), 'utf8').trim().split('\n')).toHaveLength(5);
  });

  it("keeps what each shard watched on its machine, named after its shard, on the run's one clock", async () => {
    const root = mkdtempSync(join(tmpdir(), 'firstbell-merge-'));
    const r = await mergeShards([shard(root, 1, { watch: ['0,10,256', '1,20,256'] }), shard(root, 2, { watch: ['0,30,512', '1,'] })], root);
    expect(readRunInfo(r.dir).watch?.map((w) => [w.name, w.columns])).toEqual([['shard1_janus', ['shard1_janus.fds', 'shard1_janus.fd_limit']], ['shard2_janus', ['shard2_janus.fds', 'shard2_janus.fd_limit']]]);
    expect(readFileSync(join(r.dir, FILES.watch), 'utf8')).toBe('second,shard1_janus.fds,shard1_janus.fd_limit,shard2_janus.fds,shard2_janus.fd_limit\n0,10,256,30,512\n1,20,256,,\n');
    const { analysis } = await writeReport(r.dir);
    expect(analysis.watch?.sources.map((s) => s.name)).toEqual(['shard1_janus', 'shard2_janus']);
  });

  it('names a shard that is missing or never closed, and refuses shards of different runs', async () => {
    const root = mkdtempSync(join(tmpdir(), 'firstbell-merge-'));
    const one = shard(root, 1);
    expect((await mergeShards([one], root)).shards.missing).toEqual([{ index: 2, why: 'no run folder of it was given to the merge' }]);
    const killed = readRunInfo((await mergeShards([one, shard(root, 2, { status: 'running' })], root)).dir);
    expect(killed.status).toBe('failed');
    expect(killed.stopReason).toContain('did not close its run: its process was killed');
    const other = mkdtempSync(join(tmpdir(), 'firstbell-merge-'));
    await expect(mergeShards([one, shard(other, 2, { startAt: '2026-12-02T09:00:00.000Z' })], root)).rejects.toThrow(MergeError);
    await expect(mergeShards([one, one], root)).rejects.toThrow(/are both shard 1 of 2/);
  });

  it('refuses a shard number no run has, and does not confirm a shard whose samples file was cut short (probe 9)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'firstbell-merge-'));
    await expect(mergeShards([shard(root, 1), shard(root, 5)], root)).rejects.toThrow(/says shard 5 of 2, which no run has/);
    const other = mkdtempSync(join(tmpdir(), 'firstbell-merge-'));
    const r = await mergeShards([shard(other, 1), shard(other, 2, { cut: true })], other);
    expect(r.shards.members.map((m) => m.samplesMissing)).toEqual([undefined, 1]);
    const { analysis } = await writeReport(r.dir);
    expect(analysis.passed).toBe(false);
    expect(analysis.headline).toContain('Not confirmed: shard 2 of 2 lost the samples of 1 of the 2 participants it sent (its samples file was cut short)');
  });
});
