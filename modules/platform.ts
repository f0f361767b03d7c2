// Platforms from plain data, whichever journey they run: a built-in kind, or a user's module loaded again (in a worker process).
import { resolve } from 'node:path';
import type { PlatformInput } from '../api/journey.js';
import { builtInJourney, isTargetKind } from '../targets/index.js';
import { platformOf, platformWithOptions, type Platform, type PlatformSpec } from '../targets/platform.js';
import { loadJourney, reloadJourney } from './journey.js';

/** Builds the platform a spec describes (checked where the run started: here it is only loaded again). */
export async function buildPlatform(spec: PlatformSpec): Promise<Platform> {
  const url = new URL(spec.url);
  const src = spec.source;
  if ('builtIn' in src) {
    if (!isTargetKind(src.builtIn)) throw new Error(`no built-in journey '${src.builtIn}'`);
    return platformOf(builtInJourney(src.builtIn), url, spec.options, src.builtIn, src);
  }
  return platformOf(await reloadJourney(src.module, src.bundle), url, spec.options, 'journey', src);
}

/**
 * Builds the platform of a PlatformInput, its target checked against the hosts allowed beside loopback. A definition
 * handed over in memory runs in one process; a module's path or a built-in kind can be built again in worker processes.
 */
export async function platformOfInput(p: PlatformInput, o: { allowHosts?: readonly string[]; typecheck?: boolean } = {}): Promise<Platform> {
  const target = String(p.target);
  const allowed = o.allowHosts ?? [];
  if (typeof p.journey !== 'string') return platformWithOptions(p.journey, target, allowed, p.options ?? {}, 'journey', undefined, 'the journey');
  if (isTargetKind(p.journey)) return platformWithOptions(builtInJourney(p.journey), target, allowed, p.options ?? {}, p.journey, { builtIn: p.journey }, `--target-kind ${p.journey}`);
  const j = await loadJourney(resolve(p.journey), o.typecheck);
  return platformWithOptions(j.def, target, allowed, p.options ?? {}, 'journey', { module: j.file, bundle: j.bundle }, `the journey ${p.journey}`);
}
