// The errors a journey throws inside a step: each is classified into the step's outcome, by its name (a journey
// module may bring its own copy of these classes).
import { EXIT, FirstbellError } from '../lib/errors.js';

/** An answer that the journey did not expect; carries the status so the sample records it. */
export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(readonly status: number, readonly what: string) {
    super(`${what}: HTTP ${status}`);
  }
}

/** A protocol-level answer that made no sense (no CSRF token, bad JSON, …). */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/**
 * Nothing came back in time: only the generator's clock says so, so a report weighs it against the generator's own
 * health (a stalled generator reads answers late). Thrown by `waitFor` after its `timeoutMs`.
 */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** The target could not be reached before the start (exit code 3). */
export class TargetUnreachableError extends FirstbellError {
  override readonly exitCode: number = EXIT.unreachable;
}
