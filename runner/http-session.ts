// One participant's HTTP connection and cookies, as a browser would keep them.
import { parseSetCookie, stringifyCookie } from 'cookie';
import { Client } from 'undici';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
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

  constructor(readonly origin: string, private opts: { connectTimeoutMs: number; localAddress?: string }) {}

  /** One connection per participant: 100,000 pupils are 100,000 clients, not one shared pool. Reopened after close(), as a reload would. */
  private connection(): Client {
    this.client ??= new Client(this.origin, {
      pipelining: 1,
      connect: { timeout: this.opts.connectTimeoutMs, ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}) },
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
    const res = await this.connection().request({ method, path, headers, body, signal: opts.signal });
    const text = await res.body.text();
    const set = res.headers['set-cookie'];
    for (const line of set === undefined ? [] : Array.isArray(set) ? set : [set]) {
      const c = parseSetCookie(line);
      if (!c.value || (c.maxAge !== undefined && c.maxAge <= 0)) delete this.cookies[c.name];
      else this.cookies[c.name] = c.value;
    }
    return { status: res.statusCode, headers: res.headers, body: text };
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

