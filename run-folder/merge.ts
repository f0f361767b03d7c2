// Shard run folders merged into one: their samples, series, health and browser users, each shard's start skew
// and health, and the shards that are missing or did not finish named.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addProcessHealth, countsByMessage, FILES, healthLine, loadSeries, readBrowserHealth, readHealth, readRunInfo, readSamples, readWatch, RunFolderError, runSpanMs,
  type HealthSecond, type MergedShard, type MergedShards, type RunInfo, type ShardInfo, type WatchedSource,
} from './run-folder.js';
import { browserHealthLine, type BrowserSecond } from './records.js';
import { RunFolderWriter, writeFileAtomic, type LineSink } from './writer.js';
import { Series } from './series.js';
import type { StepDecl } from '../api/vu.js';
import { FirstbellError } from '../lib/errors.js';
import { maxOf } from '../lib/numbers.js';

/** Shard folders that cannot be merged (not shards, or shards of different runs): the user's to fix (exit 2). */
export class MergeError extends FirstbellError {}

interface Member {
  dir: string;
  run: RunInfo;
  shard: ShardInfo;
}

export interface MergeResult {
  dir: string;
  shards: MergedShards;
}

/** The run folders given, read and checked to be shards of one run. */
function membersOf(dirs: string[]): Member[] {
  if (!dirs.length) throw new MergeError("no shard run folders given; give the run folder of every shard, e.g. firstbell merge runs/20261202-080000-monday-0800-shard-*");
  const members: Member[] = [];
  for (const dir of dirs) {
    if (!existsSync(join(dir, FILES.run))) throw new MergeError(`${dir}: no ${FILES.run} here; give the run folder each shard wrote (it holds run.json and samples.csv)`);
    let run: RunInfo;
    try {
      run = readRunInfo(dir);
    } catch (e) {
      throw e instanceof RunFolderError ? new MergeError(e.message) : e;
    }
    if (!run.shard) throw new MergeError(`${dir}: not a shard's run folder (its run.json has no shard); merge the folders written by 'firstbell run … --shard i/N --start-at T'`);
    const { index, count } = run.shard;
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 1 || index > count) {
      throw new MergeError(`${dir}: its run.json says shard ${index} of ${count}, which no run has; the file was changed, so merge the folders as the shards wrote them`);
    }
    members.push({ dir, run, shard: run.shard });
  }
  const first = members[0]!;
  const same: [string, (m: Member) => unknown][] = [
    ['number of shards', (m) => m.shard.count],
    ['--start-at', (m) => m.shard.startAt],
    ['scenario', (m) => m.run.scenario.name],
    ['scale', (m) => m.run.scenario.scale],
    ['seed', (m) => m.run.seed],
    ['planned participants', (m) => m.run.plan.participants],
    ['planned end', (m) => m.run.plannedEndMs],
    ['target', (m) => m.run.target.url],
  ];
  const seen = new Map<number, string>();
  for (const m of members) {
    for (const [what, of] of same) {
      if (of(m) !== of(first)) {
        throw new MergeError(`${m.dir}: its ${what} (${String(of(m))}) is not ${first.dir}'s (${String(of(first))}); merge the shards of one run only: same scenario, scale, seed, target, --shard i/N and --start-at`);
      }
    }
    const twice = seen.get(m.shard.index);
    if (twice) throw new MergeError(`${m.dir} and ${twice} are both shard ${m.shard.index} of ${m.shard.count}; give each shard's folder once`);
    seen.set(m.shard.index, m.dir);
  }
  return members.sort((a, b) => a.shard.index - b.shard.index);
}

/** Why a shard's run did not finish, in words. */
function unfinished(m: Member): string | undefined {
  const { status, stopReason } = m.run;
  if (status === 'completed') return undefined;
  if (status === 'running') return `shard ${m.shard.index} of ${m.shard.count} (${m.dir}) did not close its run: its process was killed`;
  return `shard ${m.shard.index} of ${m.shard.count} (${m.dir}) ${status === 'interrupted' ? 'was interrupted' : 'failed'}${stopReason ? ` (${stopReason})` : ''}`;
}

/** Appends a shard's lines of a per-line file (media, browser journeys) to a sink, without its header. */
function appendLines(from: string, sink: LineSink, header: boolean): void {
  if (!existsSync(from)) return;
  const lines = readFileSync(from, 'utf8').split('\n');
  for (const [k, line] of lines.entries()) if (line.trim() && !(header && k === 0)) sink.write(line);
}

/**
 * Merges shard run folders into one run folder under `outDir`: every shard's samples, its series and its
 * generator health second by second (the busiest process's CPU and lags, counts added), with each shard's start
 * skew and health in run.json. Shards that are missing or did not finish are named; the merged run then has
 * status failed and its report says first that the load was not the plan.
 */
export async function mergeShards(dirs: string[], outDir: string, o: { signal?: AbortSignal } = {}): Promise<MergeResult> {
  const members = membersOf(dirs);
  const first = members[0]!;
  const count = first.shard.count;
  const has = (file: string) => members.some((m) => existsSync(join(m.dir, file)));
  const folder = new RunFolderWriter(outDir, `${first.run.id.replace(/-shard-\d+-of-\d+(-\d+)?$/, '')}-merged`, { browsers: has(FILES.media) || has(FILES.browsers), browserHealth: has(FILES.browserHealth) });
  const { dir, samples, media, journeys } = folder;
  const steps: StepDecl[] = [];
  const series = new Series(first.run.steps, first.run.scenario.joinWithinMs);
  const health = new Map<number, HealthSecond>();
  const browserHealth = new Map<number, BrowserSecond>();
  const records: MergedShard[] = [];
  try {
    for (const m of members) {
      const span = runSpanMs(m.run);
      const users = new Set<number>();
      for await (const s of readSamples(m.dir, { spanMs: span, signal: o.signal })) {
        samples.sample(s);
        users.add(s.user);
      }
      const own = await loadSeries(m.dir, m.run, { signal: o.signal });
      series.merge(own);
      for (const d of m.run.steps) {
        if (!steps.some((x) => x.layer === d.layer && x.step === d.step)) steps.push(d);
        series.declare(d);
      }
      const h = await readHealth(m.dir, span);
      for (const sec of h) {
        const have = health.get(sec.t);
        if (!have) health.set(sec.t, { ...sec });
        else {
          addProcessHealth(have, sec);
          have.active += sec.active;
          have.rssMb += sec.rssMb;
        }
      }
      // Browsers on every shard's machine: their processes, CPU and memory add up; the machine is the busiest one's.
      for (const b of await readBrowserHealth(m.dir)) {
        const have = browserHealth.get(b.t);
        if (!have) browserHealth.set(b.t, { ...b });
        else Object.assign(have, { processes: have.processes + b.processes, cpuPct: have.cpuPct + b.cpuPct, rssMb: have.rssMb + b.rssMb, machineCpuPct: Math.max(have.machineCpuPct, b.machineCpuPct) });
      }
      if (media) appendLines(join(m.dir, FILES.media), media, true);
      if (journeys) appendLines(join(m.dir, FILES.browsers), journeys, false);
      const g = m.run.generator;
      records.push({
        index: m.shard.index, dir: m.dir, status: m.run.status, ...(m.run.stopReason ? { stopReason: m.run.stopReason } : {}),
        host: m.run.host.hostname, ...(m.shard.startSkewMs !== undefined ? { startSkewMs: m.shard.startSkewMs } : {}),
        arrivalsPlanned: g?.arrivalsPlanned ?? Math.ceil((m.run.plan.participants - m.shard.index + 1) / count),
        // A killed shard wrote no totals: its participants with a sample were sent.
        arrivalsSent: g?.arrivalsSent ?? users.size,
        late: g?.late ?? h.reduce((a, x) => a + x.late, 0),
        dropped: g?.dropped ?? h.reduce((a, x) => a + x.dropped, 0),
        worstCpuPct: maxOf(h.map((x) => x.cpuPct), 0),
        worstLoopLagMs: maxOf(h.map((x) => x.loopLagP99Ms), 0),
        worstSendLagMs: maxOf(h.map((x) => x.sendLagP99Ms), 0),
        // Every participant sent has a sample (one stopped mid-step too): fewer is a samples file cut short.
        ...(g && users.size < g.arrivalsSent ? { samplesMissing: g.arrivalsSent - users.size } : {}),
      });
    }
    for (const t of [...health.keys()].sort((a, b) => a - b)) folder.health.write(healthLine(health.get(t)!));
    for (const t of [...browserHealth.keys()].sort((a, b) => a - b)) folder.browserHealth?.write(browserHealthLine(browserHealth.get(t)!));
  } catch (e) {
    throw e instanceof RunFolderError ? new MergeError(e.message) : e;
  } finally {
    folder.close();
  }
  if (folder.failure) throw folder.failure;

  const present = new Set(members.map((m) => m.shard.index));
  const missing = Array.from({ length: count }, (_, k) => k + 1)
    .filter((i) => !present.has(i))
    .map((index) => ({ index, why: 'no run folder of it was given to the merge' }));
  const shards: MergedShards = { count, startAt: first.shard.startAt, members: records, missing };
  const info = mergedInfo(members, folder.id, steps, shards, mergeWatch(members, dir));
  folder.series(series);
  folder.info(info);
  return { dir, shards };
}

/**
 * The shards' watch.csv as one (they share t = 0): each shard's sources watched on its own machine, named after
 * their shard (`shard2_janus`) when more than one shard watched. Returns the merged run's watched sources.
 */
function mergeWatch(members: Member[], dir: string): WatchedSource[] {
  const watched = members.filter((m) => m.run.watch?.length && existsSync(join(m.dir, FILES.watch)));
  const prefix = (m: Member) => (watched.length > 1 ? `shard${m.shard.index}_` : '');
  const sources: WatchedSource[] = [];
  const columns: string[] = [];
  const rows = new Map<number, Map<string, number | null>>();
  for (const m of watched) {
    const data = readWatch(m.dir, runSpanMs(m.run));
    if (!data) continue;
    for (const w of m.run.watch!) sources.push({ ...w, name: prefix(m) + w.name, columns: w.columns.map((c) => prefix(m) + c) });
    data.columns.forEach((c, k) => {
      columns.push(prefix(m) + c);
      data.values[k]!.forEach((v, sec) => {
        const row = rows.get(sec) ?? new Map<string, number | null>();
        row.set(prefix(m) + c, v);
        rows.set(sec, row);
      });
    });
  }
  if (!columns.length) return [];
  const lines = [...rows.keys()].sort((a, b) => a - b).map((sec) => [sec, ...columns.map((c) => rows.get(sec)!.get(c) ?? '')].join(','));
  writeFileAtomic(join(dir, FILES.watch), [['second', ...columns].join(','), ...lines].join('\n') + '\n');
  return sources;
}

/** The merged run's run.json: the first shard's scenario and plan, every shard's counts added, the shards as found, and what they watched. */
function mergedInfo(members: Member[], id: string, steps: StepDecl[], shards: MergedShards, watch: WatchedSource[]): RunInfo {
  const first = members[0]!;
  const { count, members: records, missing } = shards;
  const problems = [...members.map(unfinished).filter((x): x is string => x !== undefined), ...missing.map((x) => `shard ${x.index} of ${count}: ${x.why}`)];
  const sum = (f: (r: MergedShard) => number) => records.reduce((a, r) => a + f(r), 0);
  const hosts = [...new Set(members.map((m) => m.run.host.hostname))];
  const exited = members.find((m) => m.run.targetProcess?.exitedAtMs !== undefined)?.run.targetProcess;
  const { shard: _own, targetProcess: _pid, stopReason: _why, source: _source, uncaught: _uncaught, ...base } = first.run;
  const uncaught = countsByMessage(members.map((m) => m.run.uncaught ?? []));
  return {
    ...base,
    id,
    // Shards that did not finish make the merged run one that did not; missing ones make it short of its plan, which the report says first.
    status: members.some((m) => m.run.status === 'failed' || m.run.status === 'running') ? 'failed' : members.some((m) => m.run.status === 'interrupted') ? 'interrupted' : 'completed',
    ...(problems.length ? { stopReason: problems.join('; ') } : {}),
    startedAt: members.map((m) => m.run.startedAt).sort()[0]!,
    endedAt: members.map((m) => m.run.endedAt ?? m.run.startedAt).sort().pop()!,
    host: { hostname: `${count} shard${count === 1 ? '' : 's'} on ${hosts.join(', ')}`, cpus: members.reduce((a, m) => a + m.run.host.cpus, 0), platform: first.run.host.platform },
    zeroEpochMs: Date.parse(first.shard.startAt),
    steps,
    ...(exited ? { targetProcess: exited } : {}),
    ...(uncaught.length ? { uncaught } : {}),
    ...(watch.length ? { watch } : {}),
    generator: {
      arrivalsPlanned: first.run.plan.participants, arrivalsSent: sum((r) => r.arrivalsSent), late: sum((r) => r.late), dropped: sum((r) => r.dropped),
      lateThresholdMs: first.run.generator?.lateThresholdMs ?? 100, maxActive: members.reduce((a, m) => a + (m.run.generator?.maxActive ?? 0), 0),
      workers: members.reduce((a, m) => a + (m.run.generator?.workers ?? 1), 0),
    },
    shards,
  };
}
