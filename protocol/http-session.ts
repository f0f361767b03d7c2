// One participant's HTTP connection and cookies, as a browser would keep them.
import { parseSetCookie, stringifyCookie } from 'cookie';
import type { HttpAnswer, HttpClient, HttpRequestOptions } from '../api/http.js';
import { HttpStatusError } from '../api/errors.js';
import { Http1Connection, headerLines, type ConnectionOptions, type Http1Answer } from './http1.js';

/** Redirects followed at most, with redirect: 'follow'. */
const MAX_REDIRECTS = 10;

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
  /** The owner's signal a request used last: its abort comes by aborted(), not by a listener. */
  private relayed?: AbortSignal;

  /**
   * One connection per participant: 100,000 pupils are 100,000 clients, not one shared pool. Reopened after close(),
   * as a reload would. `ownSignal` gives the signal whose aborts the owner tells by aborted() (a participant's
   * step signal): a request with it adds no listener to it.
   */
  constructor(readonly origin: string, private opts: ConnectionOptions = {}, private ownSignal?: () => AbortSignal | undefined) {}

  request(method: string, path: string, opts: HttpRequestOptions): Promise<HttpAnswer> {
    let sent: Promise<HttpAnswer>;
    try {
      sent = this.once(method, this.pathOf(path), opts);
    } catch (e) {
      // A bad path, an aborted signal or a bad header fails the request as every other fault of it does: the promise rejects.
      return Promise.reject(e);
    }
    // The common case goes straight through: no extra turn of the event loop per request.
    return opts.redirect !== 'follow' && !opts.expect ? sent : this.settle(sent, method, path, opts);
  }

  /** Follows redirects as asked and checks the final status against `expect`. */
  private async settle(sent: Promise<HttpAnswer>, method: string, path: string, opts: HttpRequestOptions): Promise<HttpAnswer> {
    let res = await sent;
    for (let hops = 0; opts.redirect === 'follow' && hops < MAX_REDIRECTS && res.status >= 300 && res.status < 400; hops++) {
      const location = res.headers.location;
      if (typeof location !== 'string') break;
      const next = new URL(location, this.origin + this.pathOf(path));
      // Another origin is another connection: the answer goes back as it came, for the journey to decide.
      if (next.origin !== this.origin) break;
      res = await this.once('GET', next.pathname + next.search, { signal: opts.signal });
    }
    if (opts.expect && !opts.expect.includes(res.status)) throw new HttpStatusError(res.status, `${method} ${path} (expected ${opts.expect.join(' or ')})`);
    return res;
  }

  /** A request path on this origin: a path as it is, or an absolute URL on the same origin. */
  private pathOf(path: string): string {
    if (path.charCodeAt(0) === 47 && !/[\s]/.test(path)) return path;
    let u: URL | undefined;
    try {
      u = new URL(path);
    } catch {
      // Neither a path nor a URL: said below.
    }
    if (u && u.origin === this.origin) return u.pathname + u.search;
    throw new Error(`not a request path: "${path}" (give a path starting with / and without spaces, or a URL on ${this.origin})`);
  }

  /** Sends one request; a fault of it before it goes (an aborted signal, a bad header) is thrown here. */
  private once(method: string, path: string, opts: HttpRequestOptions): Promise<HttpAnswer> {
    let head = 'user-agent: firstbell\r\n' + this.cookieLine;
    let body: string | undefined;
    if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      head += 'content-type: application/x-www-form-urlencoded\r\n';
    } else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      head += 'content-type: application/json\r\n';
    } else if (opts.body !== undefined) body = opts.body;
    if (opts.headers) head += headerLines(opts.headers);
    const signal = opts.signal;
    signal.throwIfAborted();
    // One abort listener per signal (a participant keeps its signal across steps), not one per request; none for
    // the owner's own signal.
    if (signal === this.relayed || signal === this.boundSignal) {
      // Heard already.
    } else if (signal === this.ownSignal?.()) this.relayed = signal;
    else {
      this.boundSignal = signal;
      signal.addEventListener('abort', () => this.conn?.abort(signal.reason), { once: true });
    }
    this.conn ??= new Http1Connection(this.origin, this.opts);
    return this.conn.request(method, path, head, body, false, this.answerOf);
  }

  /** An answer as a journey reads it, the cookies it sets kept: made as it comes, without a promise of its own. */
  private readonly answerOf = (a: Http1Answer): HttpAnswer => {
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
  };

  /** The owner's `signal` aborted with `reason`: the request under way and its connection end, if a request used it. */
  aborted(signal: AbortSignal, reason: unknown): void {
    if (signal === this.relayed) this.conn?.abort(reason);
  }

  /** Value of a cookie the server set, if any. */
  cookie(name: string): string | undefined {
    return this.cookies[name];
  }

  /** A Cookie header value for a WebSocket handshake on the same origin. */
  cookieHeader(): string {
    return stringifyCookie(this.cookies);
  }

  /** Closes the connection; cookies stay, as in a browser. The signal's listener stays too: it ends whichever connection is open. */
  close(): void {
    this.conn?.close();
    this.conn = undefined;
  }
}

