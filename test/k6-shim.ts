// k6's modules as an exported script uses them, stood in by Node.js equivalents, so that the k6 runtime's logic can
// be run against a real server here, where there is no k6 binary. It shows the vu API works; not that k6 runs it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { K6_CSV_HEADER } from './k6-results.js';

/** One metric sample as k6 would write it. */
export interface K6Point {
  metric: string;
  value: number;
  tags: Record<string, string>;
  metadata: Record<string, unknown>;
  timeMs: number;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string | null;
  error: string;
  error_code: number;
}

/** k6's Hasher on Node's Hash: update, then digest. */
function hasher(h: Hash | Hmac) {
  return { update: (d: string) => void h.update(d), digest: (e: 'hex' | 'base64') => h.digest(e) };
}

/** The stand-ins of k6/crypto, k6/data, k6/encoding, k6/execution, k6/http, k6/metrics, k6/timers and k6/websockets for one test run. */
function modules(points: K6Point[], runTags: Record<string, string>) {
  const jars = new AsyncLocalStorage<Map<string, string>>();
  const exec = { scenario: { iterationInTest: 0, startTime: 0 }, vu: { metrics: { metadata: {} as Record<string, unknown> } } };
  class Metric {
    constructor(readonly name: string) {}
    add(value: number | boolean, tags: Record<string, string> = {}): void {
      points.push({ metric: this.name, value: Number(value), tags: { ...runTags, ...tags }, metadata: { ...exec.vu.metrics.metadata }, timeMs: Date.now() });
    }
  }
  const http = {
    async asyncRequest(method: string, url: string, body: string | Record<string, string> | null, params: { headers?: Record<string, string>; timeout?: number; redirects?: number }): Promise<Answer> {
      const jar = jars.getStore()!;
      const headers: Record<string, string> = { ...params.headers };
      if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      let payload: string | undefined;
      if (body !== null && typeof body === 'object') {
        payload = new URLSearchParams(body).toString();
        headers['content-type'] ??= 'application/x-www-form-urlencoded';
      } else payload = body ?? undefined;
      try {
        const res = await fetch(url, { method, headers, body: payload, redirect: 'manual', signal: AbortSignal.timeout(params.timeout ?? 60_000) });
        for (const c of res.headers.getSetCookie()) {
          const [pair] = c.split(';');
          const eq = pair!.indexOf('=');
          jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
        }
        return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text(), error: '', error_code: 0 };
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause;
        return { status: 0, headers: {}, body: null, error: `${cause?.code ?? ''} ${String(e)}`, error_code: 1000 };
      }
    },
    cookieJar() {
      const jar = jars.getStore()!;
      return { cookiesForURL: () => Object.fromEntries([...jar].map(([k, v]) => [k, [v]])) };
    },
  };
  class K6WebSocket {
    onopen?: () => void;
    onmessage?: (e: { data: string }) => void;
    onclose?: () => void;
    onerror?: (e: { error: string }) => void;
    private ws: WebSocket;
    constructor(url: string, _protocols: null, params?: { headers?: Record<string, string> }) {
      // k6 sends a subprotocol as a header; the ws package wants it named as a protocol to accept the answer.
      const { 'Sec-WebSocket-Protocol': protocol, ...headers } = params?.headers ?? {};
      this.ws = new WebSocket(url, protocol ? [protocol] : [], { headers });
      this.ws.on('open', () => this.onopen?.());
      this.ws.on('message', (d) => this.onmessage?.({ data: String(d) }));
      this.ws.on('close', () => this.onclose?.());
      this.ws.on('error', (e) => this.onerror?.({ error: e.message }));
    }
    send(d: string): void {
      this.ws.send(d);
    }
    close(): void {
      this.ws.close();
    }
  }
  return {
    registry: {
      'k6/execution': { default: exec },
      // k6 calls a SharedArray's function once per instance and shares the frozen result; here there is one instance.
      'k6/data': { SharedArray: function SharedArray(_name: string, make: () => unknown[]) { return Object.freeze(make()); } },
      'k6/encoding': { b64decode: (s: string) => { const b = Buffer.from(s, 'base64'); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); } },
      'k6/crypto': { createHash: (a: string) => hasher(createHash(a)), createHMAC: (a: string, key: string) => hasher(createHmac(a, key)) },
      'k6/http': { default: http },
      'k6/metrics': { Trend: Metric, Rate: Metric },
      'k6/timers': { setTimeout, clearTimeout, setInterval, clearInterval },
      'k6/websockets': { WebSocket: K6WebSocket },
    },
    /** The test's start: k6 has every VU's init code run before it. */
    start(): number {
      return (exec.scenario.startTime = Date.now());
    },
    /** Runs iteration `i` (the plan's i-th arrival) with a cookie jar of its own, as a k6 VU's iteration has. */
    iteration<T>(i: number, fn: () => T): T {
      exec.scenario.iterationInTest = i;
      return jars.run(new Map(), fn);
    },
  };
}

/** An exported script's `import … from "k6/…"` lines, bound to the stand-ins instead. */
function bindImports(script: string): string {
  return script.replace(/^import (\w+) from "(k6\/[a-z]+)";$/gm, (_m, name: string, mod: string) => `const ${name} = globalThis.__k6[${JSON.stringify(mod)}].default;`)
    .replace(/^import \{([^}]*)\} from "(k6\/[a-z]+)";$/gm, (_m, names: string, mod: string) => `const {${names.replace(/\bas\b/g, ':')}} = globalThis.__k6[${JSON.stringify(mod)}];`);
}

/**
 * When k6 starts the iterations of the export's arrival-rate stages: each second's arrivals evenly over that second
 * (k6's ramping-arrival-rate at the second's rate), ms from the start.
 */
export function k6Starts(perSecond: readonly number[]): number[] {
  return perSecond.flatMap((n, sec) => Array.from({ length: n }, (_, j) => sec * 1000 + (j * 1000) / n));
}

/**
 * Runs an exported script's participants on the scenario's arrivals (ms from the start), and returns what they
 * recorded as k6 CSV lines carrying the script's run tags.
 */
export async function runScript(script: string, dir: string, arrivalsMs: ArrayLike<number>, runTags: Record<string, string>, env: Record<string, string> = {}): Promise<{ csv: string[]; points: K6Point[] }> {
  const points: K6Point[] = [];
  (globalThis as Record<string, unknown>).__ENV = env;
  const m = modules(points, runTags);
  (globalThis as Record<string, unknown>).__k6 = m.registry;
  const file = join(dir, 'script.mjs');
  writeFileSync(file, bindImports(script));
  const mod = (await import(pathToFileURL(file).href)) as { journey(): Promise<void> };
  const startTime = m.start();
  await Promise.all(Array.from(arrivalsMs, (at, i) => new Promise<void>((resolve, reject) => setTimeout(() => m.iteration(i, () => mod.journey()).then(resolve, reject), Math.max(0, startTime + at - Date.now())))));
  const kv = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `${k}=${String(v)}`).join('&');
  return { points, csv: [K6_CSV_HEADER, ...points.map((p) => [p.metric, Math.floor(p.timeMs / 1000), p.value.toFixed(6), '', '', '', '', '', '', '', '', 'arrivals', '', '', '', '', '', kv(p.tags), kv(p.metadata)].join(','))] };
}
