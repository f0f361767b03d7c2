// One participant's HTTP connection and cookies, as a browser would keep them.
import { parseSetCookie, stringifyCookie } from 'cookie';
import { Client } from 'undici';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An answer with its headers as they came; parsed into `headers` only when a journey reads them. */
class RawAnswer implements HttpAnswer {
  private parsed?: HttpAnswer['headers'];
  constructor(readonly status: number, readonly raw: Buffer[], readonly body: string) {}

  get headers(): HttpAnswer['headers'] {
    if (!this.parsed) {
      const h: Record<string, string | string[]> = {};
      for (let i = 0; i < this.raw.length; i += 2) {
        const k = this.raw[i]!.toString('latin1').toLowerCase();
        const v = this.raw[i + 1]!.toString('latin1');
        const had = h[k];
        h[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
      }
      this.parsed = h;
    }
    return this.parsed;
  }
}

/** An answer that the journey did not expect; carries the status so the sample records it. */
export class HttpStatusError extends Error {
  constructor(readonly status: number, readonly what: string) {
    super(`${what}: HTTP ${status}`);
  }
}

/** A protocol-level answer that made no sense (no CSRF token, bad JSON, …). */
export class ProtocolError extends Error {}

export class HttpSession {
  private client?: Client;
  private cookies: Record<string, string> = {};
  private boundSignal?: AbortSignal;
  private abortCurrent?: (reason: unknown) => void;

  constructor(readonly origin: string, private opts: { connectTimeoutMs: number; localAddress?: string }) {}

  /** One connection per participant: 100,000 pupils are 100,000 clients, not one shared pool. Reopened after close(), as a reload would. */
  private connection(): Client {
    this.client ??= new Client(this.origin, {
      pipelining: 1,
      connect: { timeout: this.opts.connectTimeoutMs },
      ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}),
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    return this.client;
  }

  async request(
    method: 'GET' | 'POST',
    path: string,
    opts: { form?: Record<string, string>; json?: unknown; headers?: Record<string, string>; signal: AbortSignal },
  ): Promise<HttpAnswer> {
    const headers: Record<string, string> = { 'user-agent': 'firstbell', ...opts.headers };
    const cookie = stringifyCookie(this.cookies);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    }
    const res = await this.dispatch(method, path, headers, body, opts.signal);
    for (let i = 0; i < res.raw.length; i += 2) {
      // Only set-cookie is read on every answer; the rest are parsed when a journey asks for them.
      if (res.raw[i]!.length !== 10 || res.raw[i]!.toString('latin1').toLowerCase() !== 'set-cookie') continue;
      const c = parseSetCookie(res.raw[i + 1]!.toString('latin1'));
      if (!c.value || (c.maxAge !== undefined && c.maxAge <= 0)) delete this.cookies[c.name];
      else this.cookies[c.name] = c.value;
    }
    return res;
  }

  /** One request through undici's dispatcher: the answer collected whole, without a stream per response. */
  private dispatch(method: string, path: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      let status = 0;
      let raw: Buffer[] = [];
      const chunks: Buffer[] = [];
      // One abort listener per signal (a participant keeps its signal across steps), not one per request.
      if (this.boundSignal !== signal) {
        this.boundSignal = signal;
        signal.addEventListener('abort', () => this.abortCurrent?.(signal.reason), { once: true });
      }
      let settled = false;
      const done = () => {
        settled = true;
        this.abortCurrent = undefined;
      };
      const asError = (reason: unknown) => (reason instanceof Error ? reason : new Error(String(reason)));
      // Until the request is on a connection, an abort ends the wait at once; the request is dropped when it would start.
      this.abortCurrent = (reason) => {
        done();
        reject(reason);
      };
      this.connection().dispatch(
        { origin: this.origin, method, path, headers, body: body ?? null },
        {
          onConnect: (abort) => {
            if (settled) return abort(new Error('aborted before it started'));
            this.abortCurrent = (reason) => abort(asError(reason));
          },
          onHeaders: (statusCode, h) => {
            status = statusCode;
            raw = h;
            return true;
          },
          onData: (chunk) => chunks.push(chunk) > 0,
          onComplete: () => {
            if (settled) return;
            done();
            resolve(new RawAnswer(status, raw, chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString()));
          },
          onError: (err) => {
            if (settled) return;
            done();
            reject(signal.aborted ? signal.reason : err);
          },
        },
      );
    });
  }

  /** Value of a cookie the server set, if any. */
  cookie(name: string): string | undefined {
    return this.cookies[name];
  }

  /** A Cookie header value for a WebSocket handshake on the same origin. */
  cookieHeader(): string {
    return stringifyCookie(this.cookies);
  }

  /** Closes the connection; cookies stay, as in a browser. */
  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.destroy().catch(() => undefined);
  }
}

