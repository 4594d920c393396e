import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDataQuery, type Aggregates } from '../../shared/domain/query';
import { SKETCH_RELATIVE_ACCURACY } from '../../shared/domain/rollup-state';
import { DuckDbPointStore } from '../../shared/local/duckdb/duckdb-point-store';
import { makeRollupStream, rollupsContract } from './rollups.contract';

rollupsContract('DuckDbPointStore in memory', async () => {
  const store = await DuckDbPointStore.open(':memory:', { threads: 1 });
  return { store, close: () => store.close() };
});

const START = Date.parse('2024-01-30T00:00:00Z');
const EXACT = ['mean', 'min', 'max', 'sum', 'count', 'first', 'last', 'stddev'] as const;

describe('DuckDbPointStore queries from its rollups', () => {
  it('answers each stored and combined granularity as the raw points do, and says it read the rollup', async () => {
    const rolled = await DuckDbPointStore.open(':memory:', { threads: 1 });
    const raw = await DuckDbPointStore.open(':memory:', { threads: 1, rollups: false });
    try {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ site: fc.constantFrom('a', 'b', 'c'), s: fc.integer({ min: 0, max: 5 * 86_400 }), v: fc.integer({ min: -50_000, max: 50_000 }) }), { minLength: 1, maxLength: 300 }),
          fc.constantFrom('10s', '30s', '1m', '10m', '1h', '6h', '1d'),
          fc.boolean(),
          async (gens, granularity, grouped) => {
            const stream = makeRollupStream(`q-${n++}`);
            // distinct times across series too, so first and last have one answer
            const points = gens.map((g, i) => ({ time: START + g.s * 1000 + i, dimensions: { site: g.site }, values: { temp: g.v / 10, people: Math.abs(g.v) % 97 } }));
            for (const store of [rolled, raw]) {
              await store.write(stream, points.slice(0, Math.ceil(points.length / 2)));
              await store.write(stream, points.slice(Math.floor(points.length / 3)));
            }
            const params = { start: new Date(START).toISOString(), end: new Date(START + 6 * 86_400_000).toISOString(), granularity, downsamplers: [...EXACT, 'p50', 'p95'].join(','), ...(grouped && { groupBy: 'site' }) };
            const q = parseDataQuery(stream, params, START + 7 * 86_400_000);
            expect(rolled.sourceOf(stream, q)).toBe('rollup');
            expect(raw.sourceOf(stream, q)).toBe('raw');
            const [a, b] = await Promise.all([rolled.query(stream, q), raw.query(stream, q)]);
            expect(a.map((r) => [r.time, r.dimensions])).toEqual(b.map((r) => [r.time, r.dimensions]));
            a.forEach((row, i) => {
              for (const f of ['temp', 'people']) {
                const got = row.values[f] as Aggregates;
                const want = b[i]!.values[f] as Aggregates;
                for (const d of EXACT) {
                  const [x, y] = [got[d] as number | null, want[d] as number | null];
                  if (x === null || y === null) expect(x).toBe(y);
                  else expect(Math.abs(x - y)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(y)));
                }
                for (const d of ['p50', 'p95'] as const) {
                  const [x, y] = [got[d] as number, want[d] as number];
                  expect(Math.abs(x - y)).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY * Math.abs(y) + 1e-12);
                }
              }
            });
          },
        ),
        { numRuns: 25 },
      );
    } finally {
      await rolled.close();
      await raw.close();
    }
  }, 240_000);

  it('reads the raw points where no stored level tiles the range, or for trend', async () => {
    const store = await DuckDbPointStore.open(':memory:', { threads: 1 });
    try {
      const stream = makeRollupStream('q-raw');
      const at = (params: Record<string, string>) => store.sourceOf(stream, parseDataQuery(stream, { end: '2024-01-02T00:00:00Z', ...params }, START));
      expect(at({ start: '2024-01-01T00:00:05Z', granularity: '1h' })).toBe('raw');
      expect(at({ start: '2024-01-01T00:00:00Z', granularity: '1s' })).toBe('raw');
      expect(at({ start: '2024-01-01T00:00:00Z', granularity: '1h', downsamplers: 'trend' })).toBe('raw');
      expect(at({ start: '2024-01-01T00:00:00Z', granularity: '1h', fields: 'label', downsamplers: 'count' })).toBe('raw');
    } finally {
      await store.close();
    }
  });
});
