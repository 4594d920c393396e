import fc from 'fast-check';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES as SERVER_MAX_BYTES, MAX_RECORDS as SERVER_MAX_RECORDS } from '../../functions/commons/body';
import { backoffMs, MAX_BODY_BYTES, MAX_RECORDS, RecordTooLargeError, retryAfterMs, splitBatches, TributaryClient, utf8Length } from '../../packages/client/src/index';

const RETRY = { retries: 6, baseDelayMs: 200, maxDelayMs: 30_000 };

describe('splitBatches', () => {
  it('keeps the server’s limits', () => {
    expect([MAX_BODY_BYTES, MAX_RECORDS]).toEqual([SERVER_MAX_BYTES, SERVER_MAX_RECORDS]);
  });

  it('splits by record count and by bytes, in order, every record once, each body valid JSON under the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ t: fc.integer(), s: fc.string({ unit: 'binary', maxLength: 40 }) }), { maxLength: 200 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 250, max: 2000 }), (records, maxRecords, maxBytes) => {
        const batches = [...splitBatches(records, { maxRecords, maxBytes })];
        const back = batches.flatMap((b) => JSON.parse(b.body));
        expect(back).toEqual(records);
        let first = 0;
        for (const b of batches) {
          expect(b.first).toBe(first);
          first += b.count;
          expect(b.count).toBeLessThanOrEqual(maxRecords);
          expect(Buffer.byteLength(b.body)).toBeLessThanOrEqual(maxBytes);
        }
      }),
    );
  });

  it('refuses a record that no request can carry, naming its index', () => {
    expect(() => [...splitBatches([{ a: 1 }, { a: 'x'.repeat(100) }], { maxBytes: 50 })]).toThrow(RecordTooLargeError);
    expect(() => [...splitBatches([{ a: 1 }, { a: 'x'.repeat(100) }], { maxBytes: 50 })]).toThrow(/record 1 /);
  });

  it('counts UTF-8 bytes as Buffer does', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => utf8Length(s) === Buffer.byteLength(s)));
  });
});

describe('retry waits', () => {
  it('honour Retry-After (seconds or a date), with at most 20 % jitter on top', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null, 0)).toBeUndefined();
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(backoffMs(1, 1000, RETRY, () => 0)).toBe(1000);
    expect(backoffMs(1, 1000, RETRY, () => 0.999)).toBeCloseTo(1199.8);
    expect(backoffMs(1, 3_600_000, RETRY, () => 0.5)).toBe(30_000);
  });

  it('back off exponentially with full jitter without Retry-After', () => {
    expect(backoffMs(1, undefined, RETRY, () => 0.999)).toBeLessThan(200);
    expect(backoffMs(4, undefined, RETRY, () => 0.5)).toBe(800);
    expect(backoffMs(30, undefined, RETRY, () => 0.999)).toBeLessThan(30_000);
  });
});

describe('TributaryClient', () => {
  it('never shows its token when logged or serialized', () => {
    const client = new TributaryClient({ baseUrl: 'http://127.0.0.1:1/', token: 'trb_secret-token-value' });
    expect(inspect(client, { depth: 10, showHidden: true })).not.toContain('trb_secret');
    expect(JSON.stringify(client)).not.toContain('trb_secret');
    expect(inspect(client.streams, { depth: 10, showHidden: true })).not.toContain('trb_secret');
  });
});
