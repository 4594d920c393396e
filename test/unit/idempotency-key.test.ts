import { describe, expect, it } from 'vitest';
import { idempotencyKeyOf } from '../../functions/ingest/idempotency-key';
import { BadRequestError } from '../../shared/domain/errors';

describe('idempotencyKeyOf', () => {
  it('gives no key without the header, and the key as sent (trimmed) with it', () => {
    expect(idempotencyKeyOf(undefined)).toBeUndefined();
    expect(idempotencyKeyOf(' order 7f3a ')).toBe('order 7f3a');
  });
  it("reads the draft's structured-field string as its content, escapes included", () => {
    expect(idempotencyKeyOf('"8e03978e-40d5"')).toBe('8e03978e-40d5');
    expect(idempotencyKeyOf('"a\\"b\\\\c"')).toBe('a"b\\c');
    // not an sf-string (a bare quote inside): kept whole
    expect(idempotencyKeyOf('"a"b"')).toBe('"a"b"');
  });
  it.each([
    ['', 'is empty'],
    ['""', 'is empty'],
    ['x'.repeat(256), 'is 256 characters long'],
    ['tab\there', 'printable ASCII'],
    ['caf\u00e9', 'printable ASCII'],
  ])('refuses %j with a 400 naming the header', (value, message) => {
    expect(() => idempotencyKeyOf(value)).toThrow(BadRequestError);
    try {
      idempotencyKeyOf(value);
    } catch (err) {
      expect((err as BadRequestError).message).toContain('Idempotency-Key header');
      expect((err as BadRequestError).issues).toEqual([{ path: ['headers', 'Idempotency-Key'], message: expect.stringContaining(message) }]);
    }
  });
  it('takes 255 printable characters', () => {
    const key = '~'.repeat(200) + ' !"#$%&()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}';
    expect(key.length).toBeLessThanOrEqual(255);
    expect(idempotencyKeyOf(key)).toBe(key);
    expect(idempotencyKeyOf('k'.repeat(255))).toBe('k'.repeat(255));
  });
});
