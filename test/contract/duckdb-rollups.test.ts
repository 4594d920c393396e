import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDataQuery, type Aggregates } from '../../shared/domain/query';
import { SKETCH_RELATIVE_ACCURACY } from '../../shared/domain/rollup-state';
import { DuckDbPointStore } from '../../shared/local/duckdb/duckdb-point-store';
import { makeRollupStream, rollupsContract } from './rollups.contract';

rollupsContract('DuckDbPointStore in memory, compacted in chunks of 3 bins', async () => {
  const store = await DuckDbPointStore.open(':memory:', { threads: 1, compactChunk: 3 });
  return {
    store,
    compact: async () => {
      expect(await store.compactRollups()).toMatchObject({ pendingStreams: 0 });
    },
    close: () => store.close(),
  };
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
            // pending bins in the range: the raw points answer, until the compactor has run
            expect(rolled.sourceOf(stream, q)).toBe('raw');
            expect(await rolled.query(stream, q)).toEqual(await raw.query(stream, q));
            await rolled.compactRollups();
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

  it('keeps pending bins across a restart, and a rewritten span pending until the compactor recomputes it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollups-pending-'));
    const path = join(dir, 'points.duckdb');
    const stream = makeRollupStream('q-pending');
    const q = parseDataQuery(stream, { start: '2024-01-30T00:00:00Z', end: '2024-01-31T00:00:00Z', granularity: '1h', downsamplers: 'count,sum' }, START + 86_400_000);
    const points = [0, 1, 2, 3601, 3602].map((s) => ({ time: START + s * 1000, dimensions: { site: 'a' }, values: { temp: s, people: 1 } }));
    try {
      let store = await DuckDbPointStore.open(path, { threads: 1 });
      await store.write(stream, points);
      await store.close();
      store = await DuckDbPointStore.open(path, { threads: 1 });
      expect(store.sourceOf(stream, q)).toBe('raw');
      const raw = await store.query(stream, q);
      expect(raw.map((r) => (r.values.temp as Aggregates).count)).toEqual([3, 2]);
      expect(await store.compactRollups()).toEqual({ bins: 2, pendingStreams: 0 });
      expect(store.sourceOf(stream, q)).toBe('rollup');
      expect(await store.query(stream, q)).toEqual(raw);
      // a derived stream's rewrite deletes the first hour's points but one: its bins are pending, then recomputed
      await store.replaceSeries(stream, { site: 'a' }, START, START + 3_599_999, [points[0]!]);
      expect(store.sourceOf(stream, q)).toBe('raw');
      await store.compactRollups();
      expect(store.sourceOf(stream, q)).toBe('rollup');
      expect((await store.query(stream, q)).map((r) => (r.values.temp as Aggregates).count)).toEqual([1, 2]);
      expect((await store.storedRollups(stream, '10s', START, START + 3_600_000)).filter((b) => b.field === 'temp').map((b) => b.state.count)).toEqual([1]);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

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
