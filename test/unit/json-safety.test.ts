import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findUnsafeJson, isWellFormedText, loneSurrogateMessage, wellFormedByScan } from '../../shared/domain/json-safety';

/** Well-formed per the definition: every high surrogate followed by a low one, every low one preceded by a high one. */
function reference(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

describe('isWellFormedText', () => {
  it('refuses a lone high or low surrogate anywhere and accepts pairs', () => {
    for (const s of ['\ud800', 'x\ud800y', 'x\udc00', '\udc00\ud800', '😀\ud800']) expect(isWellFormedText(s), JSON.stringify(s)).toBe(false);
    for (const s of ['', 'plain', 'é', '😀', 'a😀b😀']) expect(isWellFormedText(s), s).toBe(true);
  });

  it('agrees with the definition, natively and by the regular-expression fallback, on random UTF-16', () => {
    const units = fc.oneof(fc.constantFrom(0x41, 0xe9, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(units, { maxLength: 12 }), (codes) => {
        const s = String.fromCharCode(...codes);
        expect(isWellFormedText(s)).toBe(reference(s));
        expect(wellFormedByScan(s)).toBe(reference(s));
      }),
      { numRuns: 5000 },
    );
  });

  it('says where the lone surrogate is', () => {
    expect(loneSurrogateMessage('ab\udc01')).toMatch(/\\udc01 at index 2/);
  });
});

describe('findUnsafeJson', () => {
  it('names an own __proto__ key with its path (JSON.parse keeps it, zod would drop it)', () => {
    expect(findUnsafeJson(JSON.parse('{"schema":{"a":{},"__proto__":{"type":"number"}}}'))).toEqual({ path: ['schema', '__proto__'], message: expect.stringMatching(/__proto__/) });
  });

  it('names a lone surrogate in a string or a key, inside arrays too', () => {
    expect(findUnsafeJson({ tags: { site: 'x\ud800' } })?.path).toEqual(['tags', 'site']);
    expect(findUnsafeJson({ list: ['ok', { ['k\udfff']: 1 }] })?.path).toEqual(['list', 1, 'k\udfff']);
  });

  it('passes clean JSON, constructor and prototype keys included', () => {
    expect(findUnsafeJson({ constructor: { type: 'number' }, prototype: 1, a: ['😀', null, 1, true] })).toBeUndefined();
  });
});
