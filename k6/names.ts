// The names a k6 script records firstbell's samples under, shared by the export, the import and the script's runtime.
import type { StepDecl } from '../api/vu.js';

/** The custom metric every step is recorded in; `firstbell import k6` reads it back. */
export const K6_STEP_METRIC = 'firstbell_step';
/** Tags (low cardinality, on every sample) and metadata (per participant, never indexed) of that metric. */
export const K6_TAGS = { layer: 'fb_layer', step: 'fb_step', outcome: 'fb_outcome', status: 'fb_status' } as const;
export const K6_META = { user: 'fb_user', at: 'fb_at' } as const;
/** Test-wide tags that say which scenario a result file belongs to. */
export const K6_RUN_TAGS = {
  scenario: 'firstbell_scenario', scale: 'firstbell_scale', seed: 'firstbell_seed', target: 'firstbell_target', kind: 'firstbell_kind', planned: 'firstbell_planned',
  /** A user's journey: its steps as name:layer[:goal][:held], separated by "|", for the import to declare them. */
  steps: 'firstbell_steps',
} as const;

/** The journey's steps as the run-folder records them, in the tag the import reads: name:layer[:goal][:held], separated by "|". */
export function stepsTag(decls: readonly StepDecl[]): string {
  return decls.map((d) => [d.step, d.layer, ...(d.goal ? [d.goal] : []), ...(d.held ? ['held'] : [])].join(':')).join('|');
}

/** The steps tag read back; undefined when it is not one. */
export function stepsOfTag(tag: string): StepDecl[] | undefined {
  const out: StepDecl[] = [];
  for (const part of tag.split('|')) {
    const [step, layer, ...rest] = part.split(':');
    if (!step || !/^(admission|broker|media)$/.test(layer ?? '') || rest.some((x) => !/^(journey|layer|held)$/.test(x))) return undefined;
    const d: StepDecl = { step, layer: layer as StepDecl['layer'] };
    for (const x of rest) {
      if (x === 'held') d.held = true;
      else d.goal = x as 'journey' | 'layer';
    }
    out.push(d);
  }
  return out.length ? out : undefined;
}
