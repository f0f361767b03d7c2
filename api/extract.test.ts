import { describe, expect, it } from 'vitest';
import { extract } from './http.js';

describe('extraction helpers', () => {
  it('take a capture group, a JSON path, a form field and a meta tag, attributes in any order', () => {
    expect(extract.regex('token=abc123;', /token=(\w+)/)).toBe('abc123');
    expect(extract.json('{"rooms":[{"id":"c-7"}]}', 'rooms[0].id')).toBe('c-7');
    expect(extract.json({ a: { b: 0 } }, 'a.b')).toBe(0);
    expect(extract.formField('<input type="hidden" value="x1" name="csrf">', 'csrf')).toBe('x1');
    expect(extract.formField("<INPUT name='csrf' value='x2'>", 'csrf')).toBe('x2');
    expect(extract.meta('<meta content="t-9" name="csrf-token">', 'csrf-token')).toBe('t-9');
  });

  it('fail the step with a message that says what was missing', () => {
    expect(() => extract.regex('nothing', /token=(\w+)/, 'session token')).toThrow('no session token in the answer');
    expect(() => extract.json('{"rooms":[]}', 'rooms[0].id')).toThrow('no rooms[0].id in the answer (nothing at rooms[0].id)');
    expect(() => extract.json('<html>', 'id')).toThrow('the answer is not JSON, so it has no id');
    expect(() => extract.formField('<input name="other" value="1">', 'csrf')).toThrow('no form field "csrf" in the answer');
    expect(() => extract.meta('<p>', 'csrf-token')).toThrow('no meta tag "csrf-token" in the answer');
    try {
      extract.meta('<p>', 'x');
    } catch (e) {
      expect((e as Error).name).toBe('ProtocolError');
    }
  });
});
