// What a journey sees of a participant's HTTP connection: requests with bodies and headers, cookies kept.

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
  headers?: Record<string, string>;
  /** The step's signal: aborting it ends the request. */
  signal: AbortSignal;
}

/** One participant's HTTP connection to the target's origin, with its cookies, as a browser keeps them. */
export interface HttpClient {
  /** `path` starts with / and is relative to the target's origin. */
  request(method: 'GET' | 'POST', path: string, opts: HttpRequestOptions): Promise<HttpAnswer>;
  /** Value of a cookie the server set, if any. */
  cookie(name: string): string | undefined;
  /** A Cookie header value for a WebSocket handshake on the same origin. */
  cookieHeader(): string;
  /** Closes the connection; cookies stay, as in a browser. */
  close(): void;
}
