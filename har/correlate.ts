// Offline correlation: values the platform handed out in an answer (a JSON field, a hidden form field, a meta tag,
// a header, a cookie) that the browser sent back later (in a URL, a body, a header, a WebSocket message) become
// variables taken from that answer; credentials the user typed become columns of the scenario's data.
import { escapeRe, inputFields, metaTags } from '../api/html.js';
import type { Body, Recorded, Recording } from './har.js';

/** How a variable is taken out of its answer. */
export type Extraction =
  | { kind: 'json'; path: string }
  | { kind: 'formField'; name: string }
  | { kind: 'meta'; name: string }
  | { kind: 'attribute'; name: string }
  | { kind: 'header'; name: string }
  | { kind: 'cookie'; name: string }
  | { kind: 'message'; index: number; path: string };

/**
 * A value the journey takes from the answer to request `from`, named `name`; a `message` one from a message received
 * on that request's WebSocket, used by the messages sent after it on the same socket only.
 */
export interface Variable {
  name: string;
  from: number;
  how: Extraction;
  value: string;
  /** A JSON number in its answer: sent back as a number where the recording sent one. */
  numeric: boolean;
  /** Short (2 or 3 characters): followed only where it is a whole path segment or a whole field, never inside text. */
  segment?: boolean;
}

/**
 * A value the user typed (a credential into a form, a room or a name into the page's address): a column of the
 * scenario's data; without one, the participant's test account (`user`, `password`) or the value recorded.
 */
export interface Credential {
  name: string;
  column: string;
  value: string;
  fallback: 'user' | 'password' | 'recorded';
  /** From the page's address: followed only as a whole field or segment, never inside text. */
  segment?: boolean;
}

/** Text with values in it: literal parts and variables. */
export type Parts = (string | { v: string; numeric?: boolean })[];

/** A value the journey knows by the time of a request: a variable or a credential. */
export type Known = { name: string; value: string; numeric?: boolean; segment?: boolean }[];

export interface Correlated {
  recording: Recording;
  variables: Variable[];
  credentials: Credential[];
}

const USER_KEY = /^(user(_?name)?|login|e-?mail|account|benutzer(name)?|name)$/i;
const PASSWORD_KEY = /^(pass(word)?|passwd|pwd|pin|kennwort|passwort)$/i;
const BORING = new Set(['true', 'false', 'null', 'undefined', 'none', 'json', 'text', 'html', 'http', 'https', 'GET', 'POST']);
const RESERVED = new Set(['vu', 'signal', 'res', 'extract', 'ws', 'defineJourney', 'await', 'const', 'let', 'var', 'new', 'this', 'class', 'function', 'return', 'default', 'delete', 'in', 'for', 'if', 'else', 'case', 'switch', 'try', 'catch', 'do', 'while', 'with', 'void', 'typeof', 'instanceof', 'yield', 'import', 'export', 'enum', 'super', 'throw', 'finally', 'continue', 'break', 'debugger', 'null', 'true', 'false']);

/** A value worth following: long enough not to turn up by chance, or short and followed only as a whole segment. */
const worth = (v: string) => v.length >= 2 && !BORING.has(v) && !/\s/.test(v) && !/^\d{1,2}$/.test(v);
const isShort = (v: string) => v.length < 4;
/** Followed only where it is a whole segment or field: short values, and plain words (an "event" is also in "telephone-event"). */
const wholeOnly = (v: string) => isShort(v) || /^[A-Za-z]+$/.test(v);
/** Where a whole-only value counts: a whole path segment or query value, a whole JSON field, or all of a text. */
const segmentRe = (v: string) => new RegExp(`(?<=^|/|=|:|")${escapeRe(v)}(?=/|$|\\?|&|#|"|,|\\}|\\])`, 'g');

/** Keys that say what a message is or which request it answers: its kind, never a value handed out. */
export const DISCRIMINATORS = ['type', 'event', 'janus', 'action', 'op', 'cmd', 'kind', 'method'];
const KIND_KEY = new RegExp(`^(${DISCRIMINATORS.join('|')}|transaction)$`);

const GENERIC = /^(id|uuid|name|value|key|code|ref)$/i;

/** The keys of a JSON path ("rooms[0].id" → rooms, id). */
const keysOf = (path: string) => path.split(/\.|\[\d+\]/).filter(Boolean);
const lastKey = (path: string) => keysOf(path).at(-1) ?? '';

/** A name for the value at a JSON path: its key, with its parent's where the key says little ("user.id" → user_id). */
function keyOf(path: string): string {
  const keys = keysOf(path);
  const last = keys.at(-1) ?? 'value';
  return GENERIC.test(last) && keys.length > 1 ? `${keys.at(-2)}_${last}` : last;
}

/** JSON leaves of a value with their paths ("session.token", "rooms[0].id"). */
export function leaves(value: unknown, path = ''): { path: string; key: string; value: string; numeric: boolean }[] {
  if (typeof value === 'string') return [{ path, key: keyOf(path), value, numeric: false }];
  if (typeof value === 'number' && Number.isInteger(value)) return [{ path, key: keyOf(path), value: String(value), numeric: true }];
  if (Array.isArray(value)) return value.flatMap((x, i) => leaves(x, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, x]) => (/^[A-Za-z_$][\w$-]*$/.test(k) ? leaves(x, path ? `${path}.${k}` : k) : []));
  return [];
}

/** Values an answer hands out, with how to take each out of it. */
function handedOut(r: Recorded): { how: Extraction; value: string; key: string; numeric: boolean }[] {
  const out: { how: Extraction; value: string; key: string; numeric: boolean }[] = [];
  if (/json/i.test(r.answerType) || /^\s*[[{]/.test(r.answer)) {
    try {
      for (const l of leaves(JSON.parse(r.answer))) out.push({ how: { kind: 'json', path: l.path }, value: l.value, key: l.key, numeric: l.numeric });
    } catch {
      // Not JSON: read as HTML below.
    }
  }
  for (const [name, value] of inputFields(r.answer)) out.push({ how: { kind: 'formField', name }, value, key: name, numeric: false });
  for (const [name, value] of metaTags(r.answer)) out.push({ how: { kind: 'meta', name }, value, key: name, numeric: false });
  for (const m of r.answer.matchAll(/\bdata-([a-z][a-z0-9-]*)\s*=\s*"([^"]*)"/gi)) out.push({ how: { kind: 'attribute', name: `data-${m[1]!}` }, value: m[2]!, key: m[1]!, numeric: false });
  for (const [k, v] of r.answerHeaders) {
    if (k === 'set-cookie') {
      const m = /^\s*([^=;\s]+)=([^;]*)/.exec(v);
      if (m) out.push({ how: { kind: 'cookie', name: m[1]! }, value: m[2]!, key: m[1]!, numeric: false });
    } else if (k === 'location') out.push({ how: { kind: 'header', name: k }, value: v, key: 'location', numeric: false });
    else if (/^x-|token|session/i.test(k)) out.push({ how: { kind: 'header', name: k }, value: v, key: k, numeric: false });
  }
  return out.filter((x) => worth(x.value) && (!isShort(x.value) || x.how.kind === 'json' || x.how.kind === 'attribute' || x.how.kind === 'formField'));
}

/** Whether `text` holds `value`: anywhere for a long value, as a whole segment or field for a short one or a word. */
function holds(text: string, value: string, whole = wholeOnly(value)): boolean {
  if (!whole) return text.includes(value) || text.includes(encodeURIComponent(value));
  return text.split('\n').some((line) => line === value || segmentRe(value).test(line));
}

/** Everything a request sent, as text, to find values in. */
function sentText(r: Recorded): string {
  return [r.url, r.path, safeDecode(r.path), ...r.headers.map(([, v]) => v), ...bodyLines(r.body), ...(r.ws ?? []).filter((m) => m.send).flatMap((m) => messageLines(m.data))].join('\n');
}

/** A message as lines to find values in: the whole, and each of its JSON fields' values on a line of its own. */
function messageLines(data: string): string[] {
  return [data, ...leavesOf(data).map((l) => l.value)];
}

/** A body as lines to find values in: each field's value on a line of its own, and the whole. */
function bodyLines(b: Body | undefined): string[] {
  if (!b) return [];
  if (b.kind === 'form') return b.fields.map(([, v]) => v);
  return b.kind === 'json' ? [JSON.stringify(b.value), ...leaves(b.value).map((l) => l.value)] : [b.text];
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A JavaScript identifier from a field name ("csrf_token" → csrfToken), unique among `taken`. */
export function identifier(raw: string, taken: Set<string>): string {
  const words = raw.replace(/([a-z])([A-Z])/g, '$1 $2').split(/[^A-Za-z0-9]+/).filter(Boolean);
  let id = words.map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1).toLowerCase())).join('') || 'value';
  if (/^\d/.test(id)) id = `v${id}`;
  let name = id;
  for (let k = 2; taken.has(name) || RESERVED.has(name); k++) name = `${id}${k}`;
  taken.add(name);
  return name;
}

/** The credentials typed into the recording's bodies: user and password fields the platform did not hand out. */
function credentialsOf(requests: Recorded[], taken: Set<string>): Credential[] {
  const found = new Map<string, Credential>();
  for (const r of requests) {
    const fields = r.body?.kind === 'form' ? r.body.fields.map(([key, value]) => ({ key, value })) : r.body?.kind === 'json' ? leaves(r.body.value).filter((l) => !l.numeric) : [];
    for (const { key, value } of fields) {
      const fallback = PASSWORD_KEY.test(key) ? 'password' : USER_KEY.test(key) ? 'user' : undefined;
      if (!fallback || !value || found.has(key)) continue;
      found.set(key, { name: identifier(key, taken), column: key, value, fallback });
    }
  }
  return [...found.values()];
}

/**
 * Values in the address of a page the browser loaded (`?room=4711&name=pupil-1`) that later requests sent again, and
 * that no answer before it handed out: what the user typed or followed a link with, for the scenario's data to vary.
 */
function pageValues(requests: Recorded[], typed: Set<string>, taken: Set<string>): Credential[] {
  const out: Credential[] = [];
  requests.forEach((r, i) => {
    if (r.method !== 'GET' || r.ws || !/text\/html/i.test(r.answerType)) return;
    const before = requests.slice(0, i).map((x) => x.answer).join('\n');
    const later = requests.slice(i + 1).map(sentText);
    for (const [key, value] of new URL(r.url).searchParams) {
      if (!worth(value) || typed.has(value) || before.includes(value) || out.some((c) => c.column === key || c.value === value)) continue;
      if (!later.some((t) => holds(t, value, true))) continue;
      out.push({ name: identifier(key, taken), column: key, value, fallback: USER_KEY.test(key) ? 'user' : 'recorded', segment: true });
    }
  });
  return out;
}

/** The recording correlated: the values the platform handed out and got back, and the values the user typed. */
export function correlate(recording: Recording): Correlated {
  const taken = new Set<string>();
  const typedIn = credentialsOf(recording.requests, taken);
  const credentials = [...typedIn, ...pageValues(recording.requests, new Set(typedIn.map((c) => c.value)), taken)];
  const typed = new Set(credentials.map((c) => c.value));
  const variables: Variable[] = [];
  const sent = recording.requests.map(sentText);
  recording.requests.forEach((r, i) => {
    if (r.ws) variables.push(...socketValues(r, i, sent.slice(0, i).join('\n'), typed, taken));
    for (const h of handedOut(r)) {
      // Known before the platform handed it out (typed, or a constant of the page): not the platform's to hand out.
      if (typed.has(h.value) || sent.slice(0, i + 1).some((t) => holds(t, h.value))) continue;
      if (!sent.slice(i + 1).some((t) => holds(t, h.value))) continue;
      // The same value handed out again later (a renewed token is another value): the first answer that gave it.
      if (variables.some((v) => v.value === h.value)) continue;
      // A cookie goes back by itself in the Cookie header; it is a variable only where the page copies it elsewhere.
      variables.push({ name: identifier(h.key, taken), from: i, how: h.how, value: h.value, numeric: h.numeric, ...(wholeOnly(h.value) ? { segment: true } : {}) });
    }
  });
  return { recording, variables, credentials };
}

/**
 * Values a WebSocket's own messages hand out (a Janus session's id, a handle's) that a message sent later on the same
 * socket carries back: JSON fields of the message that first had them, unknown before (`before`: what was sent
 * earlier, the typed credentials), but for the fields that say what a message is. Each is named by its key, or by
 * the key it is sent back under where its own says little (`data.id` sent back as `session_id`: sessionId).
 */
function socketValues(r: Recorded, from: number, before: string, typed: Set<string>, taken: Set<string>): Variable[] {
  const msgs = r.ws ?? [];
  // Each message's fields, and its text with them a line each, read once.
  const fields = msgs.map((m) => leavesOf(m.data));
  const lines = msgs.map((m, i) => [m.data, ...fields[i]!.map((l) => l.value)].join('\n'));
  const sentFrom = (a: number, b?: number) => msgs.map((_, i) => i).slice(a, b).filter((i) => msgs[i]!.send);
  const out: Variable[] = [];
  msgs.forEach((m, k) => {
    if (m.send) return;
    const earlier = before + sentFrom(0, k).map((i) => msgs[i]!.data).join('\n');
    const later = sentFrom(k + 1);
    const laterText = later.map((i) => lines[i]).join('\n');
    for (const l of fields[k]!) {
      if (KIND_KEY.test(lastKey(l.path)) || isShort(l.value) || !worth(l.value) || typed.has(l.value) || earlier.includes(l.value) || !holds(laterText, l.value)) continue;
      if (out.some((v) => v.value === l.value)) continue;
      const sentAs = later.flatMap((i) => fields[i]!).find((x) => x.value === l.value)?.key;
      const key = GENERIC.test(lastKey(l.path)) && sentAs && !GENERIC.test(sentAs) ? sentAs : l.key;
      out.push({ name: identifier(key, taken), from, how: { kind: 'message', index: k, path: l.path }, value: l.value, numeric: l.numeric });
    }
  });
  return out;
}

/** A message's JSON leaves; none for a message that is not JSON. */
function leavesOf(data: string): ReturnType<typeof leaves> {
  try {
    return leaves(JSON.parse(data));
  } catch {
    return [];
  }
}

/** `text` with the values of `known` (longest first) cut out as parts, in plain or in URL-encoded form. */
export function partsOf(text: string, known: Known): Parts {
  let parts: Parts = [text];
  for (const k of [...known].sort((a, b) => b.value.length - a.value.length)) {
    if (k.segment || wholeOnly(k.value)) {
      // A short value: all of the text, or whole segments of it.
      parts = parts.flatMap((p) => (typeof p !== 'string' ? [p] : p === k.value ? [{ v: k.name }] : splitOn(p, segmentRe(k.value), k.name)));
      continue;
    }
    for (const form of new Set([k.value, encodeURIComponent(k.value)])) {
      parts = parts.flatMap((p) => (typeof p !== 'string' ? [p] : splitOn(p, new RegExp(escapeRe(form), 'g'), form === k.value ? k.name : `encodeURIComponent(${k.name})`)));
    }
  }
  return parts;
}

/** `text` cut at each match of `re`, the matches replaced by the variable `v`. */
function splitOn(text: string, re: RegExp, v: string): Parts {
  const out: Parts = [];
  let at = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push({ v });
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}
