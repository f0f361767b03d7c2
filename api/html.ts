// Reading an HTML answer without a DOM (and without the URL class, for k6): its form fields and meta tags.

/** `s` with every character a regular expression gives a meaning escaped. */
export const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A quoted attribute's value in a tag (`value="…"` or `value='…'`), if it has one. */
function attribute(tag: string, name: string): string | undefined {
  const v = new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"|\\b${name}\\s*=\\s*'([^']*)'`, 'i').exec(tag);
  return v ? (v[1] ?? v[2] ?? '') : undefined;
}

/** Each `<input name="…" value="…">` of an HTML text with both, in order: its name and value, attributes in any order. */
export function inputFields(html: string): [string, string][] {
  const out: [string, string][] = [];
  for (const tag of html.match(/<input\b[^>]*>/gi) ?? []) {
    const name = /\bname\s*=\s*["']([^"']+)["']/i.exec(tag)?.[1];
    const value = attribute(tag, 'value');
    if (name !== undefined && value !== undefined) out.push([name, value]);
  }
  return out;
}

/** Each `<meta name|property="…" content="…">` of an HTML text, in order: a name (each of both, when it has both) and its content. */
export function metaTags(html: string): [string, string][] {
  const out: [string, string][] = [];
  for (const tag of html.match(/<meta\b[^>]*>/gi) ?? []) {
    const content = attribute(tag, 'content');
    if (content === undefined) continue;
    const names = /\b(?:name|property)\s*=\s*["']([^"']+)["']/gi;
    for (let m = names.exec(tag); m; m = names.exec(tag)) out.push([m[1]!, content]);
  }
  return out;
}
