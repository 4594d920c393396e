import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeDeriver } from '../../functions/writer/derive';
import { counterDerivative, counterReset, derivative, sum, type DerivedValue } from '../../shared/domain/derive-ops';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import { MemoryPointStore } from '../fixtures/memory-point-store';

const base = { type: 'iot_sensor', timeField: 'timestamp', dimensions: ['host'], tags: {}, validation: 'strict', state: 'active', createdAt: '', updatedAt: '', version: 1 } as const;
const stream = (s: Partial<Stream> & { id: string }): Stream => ({ ...base, name: s.id, dimensions: ['host'], schema: { host: { type: 'string' }, value: { type: 'number' } }, ...s }) as Stream;

const counter = stream({ id: 'counter', schema: { host: { type: 'string' }, bytes: { type: 'integer' } }, derivedBy: ['rate', 'resets', 'cd', 'wrapped', 'total'] });
const other = stream({ id: 'other', schema: { host: { type: 'string' }, bytes: { type: 'integer' } }, derivedBy: ['total'] });
const rate = stream({ id: 'rate', deriveOp: 'derivative', deriveFrom: [{ stream: 'counter', field: 'bytes' }] });
const resets = stream({ id: 'resets', deriveOp: 'counter_reset', deriveFrom: [{ stream: 'counter', field: 'bytes' }], derivedBy: ['cd', 'wrapped'] });
const cd = stream({ id: 'cd', deriveOp: 'counter_derivative', deriveFrom: [{ stream: 'resets', field: 'value', name: 'reset' }, { stream: 'counter', field: 'bytes' }] });
const wrapped = stream({ id: 'wrapped', deriveOp: 'counter_derivative', deriveFrom: [{ stream: 'resets', field: 'value', name: 'reset' }, { stream: 'counter', field: 'bytes' }], deriveArgs: { maxValue: 60 } });
const total = stream({ id: 'total', deriveOp: 'sum', deriveFrom: [{ stream: 'counter', field: 'bytes' }, { stream: 'other', field: 'bytes' }] });
const all = new Map([counter, other, rate, resets, cd, wrapped, total].map((s) => [s.id, s]));
const registry = { get: async (id: string) => all.get(id) };
const log = { info: () => {}, error: () => {} };

/** A series' points: unique times (a quarter second apart at most), small counter values. */
const seriesArb = fc.uniqueArray(fc.record({ t: fc.integer({ min: 0, max: 160 }), v: fc.integer({ min: 0, max: 50 }) }), { selector: (p) => p.t, maxLength: 25 });
/** The batches a series arrives in: cut anywhere, shuffled, some delivered twice. */
const deliveryArb = (n: number) => fc.record({ cuts: fc.array(fc.integer({ min: 0, max: Math.max(0, n) }), { maxLength: 5 }), order: fc.array(fc.nat(), { maxLength: 8 }), twice: fc.array(fc.nat(), { maxLength: 3 }) });

function batchesOf(points: Datapoint[], d: { cuts: number[]; order: number[]; twice: number[] }): Datapoint[][] {
  const cuts = [...new Set([0, ...d.cuts, points.length])].sort((a, b) => a - b);
  const batches = cuts.slice(1).map((end, i) => points.slice(cuts[i], end));
  const shuffled = [...batches];
  d.order.forEach((k, i) => {
    const j = k % shuffled.length;
    const a = i % shuffled.length;
    [shuffled[a], shuffled[j]] = [shuffled[j]!, shuffled[a]!];
  });
  for (const k of d.twice) if (shuffled.length) shuffled.splice(k % (shuffled.length + 1), 0, shuffled[k % shuffled.length]!);
  return shuffled;
}

const asPoints = (host: string, raw: { t: number; v: number }[]): Datapoint[] => raw.map((p) => ({ time: p.t * 250, dimensions: { host }, values: { bytes: p.v } }));
const sorted = (raw: { t: number; v: number }[]) => [...raw].sort((a, b) => a.t - b.t).map((p) => ({ time: p.t * 250, value: p.v }));
const present = (values: DerivedValue[]) => values.filter((v) => v.value !== null).map((v) => ({ time: v.time, value: v.value as number }));

describe('derived streams in the writer', () => {
  it('give, for any order, split and redelivery of the source batches, the derived streams computed from the sorted raw points', async () => {
    await fc.assert(
      fc.asyncProperty(seriesArb, seriesArb, fc.integer({ min: 0, max: 1000 }), async (a, b, seed) => {
        const store = new MemoryPointStore();
        const derive = makeDeriver({ registry, store, log });
        const ca = asPoints('a', a);
        const ob = asPoints('a', b);
        const d1 = batchesOf(ca, { cuts: [seed % (ca.length + 1), (seed >> 3) % (ca.length + 1)], order: [seed, seed >> 2, seed >> 4], twice: [seed >> 1] });
        const d2 = batchesOf(ob, { cuts: [(seed >> 2) % (ob.length + 1)], order: [seed >> 5], twice: [] });
        const deliveries: [Stream, Datapoint[]][] = [...d1.map((p) => [counter, p] as [Stream, Datapoint[]]), ...d2.map((p) => [other, p] as [Stream, Datapoint[]])];
        // interleave the two sources' batches by the seed
        deliveries.sort((x, y) => ((x[1][0]?.time ?? 0) * 7 + seed) % 13 - ((y[1][0]?.time ?? 0) * 7 + seed) % 13);
        for (const [source, points] of deliveries) {
          await store.write(source, points);
          await derive.afterWrite(source, points);
        }
        const counterPts = sorted(a);
        const expectedResets = counterReset(counterPts);
        const got = (id: string) => store.valuesOf(id, ['a']);
        expect(got('rate')).toEqual(present(derivative(counterPts)));
        expect(got('resets')).toEqual(present(expectedResets));
        expect(got('cd')).toEqual(present(counterDerivative(expectedResets, counterPts)));
        expect(got('wrapped')).toEqual(present(counterDerivative(expectedResets, counterPts, { maxValue: 60 })));
        expect(got('total')).toEqual(present(sum([counterPts, sorted(b)])));
      }),
      { numRuns: 300 },
    );
  });

  it('backprocesses a derived stream from its sources\' history, page by page, as the writer would have', async () => {
    const store = new MemoryPointStore();
    const derive = makeDeriver({ registry, store, log });
    const raw = Array.from({ length: 12_000 }, (_, i) => ({ t: i, v: i % 997 }));
    await store.write(counter, asPoints('a', raw));
    expect(await derive.backprocess(rate)).toEqual({ points: 11_999 });
    expect(store.valuesOf('rate', ['a'])).toEqual(present(derivative(sorted(raw))));
  });
});
