import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxDbPointStore } from '../../shared/aws/influxdb-point-store';
import { downsamplePoints } from '../../shared/domain/aggregate-points';
import { parseDataQuery, type Aggregates } from '../../shared/domain/query';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';
import { ensureInfluxd, startInfluxd, type Influxd } from '../fixtures/influxd';

// The two shortcuts of InfluxDbPointStore on a real influxd 1.6: writes that skip the duplicate check when
// every point is newer than its series' newest (known to this process), and bins aggregated by InfluxQL.
const missing = ensureInfluxd();
if (missing) console.error(`\n*** InfluxDbPointStore shortcuts SKIPPED: ${missing} ***\n`);

const stream = newStream(
  parseStreamInput({ id: 'fast', name: 'Fast', type: 'iot_sensor', schema: { site: { type: 'string' }, room: { type: 'string' }, temp: { type: 'number' }, n: { type: 'integer' }, note: { type: 'string' } }, dimensions: ['site', 'room'] }),
  new Date(0),
  () => 'x',
);

describe.skipIf(missing !== undefined)('InfluxDbPointStore shortcuts on influxd', () => {
  let influx: Influxd;
  let databases = 0;
  beforeAll(async () => {
    influx = await startInfluxd();
  }, 60_000);
  afterAll(async () => {
    await influx?.stop();
  });
  const storeOn = async (database: string, newestTtlMs?: number) => {
    const store = new InfluxDbPointStore({ url: influx.url, database, ...(newestTtlMs !== undefined && { newestTtlMs }) });
    await store.ensureDatabase();
    return store;
  };
  const temps = async (store: InfluxDbPointStore) => (await store.query(stream, parseDataQuery(stream, { start: '0', end: '100000', fields: 'temp' }, 0))).map((r) => [r.time, r.dimensions.site, r.values.temp]);

  it('keeps the first value when a second process, whose cache is cold, writes the same series and times again', async () => {
    const database = `fast_${++databases}`;
    const first = await storeOn(database);
    await first.write(stream, [
      { time: 1_000, dimensions: { site: 'a' }, values: { temp: 1 } },
      { time: 2_000, dimensions: { site: 'a' }, values: { temp: 2 } },
    ]);
    const second = await storeOn(database);
    expect(await second.write(stream, [
      { time: 2_000, dimensions: { site: 'a' }, values: { temp: 99 } },
      { time: 3_000, dimensions: { site: 'a' }, values: { temp: 3 } },
    ])).toEqual({ written: 2, rejected: [] });
    // the first process's cache knows 2,000 as a's newest: an older point goes through the duplicate check
    await first.write(stream, [{ time: 1_000, dimensions: { site: 'a' }, values: { temp: 98 } }]);
    expect(await temps(first)).toEqual([
      [1_000, 'a', 1],
      [2_000, 'a', 2],
      [3_000, 'a', 3],
    ]);
  });

  it('sees, once its cache is older than newestTtlMs, what another process stored meanwhile', async () => {
    const database = `fast_${++databases}`;
    const mine = await storeOn(database, 200);
    const other = await storeOn(database, 200);
    await mine.write(stream, [{ time: 1_000, dimensions: { site: 'b' }, values: { temp: 1 } }]);
    await other.write(stream, [{ time: 5_000, dimensions: { site: 'b' }, values: { temp: 5 } }]);
    await new Promise((ok) => setTimeout(ok, 250));
    await mine.write(stream, [{ time: 5_000, dimensions: { site: 'b' }, values: { temp: 55 } }]);
    expect(await temps(mine)).toEqual([
      [1_000, 'b', 1],
      [5_000, 'b', 5],
    ]);
  });

  it('reads before every write with a newestTtlMs of 0', async () => {
    const database = `fast_${++databases}`;
    const mine = await storeOn(database, 0);
    const other = await storeOn(database, 0);
    await mine.write(stream, [{ time: 1_000, dimensions: {}, values: { temp: 1 } }]);
    await other.write(stream, [{ time: 2_000, dimensions: {}, values: { temp: 2 } }]);
    await mine.write(stream, [{ time: 2_000, dimensions: {}, values: { temp: 22 } }]);
    expect(await temps(mine)).toEqual([
      [1_000, undefined, 1],
      [2_000, undefined, 2],
    ]);
  });

  it('answers bins of count, sum, mean, min, max and stddev (the sample one, null for one value) as computed from the raw points, on any points, bin, groupBy and filter', async () => {
    const sent: string[] = [];
    const recording: typeof fetch = (input, init) => {
      sent.push(new URL(String(input)).searchParams.get('q') ?? '');
      return fetch(input, init);
    };
    const store = new InfluxDbPointStore({ url: influx.url, database: `fast_${++databases}`, fetch: recording });
    await store.ensureDatabase();
    let run = 0;
    const point = fc.record({
      time: fc.integer({ min: 0, max: 99_999 }),
      site: fc.constantFrom('a', 'b', ''),
      room: fc.constantFrom('r1', ''),
      temp: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
      n: fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: undefined }),
      note: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(point, { minLength: 1, maxLength: 40 }),
        fc.constantFrom('1s', '10s', '1m', '1h'),
        fc.subarray(['count', 'sum', 'mean', 'min', 'max', 'stddev'], { minLength: 1 }),
        fc.subarray(['site', 'room']),
        fc.constantFrom(undefined, 'a', 'b'),
        fc.integer({ min: 0, max: 50_000 }),
        async (points, granularity, downsamplers, groupBy, site, start) => {
          const s = { ...stream, id: `fast_${++run}` };
          await store.write(s, points.map((p) => ({ time: p.time, dimensions: { ...(p.site && { site: p.site }), ...(p.room && { room: p.room }) }, values: { ...(p.temp !== undefined && { temp: p.temp }), ...(p.n !== undefined && { n: p.n }), ...(p.note !== undefined && { note: p.note }) } })));
          const params = { start: String(start), end: '100000', granularity, fields: downsamplers.every((d) => d === 'count') ? 'temp,n,note' : 'temp,n', downsamplers: downsamplers.join(','), limit: '10000', ...(groupBy.length && { groupBy: groupBy.join(',') }), ...(site && { 'dim.site': site }) };
          const q = parseDataQuery(s, params, 0);
          const raw = await store.query(s, parseDataQuery(s, { start: String(start), end: '100000', fields: q.fields.join(','), limit: '10000', ...(site && { 'dim.site': site }) }, 0));
          const expected = downsamplePoints(q, raw.map((r) => ({ time: r.time, dimensions: r.dimensions, values: Object.fromEntries(q.fields.map((f) => [f, (r.values[f] ?? null) as never])) })));
          sent.length = 0;
          const got = await store.query(s, q);
          // one statement, InfluxDB's aggregates: no raw point was read
          expect(sent).toEqual([expect.stringMatching(/^SELECT count\("\$point"\) AS "points", .* GROUP BY time\(\d+ms\).* fill\(none\)$/)]);
          expect(got.map((r) => [r.time, r.dimensions])).toEqual(expected.map((r) => [r.time, r.dimensions]));
          got.forEach((row, i) => {
            for (const f of q.fields) for (const d of q.downsamplers) {
              const want = (expected[i]!.values[f] as Aggregates)[d];
              const have = (row.values[f] as Aggregates)[d];
              if (typeof want === 'number' && typeof have === 'number') expect(have).toBeCloseTo(want, 6);
              else expect(have).toEqual(want);
            }
          });
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
