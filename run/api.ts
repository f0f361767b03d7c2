// Runs as the package's API gives them: plain options in, the run folder and what was sent out. The engine, the
// plan and the run folder's own types stay inside.
import type { WebClient } from '../api/web-client.js';
import type { PlatformInput } from '../api/journey.js';
import { platformOfInput } from '../modules/journey.js';
import { findScenario } from '../scenarios/index.js';
import { ProblemsError, resolveScenario, type Scenario } from '../scenarios/model.js';
import type { RunProgress } from './progress.js';
import { runOn } from './conductor.js';

/** One run, as `firstbell run`'s flags have it: `scale` and `seed` 1 and `runId` the time and scenario by default. */
export interface RunOptions {
  /** A journey (a definition, a module's path, or a built-in kind's name) aimed at a URL, with its options. */
  platform: PlatformInput;
  /** A scenario (defineScenario), or a built-in scenario's name. */
  scenario: Scenario | string;
  scale?: number;
  seed?: number;
  /** Folder under which the run folder is made. */
  outDir: string;
  runId?: string;
  /** Processes that share the schedule; default 1. */
  workers?: number;
  /** Local addresses to spread connections over (e.g. 127.0.1.1 …); default the kernel's choice. */
  localAddresses?: string[];
  /** Most participants under way at once; beyond it arrivals are dropped and counted. */
  maxActive?: number;
  /** Stops the run early; the run folder is still closed and marked interrupted. */
  signal?: AbortSignal;
  /** Called once a second with what was sent and how each layer did in that second. */
  onProgress?: (p: RunProgress) => void;
  /** Browser users beside the protocol users: how many, and how long each stays in its conference, ms. */
  browsers?: { count: number; cycleMs: number; chromium?: string; endpoint?: string };
  /** How browser users get in, when the journey has no web client (or to replace it). */
  webClient?: WebClient;
  /** Hosts beyond loopback and the target that connections may go to. */
  allowHosts?: string[];
  /** Most bytes of one answer a participant reads; default 8 MB. */
  maxAnswerBytes?: number;
}

/** What a run did: its folder (samples, health, run.json; `buildReport` judges it), how it ended, and what it sent. */
export interface RunResult {
  dir: string;
  status: 'completed' | 'interrupted' | 'failed';
  planned: number;
  sent: number;
  late: number;
  dropped: number;
}

/** Runs a scenario against a platform into a run folder. */
export async function runScenario(o: RunOptions): Promise<RunResult> {
  const s = typeof o.scenario === 'string' ? findScenario(o.scenario) : o.scenario;
  if (!s) throw new ProblemsError([{ where: 'scenario', message: `no built-in scenario '${String(o.scenario)}'`, hint: 'give a scenario (defineScenario) or the name of a built-in one' }]);
  const { platform, scenario: _, scale, seed, onProgress, workers, localAddresses, ...settings } = o;
  const r = await runOn(await platformOfInput(platform, { allowHosts: o.allowHosts }), {
    ...settings,
    scenario: resolveScenario(s, scale ?? 1),
    seed: seed ?? 1,
    ...(workers !== undefined ? { workers } : {}),
    ...(localAddresses ? { localAddresses } : {}),
    ...(onProgress ? { onProgress: (p) => onProgress({ t: p.t, planned: p.planned, sent: p.sent, late: p.late, dropped: p.dropped, active: p.active, layers: p.layers }) } : {}),
  });
  const g = r.info.generator;
  return { dir: r.dir, status: r.info.status === 'running' ? 'failed' : r.info.status, planned: g?.arrivalsPlanned ?? 0, sent: g?.arrivalsSent ?? 0, late: g?.late ?? 0, dropped: g?.dropped ?? 0 };
}
