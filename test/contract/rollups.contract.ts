import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binStart, ROLLUP_LEVELS, type RollupLevel } from '../../shared/domain/rollup-levels';
import { rollupOf, type BinState, type RollupBin } from '../../shared/domain/rollup-state';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import type { PointStore } from '../../shared/ports';

/** A store that keeps rollups, as the contract drives it. */
export interface RollupStoreHandle {
  store: PointStore & { storedRollups(stream: Stream, level: RollupLevel, start: number, end: number): Promise<RollupBin[]> };
  /** Runs the store's compactor until no bin is pending (a store that recomputes bins in its writes has none). */
  compact?(): Promise<void>;
  close(): Promise<void>;
}

const T0 = Date.parse('2024-01-01T00:00:00Z');
/** Instants next to month ends: a 31-day January, a leap February, a 30-day April, a 28-day February, New Year. */
const EDGES = ['2024-02-01T00:00:00Z', '2024-03-01T00:00:00Z', '2024-05-01T00:00:00Z', '2023-03-01T00:00:00Z', '2025-01-01T00:00:00Z'].map(Date.parse);

export function makeRollupStream(id: string, extra: Record<string, unknown> = {}): Stream {
  return newStream(
    parseStreamInput({
      id,
      name: `Rollups ${id}`,
      type: 'iot_sensor',
      dimensions: ['site'],
      schema: { site: { type: 'string', required: true }, temp: { type: 'number' }, people: { type: 'integer' }, label: { type: 'string' } },
      ...extra,
    }),
    new Date(T0),
    () => 'x',
  );
}

/** A point near one of the month edges: ±2 days, whole seconds (so many fall in the same 10 s bins). */
const pointArb = fc.record({
  site: fc.constantFrom('a', 'b'),
  edge: fc.constantFrom(...EDGES),
  offset: fc.integer({ min: -2 * 86_400, max: 2 * 86_400 }).map((s) => s - (s % 7)),
  temp: fc.option(fc.integer({ min: -100_000, max: 100_000 }).map((v) => v / 100), { nil: undefined }),
  people: fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }),
  label: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
});

type Gen = { site: string; edge: number; offset: number; temp: number | undefined; people: number | undefined; label: string | undefined };

function toPoint(g: Gen): Datapoint {
  return {
    time: g.edge + g.offset * 1000,
    dimensions: { site: g.site },
    values: { ...(g.temp !== undefined && { temp: g.temp }), ...(g.people !== undefined && { people: g.people }), ...(g.label !== undefined && { label: g.label }) },
  };
}

/** Batches as at-least-once delivery hands them over: shuffled, some delivered twice, late ones among them. */
const deliveryArb = fc.array(fc.array(pointArb, { minLength: 1, maxLength: 25 }), { minLength: 1, maxLength: 6 }).chain((batches) =>
  fc.tuple(fc.constant(batches), fc.shuffledSubarray(batches.map((_, i) => i)), fc.array(fc.nat({ max: batches.length - 1 }), { maxLength: 3 })).map(([bs, order, again]) => {
    const sequence = [...order, ...bs.map((_, i) => i).filter((i) => !order.includes(i))];
    for (const i of again) sequence.splice(Math.min(sequence.length, i + 1), 0, i);
    return sequence.map((i) => bs[i]!.map(toPoint));
  }),
);

/** The raw points a store keeps: the first of each series and time, in delivery order. */
function keptPoints(batches: Datapoint[][]): Datapoint[] {
  const kept = new Map<string, Datapoint>();
  for (const p of batches.flat()) {
    const key = `${p.dimensions.site}|${p.time}`;
    if (!kept.has(key)) kept.set(key, p);
  }
  return [...kept.values()];
}

/** Every bin of a level computed from the raw points by the reference downsampler. */
export function expectedBins(points: Datapoint[], level: RollupLevel, fields: string[]): Map<string, BinState> {
  const groups = new Map<string, { time: number; value: number | null }[]>();
  for (const p of points) {
    for (const f of fields) {
      const key = `${p.dimensions.site}|${f}|${binStart(level, p.time)}`;
      const v = p.values[f];
      let list = groups.get(key);
      if (!list) groups.set(key, (list = []));
      list.push({ time: p.time, value: typeof v === 'number' ? v : null });
    }
  }
  return new Map([...groups].map(([k, pts]) => [k, rollupOf(pts)]));
}

const close = (a: number | null, b: number | null) => {
  if (a === null || b === null) return a === b;
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
};

/** Compares a stored bin with the reference; sums to rounding, the rest exactly. */
export function sameState(stored: BinState, expected: BinState): boolean {
  return (
    stored.count === expected.count &&
    stored.min === expected.min &&
    stored.max === expected.max &&
    stored.firstTime === expected.firstTime &&
    stored.firstValue === expected.firstValue &&
    stored.lastTime === expected.lastTime &&
    stored.lastValue === expected.lastValue &&
    stored.timeSum === expected.timeSum &&
    close(stored.sum, expected.sum) &&
    close(stored.sumSquares, expected.sumSquares) &&
    Math.abs(stored.m2 - expected.m2) <= 1e-6 * Math.max(1, Math.abs(expected.m2)) &&
    JSON.stringify(Object.entries(stored.sketch).sort()) === JSON.stringify(Object.entries(expected.sketch).sort())
  );
}

/**
 * Every stored rollup equals the reference downsampler over the raw points the store kept, at every level, after
 * random batches delivered shuffled, twice and late, across month ends (31-day, leap and common Februaries).
 */
export function rollupsContract(name: string, open: () => Promise<RollupStoreHandle>, runs = 12): void {
  describe(`stored rollups: ${name}`, () => {
    it('keeps every level of every series equal to the downsampler over the raw points, whatever the delivery order, repeats and late data', async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(deliveryArb, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), async (batches, compactAfter) => {
          const handle = await open();
          const { store, close: done } = handle;
          try {
            const stream = makeRollupStream(`roll-${n++}`);
            // the compactor runs after some batches (a chunk of pending bins per transaction), and at the end
            for (const [i, batch] of batches.entries()) {
              await store.write(stream, batch);
              if (compactAfter[i % compactAfter.length]) await handle.compact?.();
            }
            await handle.compact?.();
            const kept = keptPoints(batches);
            for (const level of ROLLUP_LEVELS) {
              const expected = expectedBins(kept, level, ['temp', 'people']);
              const stored = await store.storedRollups(stream, level, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
              const got = new Map(stored.map((b) => [`${b.dimensions.site}|${b.field}|${b.bin}`, b.state]));
              expect([...got.keys()].sort(), level).toEqual([...expected.keys()].sort());
              for (const [key, state] of expected) {
                if (!sameState(got.get(key)!, state)) expect({ level, key, stored: got.get(key) }).toEqual({ level, key, stored: state });
              }
            }
          } finally {
            await done();
          }
        }),
        { numRuns: runs },
      );
    }, 240_000);

    it('stores only the levels from highestGranularity on', async () => {
      const handle = await open();
      const { store, close: done } = handle;
      try {
        const stream = makeRollupStream('roll-hours', { highestGranularity: 'hours' });
        await store.write(stream, [{ time: Date.parse('2012-07-31T12:23:52Z'), dimensions: { site: 'a' }, values: { temp: 1 } }]);
        await handle.compact?.();
        expect(await store.storedRollups(stream, '1m', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toEqual([]);
        const hours = await store.storedRollups(stream, '1h', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        expect(hours.filter((b) => b.field === 'temp').map((b) => new Date(b.bin).toISOString())).toEqual(['2012-07-31T12:00:00.000Z']);
        const months = await store.storedRollups(stream, '1mo', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        expect(months.filter((b) => b.field === 'temp').map((b) => new Date(b.bin).toISOString())).toEqual(['2012-07-01T00:00:00.000Z']);
      } finally {
        await done();
      }
    });
  });
}
