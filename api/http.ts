// What a journey sees of HTTP: a participant's connection (any method, bodies and headers, cookies kept, redirects on
// request), values taken out of its answers (each fails the step with a clear message when the value is not there), and
// links on the target as request paths.
import { ProtocolError } from './errors.js';
import { inputFields, metaTags } from './html.js';

export interface HttpAnswer {
  status: number;
  /** Header names in lower case; a repeated header is an array. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpRequestOptions {
  /** A form body (application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  /** A JSON body. */
  json?: unknown;
  /** A body as it is; give its content-type in `headers`. */
  body?: string;
  headers?: Record<string, string>;
  /** The step's signal: aborting it ends the request. */
  signal: AbortSignal;
  /**
   * Statuses this request should answer with: any other fails the step as that status (an HttpStatusError), so
   * that an expected 401 is a success and an unexpected 200 a failure. Default: every status is returned as it is.
   */
  expect?: readonly number[];
  /** 'follow': an answer 3xx with a Location on the same origin is followed with a GET (at most 10 times). Default 'manual'. */
  redirect?: 'follow' | 'manual';
}

/** One participant's HTTP connection to the target's origin, with its cookies, as a browser keeps them. */
export interface HttpClient {
  /** `path` starts with / (or is an absolute URL on the target's origin). */
  request(method: string, path: string, opts: HttpRequestOptions): Promise<HttpAnswer>;
  /** Value of a cookie the server set, if any. */
  cookie(name: string): string | undefined;
  /** A Cookie header value for a WebSocket handshake on the same origin. */
  cookieHeader(): string;
  /** Closes the connection; cookies stay, as in a browser. */
  close(): void;
}

/** A link (absolute, or relative to the path `from`) as a request path on `origin`; undefined on another. Without the URL class, for k6. */
export function pathOnOrigin(link: string, origin: string, from = '/'): string | undefined {
  const abs = /^(?:([a-z][a-z0-9+.-]*:))?\/\/[^/?#]*/i.exec(link);
  let path = link;
  if (abs) {
    const at = abs[1] ? abs[0] : origin.slice(0, origin.indexOf(':') + 1) + abs[0];
    if (at.toLowerCase() !== origin.toLowerCase()) return undefined;
    path = link.slice(abs[0].length) || '/';
  } else if (!link.startsWith('/')) {
    const dir = from.replace(/[?#].*$/, '');
    path = link.startsWith('?') ? dir + link : dir.replace(/[^/]*$/, '') + link;
  }
  return path.replace(/#.*$/, '');
}

/** The first capture group of `re` in `text` (or the whole match without a group). */
function regex(text: string, re: RegExp, what = `a match of ${re}`): string {
  const m = re.exec(text);
  const v = m?.[1] ?? m?.[0];
  if (v === undefined) throw new ProtocolError(`no ${what} in the answer`);
  return v;
}

/** A value in a JSON text or object at a path like `session.token` or `rooms[0].id`. */
function json(body: string | unknown, path: string, what = path): unknown {
  let v: unknown;
  if (typeof body === 'string') {
    try {
      v = JSON.parse(body);
    } catch {
      throw new ProtocolError(`the answer is not JSON, so it has no ${what}`);
    }
  } else v = body;
  for (const key of path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '')) {
    if (v === null || typeof v !== 'object' || !(key in (v as object))) throw new ProtocolError(`no ${what} in the answer (nothing at ${path})`);
    v = (v as Record<string, unknown>)[key];
  }
  if (v === undefined || v === null) throw new ProtocolError(`no ${what} in the answer (nothing at ${path})`);
  return v;
}

/** The value of an HTML form field (`<input name="…" value="…">`), its attributes in any order. */
function formField(html: string, name: string): string {
  const field = inputFields(html).find(([n]) => n.toLowerCase() === name.toLowerCase());
  if (!field) throw new ProtocolError(`no form field "${name}" in the answer`);
  return field[1];
}

/** The content of an HTML meta tag (`<meta name="…" content="…">`), its attributes in any order. */
function meta(html: string, name: string): string {
  const tag = metaTags(html).find(([n]) => n.toLowerCase() === name.toLowerCase());
  if (!tag) throw new ProtocolError(`no meta tag "${name}" in the answer`);
  return tag[1];
}

/** Extraction helpers for use inside a step. */
export const extract = { regex, json, formField, meta };
