import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDataQuery, type Aggregates } from '../../shared/domain/query';
import { SKETCH_RELATIVE_ACCURACY } from '../../shared/domain/rollup-state';
import { DynamoDbRollupBins } from '../../shared/aws/dynamodb-rollup-bins';
import { RollupPointStore } from '../../shared/aws/rollup-point-store';
import { DuckDbPointStore } from '../../shared/local/duckdb/duckdb-point-store';
import { useDynalite } from '../fixtures/dynalite';
import { makeRollupStream, rollupsContract } from './rollups.contract';

const START = Date.parse('2024-02-27T00:00:00Z');

/**
 * The AWS rollups (`RollupPointStore`: bins as DynamoDB items, on dynalite, which speaks DynamoDB's API) over a
 * raw store without rollups of its own. The raw reads it makes are the port's paged raw queries, which the
 * Timestream adapter answers in its own contract suite (responses shaped from the API reference).
 */
const dynamo = useDynalite('rollups');

rollupsContract(
  'RollupPointStore on DynamoDB items (dynalite)',
  async () => {
    const points = await DuckDbPointStore.open(':memory:', { threads: 1, rollups: false });
    const store = new RollupPointStore({ points, bins: new DynamoDbRollupBins({ client: dynamo.client, tableName: await dynamo.freshTable() }) });
    return { store, close: () => points.close() };
  },
  10,
);

describe('RollupPointStore queries from its DynamoDB bins', () => {
  it('answers stored and combined granularities, grouped or not, as the raw points do', async () => {
    const raw = await DuckDbPointStore.open(':memory:', { threads: 1, rollups: false });
    const store = new RollupPointStore({ points: raw, bins: new DynamoDbRollupBins({ client: dynamo.client, tableName: await dynamo.freshTable() }) });
    try {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ site: fc.constantFrom('a', 'b'), s: fc.integer({ min: 0, max: 3 * 86_400 }), v: fc.integer({ min: -5_000, max: 5_000 }) }), { minLength: 1, maxLength: 80 }),
          fc.constantFrom('1m', '10m', '1h', '6h', '1d'),
          fc.boolean(),
          async (gens, granularity, grouped) => {
            const stream = makeRollupStream(`dq-${n++}`);
            const points = gens.map((g, i) => ({ time: START + g.s * 1000 + i, dimensions: { site: g.site }, values: { temp: g.v / 10, people: Math.abs(g.v) % 13 } }));
            await store.write(stream, points.slice(0, Math.ceil(points.length / 2)));
            await store.write(stream, points);
            const q = parseDataQuery(stream, { start: new Date(START).toISOString(), end: new Date(START + 4 * 86_400_000).toISOString(), granularity, downsamplers: 'mean,min,max,sum,count,first,last,stddev,p90', ...(grouped && { groupBy: 'site' }) }, START);
            expect(store.sourceOf(stream, q)).toBe('rollup');
            const [a, b] = await Promise.all([store.query(stream, q), raw.query(stream, q)]);
            expect(a.map((r) => [r.time, r.dimensions])).toEqual(b.map((r) => [r.time, r.dimensions]));
            a.forEach((row, i) => {
              for (const f of ['temp', 'people']) {
                const got = row.values[f] as Aggregates;
                const want = b[i]!.values[f] as Aggregates;
                for (const d of ['mean', 'min', 'max', 'sum', 'count', 'first', 'last', 'stddev'] as const) {
                  const [x, y] = [got[d] as number | null, want[d] as number | null];
                  if (x === null || y === null) expect(x).toBe(y);
                  else expect(Math.abs(x - y)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(y)));
                }
                expect(Math.abs((got.p90 as number) - (want.p90 as number))).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY * Math.abs(want.p90 as number) + 1e-12);
              }
            });
          },
        ),
        { numRuns: 10 },
      );
    } finally {
      await raw.close();
    }
  }, 240_000);
});
