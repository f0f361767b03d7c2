// One step of one participant, and how an attempt's end is classified.
import type { Layer } from '../scenarios/model.js';

/**
 * How an attempt ended. `aborted` means the run stopped it, not the target; `script_error` that the journey's own
 * code failed (a TypeError, an undeclared step, …), not the platform. Two are events, not attempts: `held` (the
 * participant began to hold a connection, with the held step's name), `released` (the connection was lost
 * while held) and `left` (the participant left as planned, its lesson over); a hold the run ends needs no event.
 * `not_allowed`: firstbell refused to connect to an address outside its allow-list (nothing was sent there).
 * `too_large`: an answer (an HTTP body, a WebSocket message) over the limit (`--max-answer`); `ws_protocol`: a
 * WebSocket peer broke the protocol (a bad or masked frame). `generator`: this machine ran out of something the
 * attempt needed (local ports, open files, socket buffers, memory): the generator's failure, never the target's.
 */
/** Default most bytes of one answer (an HTTP body, a WebSocket message) a participant reads: 8 MB (--max-answer). */
export const DEFAULT_MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export const OUTCOMES = ['ok', 'http', 'timeout', 'reset', 'refused', 'dns', 'tls', 'protocol', 'aborted', 'script_error', 'error', 'held', 'released', 'left', 'not_allowed', 'too_large', 'ws_protocol', 'generator'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface Sample {
  /** Participant id from the schedule. */
  user: number;
  layer: Layer;
  /** Step name inside its layer, e.g. "login". */
  step: string;
  /** When the attempt should have started, in ms from the run start. Latency counts from here. */
  intendedMs: number;
  /** When it actually started, in ms from the run start. */
  startMs: number;
  /** When it ended, in ms from the run start. */
  endMs: number;
  outcome: Outcome;
  /**
   * HTTP status where one is known: the answer that failed an `http` attempt, or a k6 request's answer; else 0. A
   * step of a journey that succeeds records 0: it may have made several requests.
   */
  status: number;
  /** With script_error: what the journey's code threw (kept in the series, not in samples.csv); with generator: the system's error code. */
  error?: string;
  /**
   * Where the attempt stands in its participant's journey: 1 for the first step of its layer in this journey (the
   * participant is offered to the layer), 2 for the journey's first step (a new journey, and an entry into its layer).
   */
  entry?: 0 | 1 | 2;
}

/** True for the hold events, which are not attempts. */
export function isHoldEvent(o: Outcome): boolean {
  return o === 'held' || o === 'released' || o === 'left';
}

/** Attempts that got no answer from the target at all: nothing listened, the connection broke, or nothing came back in time. */
export const UNANSWERED: ReadonlySet<Outcome> = new Set<Outcome>(['refused', 'reset', 'timeout', 'dns', 'tls']);

/** Outcomes that are not attempts against the target: the run stopped them, the journey's code or the generator failed, or firstbell refused the address. */
export const NOT_THE_TARGETS: ReadonlySet<Outcome> = new Set<Outcome>(['aborted', 'script_error', 'not_allowed', 'generator']);

/** The failure kind shown to people: "http_503", "timeout", "reset", … */
export function failureKind(outcome: Outcome, status: number): string {
  return outcome === 'http' ? `http_${status}` : outcome;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** A failure kind as a person reads it, e.g. "502 Bad Gateway". */
export function describeKind(kind: string): string {
  const m = /^http_(\d+)$/.exec(kind);
  if (m) return `${m[1]} ${STATUS_TEXT[Number(m[1])] ?? 'HTTP error'}`;
  return (
    {
      timeout: 'no answer in time (timeout)', reset: 'connection reset', refused: 'connection refused', dns: 'name not found (DNS)',
      tls: 'TLS failure', protocol: 'unexpected answer', aborted: 'stopped by the run', script_error: 'error in the journey script', error: 'other error',
      not_allowed: 'address not allowed (refused by firstbell, nothing sent)', generator: "the generator's own failure (out of local ports, files or buffers)",
      too_large: 'answer too large (over --max-answer)', ws_protocol: 'WebSocket protocol violation',
    }[kind] ?? kind
  );
}

/** The machine that sends the load ran out of something: ports, files, buffers, memory. Never the target's doing. */
const LOCAL = new Set(['EADDRNOTAVAIL', 'EADDRINUSE', 'EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_CLOSED']);
const TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Errors of the journey's own code, not of the platform or the network. */
const SCRIPT_ERRORS = new Set(['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError', 'EvalError', 'URIError', 'UndeclaredStepError']);

/** Classifies a thrown error from an HTTP or WebSocket client, or from the journey's own code. */
export function classifyError(err: unknown): Outcome {
  const codes: string[] = [];
  let systemCode = false;
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const o = e as { code?: unknown; name?: unknown; cause?: unknown };
    if (typeof o.code === 'string') {
      codes.push(o.code);
      systemCode = true;
    }
    if (typeof o.name === 'string') codes.push(o.name);
    e = o.cause;
  }
  // A TypeError with no error code under it (fetch's has one in its cause) is the journey's own.
  if (err instanceof Error && SCRIPT_ERRORS.has(err.name) && !systemCode && !(err as { cause?: unknown }).cause) return 'script_error';
  for (const c of codes) {
    if (c === 'FIRSTBELL_NOT_ALLOWED') return 'not_allowed';
    if (c === 'FIRSTBELL_TOO_LARGE' || c === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 'too_large';
    if (c === 'FIRSTBELL_WS_PROTOCOL' || c.startsWith('WS_ERR_')) return 'ws_protocol';
    if (LOCAL.has(c)) return 'generator';
    if (c === 'ECONNREFUSED') return 'refused';
    if (c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'EAI_NONAME') return 'dns';
    if (c.startsWith('ERR_TLS') || c.startsWith('ERR_SSL') || c.includes('CERT') || c === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE') return 'tls';
    if (TIMEOUT.has(c) || c === 'TimeoutError') return 'timeout';
    if (RESET.has(c)) return 'reset';
    // The answer was not HTTP (Node's parser and firstbell's own use these codes).
    if (c.startsWith('HPE_')) return 'protocol';
  }
  return 'error';
}

/**
 * The outcome of a step whose work threw `err`: an unexpected status (HttpStatusError, by name: a journey may bring
 * its own copy of firstbell's error classes), stopped by the run, over the step timeout, a ProtocolError, or the
 * error's kind.
 */
export function stepOutcome(err: unknown, stopped: boolean, timedOut: boolean): { outcome: Outcome; status: number } {
  const e = err as { name?: unknown; status?: unknown } | undefined;
  if (e?.name === 'HttpStatusError' && typeof e.status === 'number') return { outcome: 'http', status: e.status };
  if (stopped) return { outcome: 'aborted', status: 0 };
  if (timedOut) return { outcome: 'timeout', status: 0 };
  if (e?.name === 'ProtocolError') return { outcome: 'protocol', status: 0 };
  return { outcome: classifyError(err), status: 0 };
}

/** An error's name and message, one line, for the report. */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split('\n', 1)[0]!.slice(0, 200);
}
