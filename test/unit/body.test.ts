import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUtf8, DEFAULT_LIMITS, depthExceeds, firstInvalidUtf8, parseJsonBody, parseRecords, parseRecordsText, requireJson } from '../../functions/commons/body';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../../shared/domain/errors';

describe('parseRecordsText', () => {
  it('gives the records with their JSON array text: the body itself, or the one object in brackets', () => {
    for (const body of [' \n[{"a":1},{"a":2.50}]', '{"a":1e2}']) {
      const { records, json } = parseRecordsText(body);
      expect(JSON.parse(json)).toEqual(records);
      expect(Array.isArray(JSON.parse(json))).toBe(true);
    }
  });
});

describe('parseRecords', () => {
  it('turns one object into a batch of one and keeps arrays as they are', () => {
    expect(parseRecords('{"a":1}')).toEqual([{ a: 1 }]);
    expect(parseRecords('[{"a":1},{"a":2}]')).toEqual([{ a: 1 }, { a: 2 }]);
  });
  it('refuses an empty array and an empty body with a 400 saying so', () => {
    expect(() => parseRecords('[]')).toThrow(/empty/);
    expect(() => parseRecords('')).toThrow(BadRequestError);
  });
  it('refuses more records than the per-request maximum with a 413 naming it', () => {
    const text = JSON.stringify(Array.from({ length: 11 }, () => ({})));
    expect(() => parseRecords(text, { ...DEFAULT_LIMITS, maxRecords: 10 })).toThrow(PayloadTooLargeError);
    expect(() => parseRecords(text, { ...DEFAULT_LIMITS, maxRecords: 10 })).toThrow(/at most 10 per request/);
  });
  it('refuses a body over the byte limit, counting multi-byte characters', () => {
    expect(() => parseJsonBody(`"${'é'.repeat(60)}"`, { ...DEFAULT_LIMITS, maxBytes: 100 })).toThrow(PayloadTooLargeError);
    expect(parseJsonBody(`"${'e'.repeat(60)}"`, { ...DEFAULT_LIMITS, maxBytes: 100 })).toBe('e'.repeat(60));
  });
  it('reports malformed JSON as a 400, not a crash', () => {
    expect(() => parseJsonBody('{"a":')).toThrow(BadRequestError);
    expect(() => parseJsonBody('{"a":')).toThrow(/not valid JSON/);
  });
});

describe('depthExceeds', () => {
  it('finds the first bracket past the limit', () => {
    expect(depthExceeds('[[[1]]]', 3)).toBe(-1);
    expect(depthExceeds('[[[[1]]]]', 3)).toBe(3);
    expect(depthExceeds('{"a":{"b":{"c":{}}}}', 3)).toBe(15);
  });
  it('ignores brackets inside strings, including after escaped quotes', () => {
    expect(depthExceeds('["[[[[[[", "\\"[[[[[["]', 2)).toBe(-1);
    expect(depthExceeds('["\\\\", [[1]]]', 2)).toBe(8);
  });
  it('answers a 1 MB deeply nested body without parsing it', () => {
    const deep = '['.repeat(500_000) + ']'.repeat(500_000);
    const t = performance.now();
    expect(() => parseJsonBody(deep)).toThrow(/nested deeper than 32/);
    expect(performance.now() - t).toBeLessThan(200);
  });
});

describe('requireJson', () => {
  it('accepts application/json with parameters and +json types', () => {
    expect(() => requireJson('application/json; charset=utf-8')).not.toThrow();
    expect(() => requireJson('application/merge-patch+json')).not.toThrow();
  });
  it('refuses other or missing content types with a 415 naming the one expected', () => {
    expect(() => requireJson('text/plain')).toThrow(UnsupportedMediaTypeError);
    expect(() => requireJson(undefined)).toThrow(/application\/json \(no content type was given\)/);
  });
});

describe('decodeUtf8', () => {
  const lenient = new TextDecoder();
  it('decodes UTF-8 exactly, a byte order mark included', () => {
    expect(decodeUtf8(Buffer.from('{"site":"Zürich ☃ 𝄞"}'))).toBe('{"site":"Zürich ☃ 𝄞"}');
    expect(decodeUtf8(Buffer.from('\ufeff{}'))).toBe('\ufeff{}');
  });
  it('refuses bytes that are not UTF-8 with a 400 naming the offset and the bytes there', () => {
    const bytes = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]);
    expect(() => decodeUtf8(bytes, 'The payload')).toThrow(BadRequestError);
    expect(() => decodeUtf8(bytes, 'The payload')).toThrow('The payload is not valid UTF-8: the byte sequence at byte offset 6 (e9 22 7d)');
  });
  it('finds the offset where the WHATWG decoder puts its first U+FFFD, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)), fc.string({ unit: 'grapheme', maxLength: 8 }), (noise, text) => {
        const bytes = Buffer.concat([Buffer.from(text), noise]);
        const at = firstInvalidUtf8(bytes);
        expect(at === -1).toBe(isUtf8(bytes));
        if (at === -1) return;
        const prefix = bytes.subarray(0, at);
        expect(isUtf8(prefix)).toBe(true);
        expect(lenient.decode(bytes).startsWith(`${lenient.decode(prefix)}\ufffd`)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});
