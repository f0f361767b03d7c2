// A HAR recording (Chromium's developer tools, or any tool that writes HAR 1.2) read into the requests a journey
// makes: the platform's own requests in order, static assets and other hosts left out, WebSocket messages kept.
import { readFileSync } from 'node:fs';
import { FirstbellError } from '../lib/errors.js';
import { minOf } from '../lib/numbers.js';

export class HarError extends FirstbellError {}

interface HarHeader {
  name: string;
  value: string;
}

/** The part of a HAR 1.2 entry the importer reads. */
export interface HarEntry {
  startedDateTime?: string;
  time?: number;
  request: { method: string; url: string; headers?: HarHeader[]; postData?: { mimeType?: string; text?: string; params?: { name: string; value?: string }[] } };
  response: { status: number; headers?: HarHeader[]; content?: { mimeType?: string; text?: string; encoding?: string }; redirectURL?: string };
  _resourceType?: string;
  _webSocketMessages?: { type: 'send' | 'receive'; time: number; opcode: number; data: string }[];
}

/** A request body as the journey sends it. */
export type Body = { kind: 'form'; fields: [string, string][] } | { kind: 'json'; value: unknown } | { kind: 'text'; text: string; contentType: string };

/** One request of the platform's, as recorded. */
export interface Recorded {
  method: string;
  /** The URL as the browser asked for it, and its path and query on the platform's origin. */
  url: string;
  path: string;
  /** Headers a browser's request carried that the journey should send too (custom x-*, authorization). */
  headers: [string, string][];
  body?: Body;
  status: number;
  /** The answer's text (base64 answers decoded) and headers (names in lower case). */
  answer: string;
  answerHeaders: [string, string][];
  /** The answer's media type, as recorded (its content's, else its Content-Type header). */
  answerType: string;
  startMs: number;
  endMs: number;
  /** For a WebSocket: its messages in order, and the subprotocol the browser asked for (janus-protocol). */
  ws?: { send: boolean; data: string }[];
  wsProtocol?: string;
}

/** What the recording holds, and what was left out of it and why. */
export interface Recording {
  origin: string;
  requests: Recorded[];
  /** "12 static assets (.css, .js, .png)", "3 requests to fonts.example.org": in words, for the journey's comment. */
  left: string[];
}

const STATIC_TYPES = new Set(['stylesheet', 'script', 'image', 'font', 'media', 'manifest', 'texttrack', 'ping', 'preflight', 'other']);
const STATIC_EXT = /\.(css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|avif|woff2?|ttf|otf|eot|mp4|webm|mp3|ogg|wasm)$/i;
const STATIC_MIME = /^(image|font|audio|video)\/|^text\/css|javascript/i;
/** Headers a browser sends by itself, or that firstbell's client sets: never copied into the journey. */
const OWN_HEADERS = /^(:|cookie$|host$|content-length$|content-type$|user-agent$|accept|sec-|origin$|referer$|connection$|pragma$|cache-control$|upgrade|priority$|dnt$|te$|keep-alive$|if-)/i;

/** Reads a HAR file; a file that is not one is named with what is wrong. */
export function readHar(file: string): HarEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new HarError(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let har: unknown;
  try {
    har = JSON.parse(text);
  } catch (e) {
    throw new HarError(`${file}: not a HAR file: it is not JSON (${(e as Error).message}). Save it from the browser's developer tools (Network → Export HAR).`);
  }
  const entries = (har as { log?: { entries?: unknown } })?.log?.entries;
  if (!Array.isArray(entries)) throw new HarError(`${file}: not a HAR file: it has no log.entries list. Save it from the browser's developer tools (Network → Export HAR).`);
  entries.forEach((e: HarEntry, i) => {
    const where = `${file}: log.entries[${i}]`;
    if (typeof e?.request?.url !== 'string' || typeof e.request.method !== 'string') throw new HarError(`${where} has no request.method and request.url`);
    if (!URL.canParse(e.request.url)) throw new HarError(`${where}: request.url ${JSON.stringify(e.request.url.slice(0, 100))} is not a URL`);
    if (typeof e.response?.status !== 'number') throw new HarError(`${where} has no response.status`);
  });
  return entries as HarEntry[];
}

const isWs = (e: HarEntry) => e._resourceType === 'websocket' || /^wss?:/i.test(e.request.url) || Array.isArray(e._webSocketMessages);
const httpOrigin = (u: URL) => `${u.protocol.replace(/^ws/, 'http')}//${u.host}`;
const header = (hs: HarHeader[] | undefined, name: string) => hs?.find((h) => h.name.toLowerCase() === name)?.value;

function isStatic(e: HarEntry, u: URL): boolean {
  if (e.request.method === 'OPTIONS') return true;
  if (e._resourceType && STATIC_TYPES.has(e._resourceType) && !isWs(e)) return e._resourceType !== 'other' || STATIC_EXT.test(u.pathname);
  return STATIC_EXT.test(u.pathname) || STATIC_MIME.test(e.response.content?.mimeType ?? '');
}

/** The platform's origin: `given`, else the first page the browser loaded (or the first request). */
function originOf(entries: HarEntry[], given?: string): string {
  if (given) return httpOrigin(new URL(given));
  const page = entries.find((e) => e._resourceType === 'document' || /text\/html/i.test(e.response.content?.mimeType ?? '')) ?? entries.find((e) => !isWs(e)) ?? entries[0];
  if (!page) throw new HarError('the recording has no requests');
  return httpOrigin(new URL(page.request.url));
}

function bodyOf(e: HarEntry): Body | undefined {
  const p = e.request.postData;
  if (!p || (p.text === undefined && !p.params?.length)) return undefined;
  const type = p.mimeType ?? header(e.request.headers, 'content-type') ?? '';
  if (/x-www-form-urlencoded/i.test(type)) {
    const fields: [string, string][] = p.params?.length ? p.params.map((x) => [decodeForm(x.name), decodeForm(x.value ?? '')]) : [...new URLSearchParams(p.text ?? '')];
    return { kind: 'form', fields };
  }
  if (/json/i.test(type)) {
    // Some recorders (chrome-har) give a JSON body as its top-level fields only: an object of them.
    if (p.text === undefined) return { kind: 'json', value: Object.fromEntries(p.params!.map((x) => [x.name, x.value ?? ''])) };
    try {
      return { kind: 'json', value: JSON.parse(p.text) };
    } catch {
      // Not JSON after all: sent as it is.
    }
  }
  return { kind: 'text', text: p.text ?? '', contentType: type || 'text/plain' };
}

/** HAR params are as sent, percent-encoded by some browsers and not by others. */
function decodeForm(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

const ms = (e: HarEntry) => (e.startedDateTime ? Date.parse(e.startedDateTime) : NaN);

/** The platform's requests of a recording in order, with what was left out. */
export function recordingOf(entries: HarEntry[], opts: { origin?: string } = {}): Recording {
  const origin = originOf(entries, opts.origin);
  const requests: Recorded[] = [];
  const statics = new Map<string, number>();
  const others = new Map<string, number>();
  const t0 = minOf(entries.map(ms).filter(Number.isFinite));
  for (const e of entries) {
    const u = new URL(e.request.url);
    if (httpOrigin(u) !== origin) {
      others.set(u.host, (others.get(u.host) ?? 0) + 1);
      continue;
    }
    if (!isWs(e) && isStatic(e, u)) {
      const ext = /\.([a-z0-9]+)$/i.exec(u.pathname)?.[1]?.toLowerCase() ?? e._resourceType ?? 'other';
      statics.set(ext, (statics.get(ext) ?? 0) + 1);
      continue;
    }
    const start = Number.isFinite(ms(e)) && Number.isFinite(t0) ? ms(e) - t0 : 0;
    const content = e.response.content;
    requests.push({
      method: isWs(e) ? 'GET' : e.request.method.toUpperCase(),
      url: e.request.url,
      path: u.pathname + u.search,
      // A header recorded twice (the request and its extra info) is sent once.
      headers: [...new Map((e.request.headers ?? []).filter((h) => !OWN_HEADERS.test(h.name)).map((h) => [h.name.toLowerCase(), h.value] as [string, string]))],
      ...(isWs(e) ? {} : { body: bodyOf(e) }),
      status: e.response.status,
      answer: content?.text ? (content.encoding === 'base64' ? Buffer.from(content.text, 'base64').toString('utf8') : content.text) : '',
      answerHeaders: (e.response.headers ?? []).map((h) => [h.name.toLowerCase(), h.value]),
      answerType: content?.mimeType || header(e.response.headers, 'content-type') || '',
      startMs: start,
      endMs: start + Math.max(0, e.time ?? 0),
      ...(isWs(e) ? { ws: (e._webSocketMessages ?? []).filter((m) => m.opcode === 1).map((m) => ({ send: m.type === 'send', data: m.data })) } : {}),
      ...(isWs(e) && header(e.request.headers, 'sec-websocket-protocol') ? { wsProtocol: header(e.request.headers, 'sec-websocket-protocol')!.split(',')[0]!.trim() } : {}),
    });
  }
  const left: string[] = [];
  const count = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  if (statics.size) left.push(`${count(statics)} static asset${count(statics) === 1 ? '' : 's'} (${[...statics.keys()].sort().join(', ')})`);
  for (const [host, n] of [...others].sort((a, b) => b[1] - a[1])) left.push(`${n} request${n === 1 ? '' : 's'} to ${host}`);
  if (!requests.length) throw new HarError(`the recording has no requests to ${origin} but static assets: record the login and the join with the Network panel open (or give --origin)`);
  return { origin, requests, left };
}
