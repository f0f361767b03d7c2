// Values taken out of answers inside a step: each fails the step with a clear message when the value is not there.
import { ProtocolError } from './errors.js';

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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
  const n = escapeRe(name);
  for (const tag of html.match(/<input\b[^>]*>/gi) ?? []) {
    if (!new RegExp(`\\bname\\s*=\\s*["']${n}["']`, 'i').test(tag)) continue;
    const v = /\bvalue\s*=\s*"([^"]*)"|\bvalue\s*=\s*'([^']*)'/i.exec(tag);
    if (v) return v[1] ?? v[2] ?? '';
  }
  throw new ProtocolError(`no form field "${name}" in the answer`);
}

/** The content of an HTML meta tag (`<meta name="…" content="…">`), its attributes in any order. */
function meta(html: string, name: string): string {
  const n = escapeRe(name);
  for (const tag of html.match(/<meta\b[^>]*>/gi) ?? []) {
    if (!new RegExp(`\\b(name|property)\\s*=\\s*["']${n}["']`, 'i').test(tag)) continue;
    const v = /\bcontent\s*=\s*"([^"]*)"|\bcontent\s*=\s*'([^']*)'/i.exec(tag);
    if (v) return v[1] ?? v[2] ?? '';
  }
  throw new ProtocolError(`no meta tag "${name}" in the answer`);
}

/** Extraction helpers for use inside a step. */
export const extract = { regex, json, formField, meta };
