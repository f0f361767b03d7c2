// Hands a scenario to k6: a TypeScript script typed against @types/k6, and a k6-operator TestRun for Kubernetes.
import type { Layer, ResolvedScenario } from '../scenarios/model.js';
import { LAYERS } from '../scenarios/model.js';
import { arrivalsPerSecond, buildSchedule, type Schedule } from '../plan/schedule.js';
import { VERSION } from '../lib/version.js';

import { K6_META, K6_RUN_TAGS, K6_STEP_METRIC, K6_TAGS } from './names.js';

export { K6_META, K6_RUN_TAGS, K6_STEP_METRIC, K6_TAGS } from './names.js';

/** VUs beyond the participants under way at once: k6 needs a little room while one iteration ends and the next starts. */
export const K6_VU_MARGIN = { share: 0.05, plus: 10 };

export interface K6Export {
  script: string;
  manifest: string;
  /** Name used for the TestRun, ConfigMap and files, e.g. firstbell-monday-0800. */
  name: string;
}

export interface K6ExportOptions {
  scenario: ResolvedScenario;
  seed: number;
  target: URL;
  targetKind: 'reference' | 'janus';
  /** Runner pods in the TestRun. */
  parallelism: number;
}

/** k6 stages for the schedule: a step function, one level per second, each jump a stage of duration 0. */
export function k6Stages(perSecond: number[]): { duration: string; target: number }[] {
  const stages: { duration: string; target: number }[] = [];
  let level = 0;
  for (const n of perSecond) {
    if (n !== level) stages.push({ duration: '0s', target: n });
    stages.push({ duration: '1s', target: n });
    level = n;
  }
  // Merge runs of equal seconds into one stage.
  const merged: typeof stages = [];
  for (const s of stages) {
    const last = merged[merged.length - 1];
    if (last && s.duration !== '0s' && last.duration !== '0s' && last.target === s.target) last.duration = `${Number(last.duration.slice(0, -1)) + 1}s`;
    else merged.push({ ...s });
  }
  return merged;
}

function thresholds(s: ResolvedScenario): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of LAYERS as readonly Layer[]) {
    const o = s.objectives[l];
    out[`${K6_STEP_METRIC}{${K6_TAGS.layer}:${l}}`] = [`p(95)<${o.p95Ms}`];
    out[`${K6_STEP_METRIC}_failed{${K6_TAGS.layer}:${l}}`] = [`rate<${o.maxErrorRate}`];
  }
  return out;
}

const SCRIPT_BODY = String.raw`
const step = new Trend('${K6_STEP_METRIC}', true);
const stepFailed = new Rate('${K6_STEP_METRIC}_failed');

type Layer = 'admission' | 'broker' | 'media';
type Outcome = 'ok' | 'http' | 'timeout' | 'reset' | 'refused' | 'dns' | 'tls' | 'protocol' | 'error';
type Result<T> = { ok: true; value: T } | { ok: false };

class StepError extends Error {
  constructor(readonly outcome: Outcome, readonly status: number, message: string) {
    super(message);
  }
}

/** One participant: the iteration number across every runner of the test. */
function participant(): number {
  return exec.scenario.iterationInTest;
}

/** Who participant 'id' is in the scenario's population, as firstbell's own runs name it. */
function identity(id: number): { conference: number; user: string; password: string } {
  return { conference: Math.floor(id / PER_CONFERENCE), user: 'pupil-' + id, password: 'pw-' + id };
}

/** Records one step: its duration, and who and when as metadata (per participant, not indexed). */
function record(layer: Layer, name: string, startedAt: number, outcome: Outcome, status: number): void {
  exec.vu.metrics.metadata['${K6_META.user}'] = participant();
  exec.vu.metrics.metadata['${K6_META.at}'] = startedAt - exec.scenario.startTime;
  step.add(Date.now() - startedAt, { ${K6_TAGS.layer}: layer, ${K6_TAGS.step}: name, ${K6_TAGS.outcome}: outcome, ${K6_TAGS.status}: String(status) });
  stepFailed.add(outcome !== 'ok', { ${K6_TAGS.layer}: layer, ${K6_TAGS.step}: name });
  delete exec.vu.metrics.metadata['${K6_META.user}'];
  delete exec.vu.metrics.metadata['${K6_META.at}'];
}

function run<T>(layer: Layer, name: string, work: () => T): Result<T> {
  const startedAt = Date.now();
  try {
    const value = work();
    record(layer, name, startedAt, 'ok', 0);
    return { ok: true, value };
  } catch (e) {
    const err = e instanceof StepError ? e : new StepError('error', 0, String(e));
    record(layer, name, startedAt, err.outcome, err.status);
    return { ok: false };
  }
}

/** Sorts a failed request the way firstbell does: by status, else by k6's error code. */
function failure(res: http.RefinedResponse<'text'>, what: string): StepError {
  if (res.status > 0) return new StepError('http', res.status, what + ' answered ' + res.status);
  const code = res.error_code;
  const text = String(res.error);
  const outcome: Outcome =
    code === 1050 || /timeout/i.test(text) ? 'timeout'
      : code >= 1100 && code < 1200 ? 'dns'
      : code >= 1300 && code < 1400 ? 'tls'
      : /refused/i.test(text) ? 'refused'
      : /reset|EOF|broken pipe/i.test(text) ? 'reset'
      : 'error';
  return new StepError(outcome, 0, what + ': ' + text);
}

function expect(res: http.RefinedResponse<'text'>, what: string, ...ok: number[]): http.RefinedResponse<'text'> {
  if (!ok.includes(res.status)) throw failure(res, what);
  return res;
}

function find(re: RegExp, body: string | null, what: string): string {
  const m = re.exec(body ?? '');
  if (!m || !m[1]) throw new StepError('protocol', 0, 'no ' + what + ' in the answer');
  return m[1];
}

const params = (name: string, extra: Record<string, unknown> = {}) => ({ timeout: STEP_TIMEOUT, redirects: 0, tags: { name }, ...extra });

/** Holds a WebSocket until the end of the test: a heartbeat every HEARTBEAT_MS, each a step of its own. */
function hold(
  url: string,
  subprotocol: string | null,
  onOpen: (send: (msg: unknown) => void) => void,
  classify: (msg: Record<string, unknown>, send: (msg: unknown) => void) => 'joined' | 'pong' | 'failed' | null,
  heartbeat: (t: number) => unknown,
): void {
  const connectAt = Date.now();
  let joined = false;
  let pending: { t: number; at: number } | null = null;
  const left = END_MS - (Date.now() - exec.scenario.startTime);
  if (left <= 0) return;
  let res: ws.Response | undefined;
  try {
  res = ws.connect(url, subprotocol ? { headers: { 'Sec-WebSocket-Protocol': subprotocol }, tags: { name: 'media' } } : { tags: { name: 'media' } }, (socket) => {
    const send = (msg: unknown) => socket.send(JSON.stringify(msg));
    socket.on('open', () => onOpen(send));
    socket.on('message', (data: string) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(data) as Record<string, unknown>;
      } catch {
        return;
      }
      const kind = classify(msg, send);
      if (kind === 'failed' && !joined) {
        record('media', 'connect', connectAt, 'protocol', 0);
        socket.close();
      } else if (kind === 'joined' && !joined) {
        joined = true;
        record('media', 'connect', connectAt, 'ok', 0);
        socket.setInterval(() => {
          if (pending) record('media', 'heartbeat', pending.at, 'timeout', 0);
          pending = { t: Date.now(), at: Date.now() };
          send(heartbeat(pending.t));
        }, HEARTBEAT_MS);
      } else if (kind === 'pong' && pending) {
        record('media', 'heartbeat', pending.at, 'ok', 0);
        pending = null;
      }
    });
    socket.on('error', () => {
      if (!joined) record('media', 'connect', connectAt, 'reset', 0);
      else if (pending) record('media', 'heartbeat', pending.at, 'reset', 0);
    });
    socket.setTimeout(() => {
      if (joined) return;
      record('media', 'connect', connectAt, 'timeout', 0);
      socket.close();
    }, Math.min(left, STEP_TIMEOUT_MS));
    socket.setTimeout(() => socket.close(), left);
  });
  } catch (e) {
    record('media', 'connect', connectAt, /refused/i.test(String(e)) ? 'refused' : 'error', 0);
    return;
  }
  if (res && res.status !== 101 && !joined) record('media', 'connect', connectAt, res.status > 0 ? 'http' : 'refused', res.status);
}

/** A Janus VideoRoom session: create, attach, join the room; keepalives as heartbeats. */
function holdJanus(url: string, room: number, display: string): void {
  let session = 0;
  let handle = 0;
  hold(
    url,
    'janus-protocol',
    (send) => send({ janus: 'create', transaction: 'create' }),
    (msg, send) => {
      if (msg.janus === 'error') return 'failed';
      if (msg.transaction === 'create' && msg.janus === 'success') {
        session = (msg.data as { id: number }).id;
        send({ janus: 'attach', plugin: 'janus.plugin.videoroom', session_id: session, transaction: 'attach' });
        return null;
      }
      if (msg.transaction === 'attach' && msg.janus === 'success') {
        handle = (msg.data as { id: number }).id;
        send({ janus: 'message', session_id: session, handle_id: handle, transaction: 'join', body: { request: 'join', ptype: 'publisher', room, display } });
        return null;
      }
      if (msg.transaction === 'join' && msg.janus === 'event') {
        const data = (msg.plugindata as { data?: { videoroom?: string } } | undefined)?.data;
        return data?.videoroom === 'joined' ? 'joined' : 'failed';
      }
      if (msg.janus === 'ack' && typeof msg.transaction === 'string' && msg.transaction.startsWith('k')) return 'pong';
      return null;
    },
    (t) => ({ janus: 'keepalive', session_id: session, transaction: 'k' + t }),
  );
}
`;

const REFERENCE_JOURNEY = String.raw`
export function journey(): void {
  const who = identity(participant());
  const page = run('admission', 'login_page', () => find(/name="csrf" value="([^"]+)"/, expect(http.get(TARGET + '/login', params('login_page')), 'login page', 200).body as string, 'CSRF token'));
  if (!page.ok) return;
  sleep(THINK_MS / 1000);
  const login = run('admission', 'login', () => expect(http.post(TARGET + '/login', { username: who.user, password: who.password, csrf: page.value }, params('login')), 'login', 302, 303));
  if (!login.ok) return;
  sleep(THINK_MS / 1000);
  const dash = run('admission', 'dashboard', () => {
    const body = expect(http.get(TARGET + '/dashboard', params('dashboard')), 'dashboard', 200).body as string;
    return { csrf: find(/name="csrf-token" content="([^"]+)"/, body, 'CSRF token'), conference: find(/data-conference="([^"]+)"/, body, 'conference') };
  });
  if (!dash.ok) return;
  sleep(THINK_MS / 1000);
  const join = run('broker', 'join', () => {
    const res = expect(http.post(TARGET + '/api/conferences/' + dash.value.conference + '/join', '{}', params('join', { headers: { 'content-type': 'application/json', 'x-csrf-token': dash.value.csrf } })), 'join', 200);
    try {
      return JSON.parse(res.body as string) as { signalUrl?: string; janus?: { url: string; room: number } };
    } catch {
      throw new StepError('protocol', 0, 'join answer is not JSON');
    }
  });
  if (!join.ok) return;
  sleep(THINK_MS / 1000);
  const grant = join.value;
  if (grant.janus) holdJanus(grant.janus.url, grant.janus.room, who.user);
  else if (grant.signalUrl)
    hold(
      grant.signalUrl,
      null,
      () => undefined,
      (msg) => (msg.type === 'joined' ? 'joined' : msg.type === 'pong' ? 'pong' : null),
      (t) => ({ type: 'ping', t }),
    );
}
`;

const JANUS_JOURNEY = String.raw`
export function journey(): void {
  const who = identity(participant());
  holdJanus(TARGET, 1000 + who.conference, who.user);
}
`;

/** k6's options for a scenario's arrivals: its stages, a VU for everyone under way at once, its objectives, and tags saying what ran. */
export function arrivalOptions(s: ResolvedScenario, seed: number, target: URL, kind: string, schedule: Schedule, tags: Record<string, string> = {}) {
  const perSecond = arrivalsPerSecond(schedule);
  // Every participant that holds stays until the run's end: all of them can be under way at once by the last
  // arrival. k6 starts VUs beyond the pre-allocated ones too slowly for a spike, so every one is allocated up front.
  const underWay = schedule.offsetsMs.length;
  const vus = Math.ceil(underWay * (1 + K6_VU_MARGIN.share)) + K6_VU_MARGIN.plus;
  const options = {
    tags: {
      [K6_RUN_TAGS.scenario]: s.name,
      [K6_RUN_TAGS.scale]: String(s.scale),
      [K6_RUN_TAGS.seed]: String(seed),
      [K6_RUN_TAGS.target]: target.href,
      [K6_RUN_TAGS.kind]: kind,
      // The planned arrivals, so that the import knows what k6 should have sent.
      [K6_RUN_TAGS.planned]: String(schedule.offsetsMs.length),
      ...tags,
    },
    scenarios: {
      arrivals: {
        executor: 'ramping-arrival-rate',
        startRate: 0,
        timeUnit: '1s',
        // Each participant stays until the end: a VU for everyone under way at once, allocated before the start.
        preAllocatedVUs: vus,
        maxVUs: vus,
        stages: k6Stages(perSecond.slice(0, Math.ceil(schedule.endMs / 1000))),
        gracefulStop: '5s',
        exec: 'journey',
      },
    },
    thresholds: thresholds(s),
    summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
  };
  return { options, vus, peak: Math.max(1, ...perSecond) };
}

/** The name of a scenario's TestRun, ConfigMap and files. */
export function k6Name(s: ResolvedScenario): string {
  return `firstbell-${s.name}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 50);
}

/** The k6 script and the TestRun manifest for one scenario, target and seed. */
export function exportK6(o: K6ExportOptions): K6Export {
  const s = o.scenario;
  const schedule = buildSchedule(s, o.seed);
  const { options, vus, peak } = arrivalOptions(s, o.seed, o.target, o.targetKind, schedule);
  const name = k6Name(s);
  const header = `// k6 script exported by firstbell ${VERSION}: scenario ${s.name} at scale ${s.scale}, seed ${o.seed}, ${o.targetKind} target ${o.target.href}.
// ${schedule.offsetsMs.length} participants, peak ${peak} arrivals/s; the first bell is ${schedule.firstBellAtMs / 1000} s after the start.
// ${vus} VUs allocated before the start: every participant holds its connection until the end, so all can be under way at once.
// Run: k6 run --out csv=results.csv script.ts   (k6 >= 0.57); read back: firstbell import k6 results.csv
import http from 'k6/http';
import ws from 'k6/ws';
import exec from 'k6/execution';
import { sleep } from 'k6';
import { Rate, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';

const TARGET = ${JSON.stringify(o.targetKind === 'janus' ? o.target.href : o.target.origin)};
/** Planned end of the run, ms after its start: every participant leaves then. */
const END_MS = ${schedule.endMs};
const HEARTBEAT_MS = ${s.client.heartbeatMs};
const THINK_MS = ${s.client.thinkTimeMs};
/** Participants per conference in the scenario's population. */
const PER_CONFERENCE = ${Math.max(1, s.population.participantsPerConference)};
const STEP_TIMEOUT_MS = ${s.client.stepTimeoutMs};
const STEP_TIMEOUT = '${s.client.stepTimeoutMs}ms';

export const options: Options = ${JSON.stringify(options, null, 2)};
`;
  const script = header + SCRIPT_BODY + (o.targetKind === 'janus' ? JANUS_JOURNEY : REFERENCE_JOURNEY);
  return { script, manifest: testRunManifest(name, o.parallelism, 'script.ts'), name };
}

/** A k6-operator TestRun: the script from a ConfigMap, N runners, each writing its results to a shared volume. */
export function testRunManifest(name: string, parallelism: number, file: string): string {
  return `# k6-operator TestRun for ${name}. First:
#   kubectl create configmap ${name} --from-file=${file}
#   kubectl apply -f testrun.yaml        (needs the PersistentVolumeClaim ${name}-results, ReadWriteMany)
# Then copy /results/*.csv off the volume and: firstbell import k6 results/*.csv
apiVersion: k6.io/v1alpha1
kind: TestRun
metadata:
  name: ${name}
spec:
  parallelism: ${parallelism}
  script:
    configMap:
      name: ${name}
      file: ${file}
  arguments: --out csv=/results/$(POD_NAME).csv --tag testid=${name}
  runner:
    env:
      - name: POD_NAME
        valueFrom:
          fieldRef:
            fieldPath: metadata.name
    volumeMounts:
      - name: results
        mountPath: /results
    volumes:
      - name: results
        persistentVolumeClaim:
          claimName: ${name}-results
`;
}
