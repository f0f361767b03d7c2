// One participant's HTTP connection and cookies, as a browser would keep them.
import { parseSetCookie, stringifyCookie } from 'cookie';
import type { HttpAnswer, HttpClient, HttpRequestOptions } from '../api/http.js';
import { Http1Connection, headerLines } from './http1.js';


/** An answer with its headers as they came; parsed into `headers` only when a journey reads them. */
class RawAnswer implements HttpAnswer {
  private parsed?: HttpAnswer['headers'];
  constructor(readonly status: number, readonly raw: string[], readonly body: string) {}

  get headers(): HttpAnswer['headers'] {
    if (!this.parsed) {
      const h: Record<string, string | string[]> = {};
      for (let i = 0; i < this.raw.length; i += 2) {
        const k = this.raw[i]!.toLowerCase();
        const v = this.raw[i + 1]!;
        const had = h[k];
        h[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
      }
      this.parsed = h;
    }
    return this.parsed;
  }
}

export class HttpSession implements HttpClient {
  private conn?: Http1Connection;
  private cookies: Record<string, string> = {};
  private cookieLine = '';
  private boundSignal?: AbortSignal;

  /** One connection per participant: 100,000 pupils are 100,000 clients, not one shared pool. Reopened after close(), as a reload would. */
  constructor(readonly origin: string, private opts: { localAddress?: string } = {}) {}

  async request(method: 'GET' | 'POST', path: string, opts: HttpRequestOptions): Promise<HttpAnswer> {
    if (path.charCodeAt(0) !== 47 || /[\s]/.test(path)) throw new Error(`not a request path: "${path}" (it must start with / and have no spaces)`);
    let head = 'user-agent: firstbell\r\n' + this.cookieLine;
    let body: string | undefined;
    if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      head += 'content-type: application/x-www-form-urlencoded\r\n';
    } else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      head += 'content-type: application/json\r\n';
    }
    if (opts.headers) head += headerLines(opts.headers);
    const signal = opts.signal;
    signal.throwIfAborted();
    // One abort listener per signal (a participant keeps its signal across steps), not one per request.
    if (this.boundSignal !== signal) {
      this.boundSignal = signal;
      signal.addEventListener('abort', () => this.conn?.abort(signal.reason), { once: true });
    }
    this.conn ??= new Http1Connection(new URL(this.origin), this.opts);
    const a = await this.conn.request(method, path, head, body);
    let cookiesChanged = false;
    for (let i = 0; i < a.raw.length; i += 2) {
      // Only set-cookie is read on every answer; the rest are parsed when a journey asks for them.
      if (a.raw[i]!.length !== 10 || a.raw[i]!.toLowerCase() !== 'set-cookie') continue;
      const c = parseSetCookie(a.raw[i + 1]!);
      if (!c.value || (c.maxAge !== undefined && c.maxAge <= 0)) delete this.cookies[c.name];
      else this.cookies[c.name] = c.value;
      cookiesChanged = true;
    }
    if (cookiesChanged) {
      const line = stringifyCookie(this.cookies);
      this.cookieLine = line ? 'cookie: ' + line + '\r\n' : '';
    }
    return new RawAnswer(a.status, a.raw, a.body.length === 1 ? a.body[0]!.toString() : Buffer.concat(a.body).toString());
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
  close(): void {
    this.conn?.close();
    this.conn = undefined;
    this.boundSignal = undefined;
  }
}

