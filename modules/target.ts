// Targets from a spec, whichever they are: a built-in kind, or a user's journey module loaded again (in a worker process).
import type { Target, TargetSpec } from '../api/target.js';
import { targetFromSpec } from '../targets/index.js';
import { journeyTarget } from '../targets/journey.js';
import { loadJourney, reloadJourney } from './journey.js';

/** A user's journey module aimed at `url`, checked; worker processes can load it again. */
export async function journeyModuleTarget(file: string, url: URL): Promise<Target> {
  const j = await loadJourney(file);
  return journeyTarget(j.def, url, { module: j.file, bundle: j.bundle, heldSteps: j.heldSteps });
}

/** Builds the target a spec describes: a journey module (kind 'module', its path in `module`) or a built-in kind. */
export async function buildTarget(spec: TargetSpec): Promise<Target> {
  if (spec.kind === 'module') {
    const { module, bundle, heldSteps } = spec;
    if (typeof module !== 'string' || typeof bundle !== 'string') throw new Error('a module target spec needs the module and its bundle');
    // Checked where the run started: here it is only loaded again.
    const def = await reloadJourney(module, bundle);
    return journeyTarget(def, new URL(spec.url), { module, bundle, heldSteps: String(heldSteps ?? '').split('\n').filter(Boolean) });
  }
  return targetFromSpec(spec);
}
