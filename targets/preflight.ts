// The built-in targets' preflight: does the platform answer at all before the start?
import { connect } from 'node:net';
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

/** Answers at all: a GET of the URL for http(s), a TCP connection for ws(s). */
export async function preflightAny(url: URL, signal: AbortSignal): Promise<void> {
  if (url.protocol === 'http:' || url.protocol === 'https:') return preflightHttp(url, url.pathname + url.search, signal);
  const port = Number(url.port) || (url.protocol === 'wss:' ? 443 : 80);
  await new Promise<void>((resolve, reject) => {
    const s = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port });
    const fail = (err: unknown) => {
      s.destroy();
      const kind = signal.aborted ? 'timeout' : classifyError(err);
      reject(new TargetUnreachableError(`target ${url.host} did not answer before the start: ${describeKind(kind)}`));
    };
    signal.addEventListener('abort', () => fail(signal.reason), { once: true });
    s.once('error', fail);
    s.once('connect', () => {
      s.end();
      resolve();
    });
  });
}
