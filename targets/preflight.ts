// The built-in targets' preflight: does the platform answer at all before the start?
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { TargetUnreachableError } from '../api/errors.js';
import { classifyError, describeKind } from '../api/sample.js';

/**
 * Answers a GET of `path` at all, or says why not. It goes out on Node's own HTTP client, not fetch, whose rules are
 * not firstbell's: any port answers (fetch refuses some, such as 10080 and 6000), and credentials in the URL are sent
 * as Basic authorization.
 */
export async function preflightHttp(url: URL, path: string, signal: AbortSignal): Promise<void> {
  const u = new URL(path, url);
  try {
    await new Promise<void>((resolve, reject) => {
      const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        {
          host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || undefined, path: u.pathname + u.search, method: 'GET', signal, agent: false,
          headers: { 'user-agent': 'firstbell' },
          ...(url.username ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` } : {}),
        },
        // Any answer will do: the head is enough, and the body is not read.
        (res) => {
          res.destroy();
          resolve();
        },
      );
      req.once('error', reject);
      req.end();
    });
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
