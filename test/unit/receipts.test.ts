import { describe, expect, it } from 'vitest';
import { batchContent, chainHash, entriesOf, eventForm, nextReceipt, pointKey, pointLine } from '../../functions/commons/receipt-hash';
import { checkChain, compareRecords, expectedRecords, GENESIS, type Receipt } from '../../shared/domain/receipts';

const T = Date.parse('2026-12-01T00:00:00Z');
const names = { dimensions: ['deviceId', 'site'], fields: ['door', 't'] };
const p = (time: number, t: number, dims: Record<string, string> = { deviceId: 'a' }) => ({ time, dimensions: dims, values: { t } });
const chainOf = (n: number): Receipt[] => {
  const out: Receipt[] = [];
  for (let i = 0; i < n; i++) out.push(nextReceipt(out[i - 1], batchContent([p(T + i, i)], [], names), T + i));
  return out;
};

describe('receipt forms', () => {
  it('gives a point the same key and line whatever the order of its fields, empty ones as a store answers them', () => {
    const a = { time: T, dimensions: { site: 'x', deviceId: 'a' }, values: { t: 1.5, door: 'open' } };
    const b = { time: T, dimensions: { deviceId: 'a', site: 'x', room: '' }, values: { door: 'open', t: 1.5, hum: null } };
    expect(pointKey(a, names)).toBe(pointKey(b, names));
    expect(pointLine(a, names)).toBe(pointLine(b as never, names));
    expect(pointLine(a, names)).toBe('[1796083200000,"a","x","open",1.5]');
    expect(pointLine({ time: T, dimensions: { deviceId: 'a', site: '' }, values: { t: 2 } }, names)).toBe('[1796083200000,"a",null,null,2]');
    expect(pointLine({ ...a, values: { t: 1.6, door: 'open' } }, names)).not.toBe(pointLine(a, names));
    expect(pointKey({ ...a, time: T + 1 }, names)).not.toBe(pointKey(a, names));
  });

  it('forms an event by RFC 8785, not by where it is kept', () => {
    const e = { id: 'r1.0', eventTime: T, validTime: T, data: { b: 1, a: [1, { y: 2, x: 1 }] }, hotUntil: T + 1, archive: true };
    expect(eventForm(e)).toBe(eventForm({ ...e, data: { a: [1, { x: 1, y: 2 }], b: 1 }, hotUntil: T + 9, archive: false }));
    expect(eventForm(e)).toBe('{"data":{"a":[1,{"x":1,"y":2}],"b":1},"eventTime":1796083200000,"id":"r1.0","validTime":1796083200000}');
    expect(eventForm({ ...e, metadata: { m: 1 } })).not.toBe(eventForm(e));
  });

  it('reads a batch back into its entries, each point with the names it was written in, ephemeral events with their end', () => {
    const c = batchContent([p(T, 1), p(T + 5, 3)], [{ id: 'e1', eventTime: T - 1, validTime: T, data: {}, hotUntil: T + 100, archive: false }], names);
    expect(c.count).toBe(3);
    expect([c.from, c.to]).toEqual([T - 1, T + 5]);
    const entries = entriesOf(c.text, c.hash)!;
    expect(entries.map((e) => [e.k, e.t, e.x])).toEqual([
      [pointKey(p(T, 0), names), T, undefined],
      [pointKey(p(T + 5, 0), names), T + 5, undefined],
      ['e e1', T - 1, T + 100],
    ]);
    expect(entries[0]).toMatchObject({ d: pointLine(p(T, 1), names), names });
    expect(entriesOf(c.text.replace('"a"', '"b"'), c.hash)).toBeUndefined();
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
    const forged = nextReceipt(chain[0], batchContent([p(T, 99)], [], names), T + 1);
    expect(checkChain([chain[0]!, forged, chain[2]!, chain[3]!], chainHash)).toEqual([{ kind: 'chain', seq: 3, reason: 'receipt 3 does not link to receipt 2 (prev is not its chain hash)' }]);
  });
});

describe('compareRecords', () => {
  const one = batchContent([p(T, 1), p(T + 1, 2)], [{ id: 'gone', eventTime: T, validTime: T, data: {}, hotUntil: T + 10, archive: false }], names);
  const two = batchContent([p(T, 7), p(T + 2, 3)], [], names);
  const [r1, r2] = [nextReceipt(undefined, one, T), nextReceipt(undefined, two, T)].map((r, i) => ({ ...r, seq: i + 1 }));
  const expected = expectedRecords([[r2!, entriesOf(two.text, two.hash)!], [r1!, entriesOf(one.text, one.hash)!]], T, T + 10);
  const stored = new Map([p(T, 1), p(T + 1, 2), p(T + 2, 3)].map((x) => [pointKey(x, names), pointLine(x, names)]));

  it('holds each key to the first batch that wrote it, and counts an ephemeral event past its end as expired', () => {
    expect(compareRecords(expected, stored, T + 11)).toMatchObject({ verified: 3, altered: 0, dropped: 0, inserted: 0, expired: 1, problems: [] });
    expect(compareRecords(expected, stored, T + 5)).toMatchObject({ dropped: 1, problems: [{ kind: 'dropped', seq: 1, key: 'e gone' }] });
  });

  it('names altered, dropped and inserted records', () => {
    const tampered = new Map(stored);
    tampered.set(pointKey(p(T + 1, 0), names), pointLine(p(T + 1, 5), names));
    tampered.delete(pointKey(p(T + 2, 0), names));
    tampered.set(pointKey(p(T + 3, 0), names), 'x');
    expect(compareRecords(expected, tampered, T + 11).problems).toEqual([
      { kind: 'altered', seq: 1, key: pointKey(p(T + 1, 0), names) },
      { kind: 'dropped', seq: 2, key: pointKey(p(T + 2, 0), names) },
      { kind: 'inserted', key: pointKey(p(T + 3, 0), names) },
    ]);
  });
});
