// The built-in targets' preflight: does the platform answer at all before the start?
import { TargetUnreachableError } from '../api/errors.js';
import { classifyError, describeKind } from '../api/sample.js';

/** Answers a GET of `path` at all, or says why not. */
export async function preflightHttp(url: URL, path: string, signal: AbortSignal): Promise<void> {
  try {
    const res = await fetch(new URL(path, url), { signal, redirect: 'manual' });
    await res.body?.cancel();
  } catch (err) {
    const kind = signal.aborted ? 'timeout' : classifyError(err);
    throw new TargetUnreachableError(`target ${url.origin} did not answer before the start: ${describeKind(kind)}`);
  }
}
