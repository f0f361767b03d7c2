// Scenarios as people write them (a file's default export, or JSON): defaults filled in, every problem named by its path.
import {
  DEFAULT_CLIENT, DEFAULT_OBJECTIVES, FAULT_KINDS, LAYERS,
  type Bell, type ClientBehaviour, type DataSource, type Fault, type Layer, type LayerObjective, type Phase, type Population, type Problem, type Scenario,
} from './model.js';

/** A scenario with everything that has a sensible default left out. */
export interface ScenarioInput {
  /** Unique name, kebab-case. */
  name: string;
  /** One or two sentences for the plan and the report. Default: none. */
  description?: string;
  /** Wall-clock label of t = 0, "HH:MM:SS". Default "08:00:00". */
  firstBell?: string;
  /** Default: one school, one conference, 10 participants per conference. */
  population?: Partial<Population>;
  /** The arrivals: phases, or load shapes (`load.ramp(…)`, …), in any nesting of lists. */
  phases: Phase | (Phase | Phase[])[];
  /** Measuring goes on this long after the last arrival window closes, ms. Default 5,000. */
  observeMs?: number;
  /** Default: think time 200 ms, step timeout 30 s, heartbeat every 5 s, no retries. */
  client?: Partial<ClientBehaviour>;
  /** Per layer; a layer or field left out keeps its default (1 % errors, p95 2 s; media p95 1 s). */
  objectives?: Partial<Record<Layer, Partial<LayerObjective>>>;
  /** A participant should be in its conference this long after arriving, ms. Default 10,000. */
  joinWithinMs?: number;
  faults?: Fault[];
  /** The journey module, relative to the scenario file. */
  journey?: string;
  /** Rows for the participants, e.g. `csv('pupils.csv')`, relative to the scenario file. */
  data?: DataSource;
  /** From a timetable (`firstbell timetable` writes them): its bells, and where its quiet stretches were cut. */
  bells?: Bell[];
  clockAnchors?: { atMs: number; wallMs: number }[];
  /** What to watch of the platform beside the load, as `--watch` and `--watch-query` take them. */
  watch?: Scenario['watch'];
}

/** The scenario an input describes, its defaults filled in; check it with `validateScenario`. */
export function scenarioFromInput(s: ScenarioInput): Scenario {
  const objectives = Object.fromEntries(LAYERS.map((l) => [l, { ...DEFAULT_OBJECTIVES[l], ...s.objectives?.[l] }])) as Record<Layer, LayerObjective>;
  return {
    name: s.name,
    description: s.description ?? '',
    firstBell: s.firstBell ?? '08:00:00',
    population: { schools: 1, conferences: 1, participantsPerConference: 10, ...s.population },
    phases: (Array.isArray(s.phases) ? s.phases : [s.phases]).flat(),
    observeMs: s.observeMs ?? 5_000,
    client: { ...DEFAULT_CLIENT, ...s.client },
    objectives,
    joinWithinMs: s.joinWithinMs ?? 10_000,
    ...(s.faults ? { faults: s.faults } : {}),
    ...(s.journey !== undefined ? { journey: s.journey } : {}),
    ...(s.data !== undefined ? { data: s.data } : {}),
    ...(s.bells !== undefined ? { bells: s.bells } : {}),
    ...(s.clockAnchors !== undefined ? { clockAnchors: s.clockAnchors } : {}),
    ...(s.watch !== undefined ? { watch: s.watch } : {}),
  };
}

type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array';
const kindOf = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
/** A kind with its article: "an object", "a string". */
const aKind = (kind: string): string => (/^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`);

/** Checks the shape of a value at `where`: its kind, and the keys an object may have. */
class ShapeCheck {
  readonly problems: Problem[] = [];

  is(where: string, v: unknown, kind: Kind, required: boolean): boolean {
    if (v === undefined) {
      if (required) this.problems.push({ where, message: 'is missing', hint: `add ${where} (${aKind(kind)})` });
      return false;
    }
    if (kindOf(v) !== kind) {
      this.problems.push({ where, message: `${JSON.stringify(v)} is ${aKind(kindOf(v))}, not ${aKind(kind)}`, hint: `make ${where} ${aKind(kind)}` });
      return false;
    }
    return true;
  }

  keys(where: string, v: object, allowed: readonly string[]): void {
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) this.problems.push({ where: where ? `${where}.${k}` : k, message: `is not a field here`, hint: `use one of ${allowed.join(', ')}` });
    }
  }

  /** An object whose fields are all of one kind, each checked by name. */
  fields(where: string, v: unknown, spec: Record<string, Kind>, required: readonly string[] = []): v is Record<string, unknown> {
    if (!this.is(where, v, 'object', required.length > 0)) return false;
    const o = v as Record<string, unknown>;
    this.keys(where, o, Object.keys(spec));
    for (const [k, kind] of Object.entries(spec)) this.is(`${where}.${k}`, o[k], kind, required.includes(k));
    return true;
  }
}

const PHASE: Record<string, Kind> = { name: 'string', startMs: 'number', durationMs: 'number', participants: 'number', curve: 'object', classes: 'array', leaveAtMs: 'number', bell: 'string' };
const CURVES: Record<string, Record<string, Kind>> = {
  uniform: { kind: 'string' },
  ramp: { kind: 'string', fromRate: 'number', toRate: 'number' },
  'first-bell': { kind: 'string', riseMs: 'number', halfLifeMs: 'number' },
};
const FAULT_FIELDS = ['atMs', 'forMs', 'pathPrefix', 'kind', 'addMs', 'status', 'ratio', 'bytesPerSec', 'farm', 'threshold'];
const TOP = ['name', 'description', 'firstBell', 'population', 'phases', 'observeMs', 'client', 'objectives', 'joinWithinMs', 'faults', 'journey', 'data', 'bells', 'clockAnchors', 'watch'];

function checkPhases(c: ShapeCheck, phases: unknown): void {
  const list = Array.isArray(phases) ? phases.flat() : [phases];
  list.forEach((p, i) => {
    const at = Array.isArray(phases) ? `phases[${i}]` : 'phases';
    if (!c.fields(at, p, PHASE, ['startMs', 'durationMs', 'participants', 'curve'])) return;
    const curve = p.curve as Record<string, unknown> | undefined;
    if (!curve || kindOf(curve) !== 'object') return;
    const spec = CURVES[String(curve.kind)];
    if (!spec) c.problems.push({ where: `${at}.curve.kind`, message: `${JSON.stringify(curve.kind)} is not an arrival curve`, hint: `use one of ${Object.keys(CURVES).join(', ')}` });
    else c.fields(`${at}.curve`, curve, spec, Object.keys(spec));
    if (Array.isArray(p.classes)) p.classes.forEach((x, k) => c.fields(`${at}.classes[${k}]`, x, { conference: 'number', pupils: 'number' }, ['conference', 'pupils']));
  });
}

/** A timetable's parts of a scenario: its classes and schools by name, its bells, where its time is cut. */
function checkTimetable(c: ShapeCheck, s: Record<string, unknown>): void {
  const pop = s.population as Record<string, unknown> | undefined;
  if (pop && kindOf(pop) === 'object') {
    if (c.is('population.schoolNames', pop.schoolNames, 'array', false)) (pop.schoolNames as unknown[]).forEach((x, i) => c.is(`population.schoolNames[${i}]`, x, 'string', true));
    if (c.is('population.classes', pop.classes, 'array', false)) (pop.classes as unknown[]).forEach((x, i) => c.fields(`population.classes[${i}]`, x, { name: 'string', school: 'number' }, ['name', 'school']));
  }
  if (c.is('bells', s.bells, 'array', false)) {
    (s.bells as unknown[]).forEach((x, i) => c.fields(`bells[${i}]`, x, { atMs: 'number', clock: 'string', participants: 'number', classes: 'number' }, ['atMs', 'clock', 'participants', 'classes']));
  }
  if (c.is('clockAnchors', s.clockAnchors, 'array', false)) (s.clockAnchors as unknown[]).forEach((x, i) => c.fields(`clockAnchors[${i}]`, x, { atMs: 'number', wallMs: 'number' }, ['atMs', 'wallMs']));
}

/** Every problem with the shape of a scenario input: missing fields, wrong kinds, unknown keys; each named by its path. */
export function checkScenarioInput(v: unknown): Problem[] {
  const c = new ShapeCheck();
  if (!c.is('(scenario)', v, 'object', true)) return c.problems;
  const s = v as Record<string, unknown>;
  c.keys('', s, TOP);
  c.is('name', s.name, 'string', true);
  for (const k of ['description', 'firstBell', 'journey'] as const) c.is(k, s[k], 'string', false);
  for (const k of ['observeMs', 'joinWithinMs'] as const) c.is(k, s[k], 'number', false);
  c.fields('population', s.population, { schools: 'number', conferences: 'number', participantsPerConference: 'number', schoolNames: 'array', classes: 'array' });
  checkTimetable(c, s);
  if (s.phases === undefined) c.is('phases', undefined, 'array', true);
  else checkPhases(c, s.phases);
  if (c.fields('client', s.client, { thinkTimeMs: 'number', stepTimeoutMs: 'number', heartbeatMs: 'number', retry: 'object' })) {
    const retry = (s.client as Record<string, unknown>).retry;
    if (retry !== undefined && kindOf(retry) === 'object') c.keys('client.retry', retry as object, ['kind', 'everyMs', 'maxTries', 'baseMs', 'maxMs']);
  }
  if (c.is('objectives', s.objectives, 'object', false)) {
    const o = s.objectives as Record<string, unknown>;
    c.keys('objectives', o, LAYERS);
    for (const l of LAYERS) c.fields(`objectives.${l}`, o[l], { maxErrorRate: 'number', p95Ms: 'number' });
  }
  if (c.is('faults', s.faults, 'array', false)) {
    (s.faults as unknown[]).forEach((f, i) => {
      if (!c.is(`faults[${i}]`, f, 'object', true)) return;
      c.keys(`faults[${i}]`, f as object, FAULT_FIELDS);
      const kind = (f as Record<string, unknown>).kind;
      if (!(FAULT_KINDS as readonly unknown[]).includes(kind)) c.problems.push({ where: `faults[${i}].kind`, message: `${JSON.stringify(kind)} is not a fault kind`, hint: `use one of ${FAULT_KINDS.join(', ')}` });
    });
  }
  c.fields('data', s.data, { csv: 'string', reuse: 'boolean', delimiter: 'string' }, s.data === undefined ? [] : ['csv']);
  if (c.fields('watch', s.watch, { sources: 'array', queries: 'object' }, s.watch === undefined ? [] : ['sources'])) {
    const w = s.watch as { sources?: unknown[]; queries?: Record<string, unknown> };
    (w.sources ?? []).forEach((x, i) => c.is(`watch.sources[${i}]`, x, 'string', true));
    for (const [k, q] of Object.entries(w.queries ?? {})) c.is(`watch.queries.${k}`, q, 'string', true);
  }
  return c.problems;
}
