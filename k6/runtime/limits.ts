// The most of one answer a participant takes in k6, as in firstbell's own runs: beyond it the step fails as too_large.
// k6 has read the answer by then (it has no limit of its own); the limit keeps the outcomes the same, not k6's memory.

/** An answer over the run's limit: the step fails as too_large, as in firstbell's own runs. */
export function tooLarge(what: string, bytes: number, max: number): Error {
  return Object.assign(new Error(`${what}: the answer of ${bytes} bytes is over the limit of ${max} (--max-answer)`), { name: 'TooLargeError', code: 'FIRSTBELL_TOO_LARGE' });
}

/** The UTF-8 length of a text, counted only as far as it matters: whether it is over `max` bytes. */
export function overBytes(text: string, max: number): number | undefined {
  if (text.length * 3 <= max) return undefined;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? (i++, 4) : 3;
  }
  return bytes > max ? bytes : undefined;
}

