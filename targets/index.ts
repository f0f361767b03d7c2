// The built-in kinds: each a journey module like a user's own, found here by name. A new kind is one file here, and
// its name in the two lists below.
import type { AnyJourney, JourneyDefinition } from '../api/journey.js';
import { PACKAGE_ROOT } from '../lib/version.js';
import bbb from './bbb.js';
import http from './http.js';
import janus from './janus.js';
import moodle from './moodle.js';
import reference from './reference.js';

/** The built-in kinds by name. */
export const TARGET_KINDS = ['reference', 'janus', 'bbb', 'moodle', 'http'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** Each kind's journey: a `defineJourney` module of this folder. */
export const BUILT_IN_JOURNEYS: Readonly<Record<TargetKind, AnyJourney>> = { reference, janus, bbb, moodle, http };

export function isTargetKind(kind: string): kind is TargetKind {
  return Object.hasOwn(BUILT_IN_JOURNEYS, kind);
}

/** A built-in kind's journey, as a definition. */
export function builtInJourney(kind: TargetKind): JourneyDefinition {
  return BUILT_IN_JOURNEYS[kind];
}

/** A built-in kind's source file, for a bundle (a k6 script) that carries the journey as a user's module would be. */
export function builtInSource(kind: TargetKind): string {
  return `${PACKAGE_ROOT}/targets/${kind}.ts`;
}
