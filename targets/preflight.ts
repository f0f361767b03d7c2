// A journey's preflight: does the platform answer at all before the start?
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import WebSocket from 'ws';
import type { PreflightSpec } from '../api/journey.js';
import { TargetUnreachableError } from '../api/errors.js';
import { classifyError, describeKind } from '../api/sample.js';

/**
 * Resolves once a connection that `open` makes answers at all (it calls `answered`); an error or the signal first
 * (it calls `failed`) is the target not answering, named by `where`. `close` ends the connection either way.
 */
function answersAtAll(where: string, signal: AbortSignal, open: (answered: () => void, failed: (err: unknown) => void) => { close(): void }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const c = open(
      () => {
        c.close();
        resolve();
      },
      (err) => {
        c.close();
        const kind = signal.aborted ? 'timeout' : classifyError(err);
        reject(new TargetUnreachableError(`target ${where} did not answer before the start: ${describeKind(kind)}`));
      },
    );
  });
}

/**
 * Answers a GET of `path` at all, or says why not. It goes out on Node's own HTTP client, not fetch, whose rules are
 * not firstbell's: any port answers (fetch refuses some, such as 10080 and 6000), and credentials in the URL are sent
 * as Basic authorization. Any answer will do: the head is enough, and the body is not read.
 */
export function preflightHttp(url: URL, path: string, signal: AbortSignal): Promise<void> {
  const u = new URL(path, url);
  return answersAtAll(url.origin, signal, (answered, failed) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      {
        host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || undefined, path: u.pathname + u.search, method: 'GET', signal, agent: false,
        headers: { 'user-agent': 'firstbell' },
        ...(url.username ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` } : {}),
      },
      (res) => (res.destroy(), answered()),
    );
    req.once('error', failed);
    req.end();
    return { close: () => req.destroy() };
  });
}

/** Answers at all: a GET of the URL for http(s), a TCP connection for ws(s). */
export async function preflightAny(url: URL, signal: AbortSignal): Promise<void> {
  if (url.protocol === 'http:' || url.protocol === 'https:') return preflightHttp(url, url.pathname + url.search, signal);
  const port = Number(url.port) || (url.protocol === 'wss:' ? 443 : 80);
  return answersAtAll(url.host, signal, (answered, failed) => {
    const s = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port });
    s.once('error', failed);
    s.once('connect', answered);
    signal.addEventListener('abort', () => failed(signal.reason), { once: true });
    return { close: () => s.destroy() };
  });
}

/** Opens a WebSocket with `protocol` and closes it again: any handshake answer will do. */
function preflightWs(url: URL, protocol: string, signal: AbortSignal): Promise<void> {
  return answersAtAll(url.href, signal, (answered, failed) => {
    const ws = new WebSocket(url, protocol);
    ws.on('error', failed);
    // Any answer to the handshake will do, a 101 whose subprotocol or frames are wrong among them: the run says what was wrong.
    ws.on('upgrade', answered);
    ws.on('unexpected-response', answered);
    ws.on('open', answered);
    signal.addEventListener('abort', () => failed(signal.reason), { once: true });
    return { close: () => ws.terminate() };
  });
}

/** A declared preflight carried out: GET its path (on the origin when it begins with '/', else after the target's own path) over http(s), a WebSocket with its protocol over ws(s), else any answer. */
export function preflightSpec(url: URL, spec: PreflightSpec, signal: AbortSignal): Promise<void> {
  const ws = url.protocol === 'ws:' || url.protocol === 'wss:';
  if (ws && spec.protocol !== undefined) return preflightWs(url, spec.protocol, signal);
  if (!ws && spec.path !== undefined) return preflightHttp(url, spec.path.startsWith('/') ? spec.path : `${url.pathname.replace(/\/+$/, '')}/${spec.path}`, signal);
  return preflightAny(url, signal);
}
