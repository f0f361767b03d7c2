// What a journey sees of a participant's HTTP connection: any method, bodies and headers, cookies kept, redirects on request.

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
