// Shared helpers for the end-to-end tests: captured CLI output, temporary folders, small scenarios.
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, onTestFailed, type TestContext } from 'vitest';
import type { Io } from '../cli.js';
import { spawnReferencePlatform, type SpawnedPlatform } from '../fixtures/spawn.js';
import type { PlatformInput } from '../api/journey.js';
import { platformOfInput } from '../modules/journey.js';
import { runOn, type PlanOrScenario, type RunResult, type RunSettings } from '../run/conductor.js';
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, resolveScenario, type ClientBehaviour, type Fault, type ResolvedScenario } from '../scenarios/model.js';

export function captureIo(signal?: AbortSignal): { io: Io; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, signal },
    out: () => out,
    err: () => err,
  };
}

/** Where the folders of a failed test are kept (the test run's temporary folder is removed at its end). */
export const FAILED_DIR = new URL('./.failed/', import.meta.url).pathname;

/**
 * A temporary folder; made inside a test, it is kept in FAILED_DIR if the test fails, so that its run folder
 * (health.csv, samples, the report) can be read after the suite.
 */
export function tempDir(prefix = 'firstbell-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const keep = ({ task }: TestContext) => {
    if (!existsSync(dir)) return;
    const to = join(FAILED_DIR, `${task.name.replace(/[^\w-]+/g, '-').slice(0, 80)}-${basename(dir)}`);
    try {
      cpSync(dir, to, { recursive: true });
      console.error(`the failed test's folder is kept: ${to}`);
    } catch (e) {
      console.error(`the failed test's folder ${dir} could not be kept: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  try {
    onTestFailed(keep);
  } catch {
    // Made outside a test (a file's beforeAll), where vitest refuses the hook: the folder belongs to no one test.
  }
  return dir;
}

/** A burst whose arrival rate rises linearly from 0 to `peakPerSec` over `durationMs`: a first bell in slow motion. */
export function rampScenario(peakPerSec: number, durationMs: number, observeMs = 3_000): ResolvedScenario {
  return resolveScenario(
    {
      name: 'test-ramp',
      description: 'linear ramp for capacity tests',
      firstBell: '08:00:00',
      population: { schools: 1, conferences: 1, participantsPerConference: 10 },
      phases: [{ name: 'ramp', startMs: 0, durationMs, participants: Math.round((peakPerSec * durationMs) / 2000), curve: { kind: 'ramp', fromRate: 0, toRate: 1 } }],
      observeMs,
      client: { ...DEFAULT_CLIENT, thinkTimeMs: 50, stepTimeoutMs: 10_000 },
      objectives: DEFAULT_OBJECTIVES,
      joinWithinMs: 10_000,
    },
    1,
  );
}

/** A steady stream of arrivals with scheduled faults; t = 0 (the first bell) is the start of the stream. */
export function steadyScenario(ratePerSec: number, durationMs: number, faults: Fault[], client: Partial<ClientBehaviour> = {}, observeMs = 1_500): ResolvedScenario {
  return resolveScenario(
    {
      name: 'test-steady',
      description: 'steady arrivals for fault tests',
      firstBell: '08:00:00',
      population: { schools: 1, conferences: 1, participantsPerConference: 10 },
      phases: [{ name: 'steady', startMs: 0, durationMs, participants: Math.round((ratePerSec * durationMs) / 1000), curve: { kind: 'uniform' } }],
      observeMs,
      client: { ...DEFAULT_CLIENT, thinkTimeMs: 50, ...client },
      objectives: DEFAULT_OBJECTIVES,
      joinWithinMs: 10_000,
      faults,
    },
    1,
  );
}

/** The reference platform in its own process for the tests of one file: started before them, stopped after. */
export function useReferencePlatform(args: string[] = []): () => SpawnedPlatform {
  let platform: SpawnedPlatform | undefined;
  beforeAll(async () => {
    platform = await spawnReferencePlatform(args);
  });
  afterAll(async () => {
    await platform?.stop();
  });
  return () => {
    if (!platform) throw new Error('the reference platform has not started');
    return platform;
  };
}

/** A run with everything the run's own result has (its series and run.json), on a platform given as the package takes it. */
export async function runScenario(o: RunSettings & { platform: PlatformInput } & PlanOrScenario): Promise<RunResult> {
  return runOn(await platformOfInput(o.platform, { allowHosts: o.allowHosts }), o);
}

/**
 * A built-in scenario as a user's file in `dir` (its name kept), its baseline of held participants brought in over
 * 10 s instead of 25 s, all of them or (`sameRate`) as many as arrive in 10 s at the built-in's rate; `observeMs`
 * instead of the built-in's; `without` a phase of it; `slotSpacingMs` the staggered slots that far apart.
 */
export function builtInFile(dir: string, name: string, o: { observeMs?: number; sameRate?: boolean; without?: string; slotSpacingMs?: number } = {}): string {
  const file = join(dir, `${name}.ts`);
  const baseline = `{ ...p, startMs: -12_000, durationMs: 10_000${o.sameRate ? ', participants: Math.round((p.participants * 10_000) / p.durationMs)' : ''} }`;
  // Staggered slots closer together: each slot's arrivals a second as built in, the quiet between them shorter.
  const slot = o.slotSpacingMs === undefined ? 'p' : `(p.name.startsWith('slot ') ? { ...p, startMs: (Number(p.name.slice(5)) - 1) * ${o.slotSpacingMs} } : p)`;
  const phases = `s.phases${o.without ? `.filter((p) => p.name !== '${o.without}')` : ''}.map((p) => (p.name === 'baseline' ? ${baseline} : ${slot}))`;
  writeFileSync(file, `import { defineScenario, findScenario } from 'firstbell';
const s = findScenario('${name}')!;
export default defineScenario({ ...s,${o.observeMs === undefined ? '' : ` observeMs: ${o.observeMs},`} phases: ${phases} });
`);
  return file;
}
