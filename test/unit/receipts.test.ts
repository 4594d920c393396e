import { describe, expect, it } from 'vitest';
import { batchContent, chainHash, eventDigest, nextReceipt, pointDigest, pointKey } from '../../functions/commons/receipt-hash';
import { checkChain, compareRecords, expectedRecords, GENESIS, type Receipt } from '../../shared/domain/receipts';

const T = Date.parse('2026-12-01T00:00:00Z');
const p = (time: number, v: number, dims: Record<string, string> = { deviceId: 'a' }) => ({ time, dimensions: dims, values: { v } });
const chainOf = (n: number): Receipt[] => {
  const out: Receipt[] = [];
  for (let i = 0; i < n; i++) out.push(nextReceipt(out[i - 1], batchContent([p(T + i, i)], []), T + i));
  return out;
};

describe('receipt hashing', () => {
  it('gives a point the same key and digest whatever the order of its fields, leaving out what a store answers as empty', () => {
    const a = { time: T, dimensions: { site: 'x', deviceId: 'a' }, values: { t: 1.5, door: 'open' } };
    const b = { time: T, dimensions: { deviceId: 'a', site: 'x', room: '' }, values: { door: 'open', t: 1.5, hum: null } };
    expect(pointKey(a)).toBe(pointKey(b));
    expect(pointDigest(a)).toBe(pointDigest(b as never));
    expect(pointDigest({ ...a, values: { t: 1.6, door: 'open' } })).not.toBe(pointDigest(a));
    expect(pointKey({ ...a, time: T + 1 })).not.toBe(pointKey(a));
  });

  it('digests an event by RFC 8785, not by where it is kept', () => {
    const e = { id: 'r1.0', eventTime: T, validTime: T, data: { b: 1, a: [1, { y: 2, x: 1 }] }, hotUntil: T + 1, archive: true };
    expect(eventDigest(e)).toBe(eventDigest({ ...e, data: { a: [1, { x: 1, y: 2 }], b: 1 }, hotUntil: T + 9, archive: false }));
    expect(eventDigest({ ...e, metadata: { m: 1 } })).not.toBe(eventDigest(e));
  });

  it('counts a key twice in one batch once, the first (as the stores keep it), and marks ephemeral events', () => {
    const c = batchContent([p(T, 1), p(T, 2), p(T + 5, 3)], [{ id: 'e1', eventTime: T - 1, validTime: T, data: {}, hotUntil: T + 100, archive: false }]);
    expect(c.count).toBe(3);
    expect(c.entries.find((e) => e.k === pointKey(p(T, 0)))!.d).toBe(pointDigest(p(T, 1)));
    expect(c.entries.find((e) => e.k === 'e e1')!.x).toBe(T + 100);
    expect([c.from, c.to]).toEqual([T - 1, T + 5]);
    expect(batchContent([p(T + 5, 3), p(T, 1)], []).hash).toBe(batchContent([p(T, 1), p(T + 5, 3)], []).hash);
  });
});

describe('checkChain', () => {
  it('passes an unbroken chain and names the receipt where it breaks', () => {
    const chain = chainOf(4);
    expect(chain[0]!.prev).toBe(GENESIS);
    expect(checkChain(chain, chainHash)).toEqual([]);
    const changed = chain.map((r) => (r.seq === 2 ? { ...r, count: 9 } : r));
    expect(checkChain(changed, chainHash)).toEqual([{ kind: 'chain', seq: 2, reason: 'receipt 2 was changed: its chain hash is not the hash of its fields' }]);
    expect(checkChain([chain[0]!, chain[2]!, chain[3]!], chainHash)).toEqual([{ kind: 'chain', seq: 3, reason: 'receipt 3 follows receipt 1: receipt 2 is missing' }]);
    // a receipt rebuilt in place with a valid hash still breaks the next link
    const forged = nextReceipt(chain[0], batchContent([p(T, 99)], []), T + 1);
    expect(checkChain([chain[0]!, forged, chain[2]!, chain[3]!], chainHash)).toEqual([{ kind: 'chain', seq: 3, reason: 'receipt 3 does not link to receipt 2 (prev is not its chain hash)' }]);
  });
});

describe('compareRecords', () => {
  const one = batchContent([p(T, 1), p(T + 1, 2)], [{ id: 'gone', eventTime: T, validTime: T, data: {}, hotUntil: T + 10, archive: false }]);
  const two = batchContent([p(T, 7), p(T + 2, 3)], []);
  const [r1, r2] = [nextReceipt(undefined, one, T), nextReceipt(undefined, two, T)].map((r, i) => ({ ...r, seq: i + 1 }));
  const expected = expectedRecords([[r2!, two.entries], [r1!, one.entries]], T, T + 10);
  const stored = new Map([[pointKey(p(T, 0)), pointDigest(p(T, 1))], [pointKey(p(T + 1, 0)), pointDigest(p(T + 1, 2))], [pointKey(p(T + 2, 0)), pointDigest(p(T + 2, 3))]]);

  it('holds each key to the first batch that wrote it, and counts an ephemeral event past its time as expired', () => {
    expect(compareRecords(expected, stored, T + 11)).toMatchObject({ verified: 3, altered: 0, dropped: 0, inserted: 0, expired: 1, problems: [] });
    expect(compareRecords(expected, stored, T + 5)).toMatchObject({ dropped: 1, problems: [{ kind: 'dropped', seq: 1, key: 'e gone' }] });
  });

  it('names altered, dropped and inserted records', () => {
    const tampered = new Map(stored);
    tampered.set(pointKey(p(T + 1, 0)), pointDigest(p(T + 1, 5)));
    tampered.delete(pointKey(p(T + 2, 0)));
    tampered.set(pointKey(p(T + 3, 0)), 'x');
    expect(compareRecords(expected, tampered, T + 11).problems).toEqual([
      { kind: 'altered', seq: 1, key: pointKey(p(T + 1, 0)) },
      { kind: 'dropped', seq: 2, key: pointKey(p(T + 2, 0)) },
      { kind: 'inserted', key: pointKey(p(T + 3, 0)) },
    ]);
  });
});
