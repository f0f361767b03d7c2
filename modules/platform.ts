// Platforms from plain data, whichever journey they run: a built-in kind, or a user's module loaded again (in a worker process).
import type { JourneyDefinition, PlatformInput } from '../api/journey.js';
import { builtInJourney, isTargetKind } from '../targets/index.js';
import { platformOf, platformWithOptions, type JourneySource, type Platform, type PlatformSpec } from '../targets/platform.js';
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
 * Builds the platform of a PlatformInput. A definition handed over in memory runs in one process; a module's path
 * or a built-in kind can be built again in worker processes.
 */
export async function platformOfInput(p: PlatformInput): Promise<Platform> {
  const url = new URL(p.target);
  let def: JourneyDefinition;
  let kind = 'journey';
  let source: JourneySource | undefined;
  if (typeof p.journey !== 'string') def = p.journey;
  else if (isTargetKind(p.journey)) {
    def = builtInJourney(p.journey);
    kind = p.journey;
    source = { builtIn: p.journey };
  } else {
    const j = await loadJourney(p.journey);
    def = j.def;
    source = { module: j.file, bundle: j.bundle };
  }
  return platformWithOptions(def, url, p.options ?? {}, kind, source, typeof p.journey === 'string' ? `journey ${p.journey}` : 'the journey');
}
