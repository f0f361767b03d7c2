// The built-in targets by kind, built from a plain description that can be handed to a worker process.
import type { Target, TargetSpec } from '../api/target.js';
import { bbbTarget, type BbbChecksum } from './bbb.js';
import { httpTarget } from './http.js';
import { janusTarget } from './janus.js';
import { moodleTarget } from './moodle.js';
import { referenceTarget } from './reference.js';

export const TARGET_KINDS = ['reference', 'janus', 'bbb', 'moodle', 'http'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** Everything needed to build a built-in target, as plain data. */
export interface BuiltInSpec extends TargetSpec {
  kind: TargetKind;
  bbbSecret?: string;
  bbbChecksum?: BbbChecksum;
  moodleJoin?: string;
  httpRequests?: number;
}

function isBuiltIn(spec: TargetSpec): spec is BuiltInSpec {
  return (TARGET_KINDS as readonly string[]).includes(spec.kind);
}

/** Builds the target a spec describes; the spec must already be checked (URL, scheme, secrets). */
export function targetFromSpec(spec: TargetSpec): Target {
  if (!isBuiltIn(spec)) throw new Error(`no built-in target of kind '${spec.kind}' (built in: ${TARGET_KINDS.join(', ')})`);
  const u = new URL(spec.url);
  const t = ((): Target => {
    switch (spec.kind) {
      case 'janus': return janusTarget(u);
      case 'bbb': return bbbTarget(u, { secret: spec.bbbSecret ?? '', checksum: spec.bbbChecksum });
      case 'moodle': return moodleTarget(u, { joinPath: spec.moodleJoin });
      case 'http': return httpTarget(u, { requests: spec.httpRequests });
      case 'reference': return referenceTarget(u);
    }
  })();
  return { ...t, spec };
}
