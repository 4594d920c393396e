import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextCursor, parseDataQuery, parseLatestQuery, type DataQuery, type Row } from '../../shared/domain/query';
import { applyPatch, newStream, parseStreamInput, parseStreamPatch, type Stream } from '../../shared/domain/stream-definition';
import { compileStream, type Datapoint } from '../../shared/domain/validate-record';
import type { PointStore } from '../../shared/ports';

/**
 * What a contract run needs: a store on a real engine, and how to dispose of it.
 *
 * @example
 * const handle: PointStoreHandle = { store, close: () => store.close() };
 */
export interface PointStoreHandle {
  store: PointStore;
  close(): Promise<void>;
}

const T0 = Date.parse('2026-01-01T00:00:00Z');
const NOW = T0 + 30 * 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const s = (seconds: number) => T0 + seconds * 1000;

/** A stream as a user's `POST /v1/streams` body creates it. */
function makeStream(id: string, body: Record<string, unknown>): Stream {
  return newStream(parseStreamInput({ id, name: `Contract ${id}`, type: 'iot_sensor', ...body }), new Date(T0), () => 'x');
}

/** Records as a client posts them, through the stream's validator (fails the test on any issue). */
function pointsOf(stream: Stream, records: Record<string, unknown>[]): Datapoint[] {
  const { points, issues } = compileStream(stream).validate(records, { now: NOW });
  expect(issues).toEqual([]);
  return points;
}

/** `/data` parameters as a user sends them; the range defaults to the first day after T0. */
function dataQuery(stream: Stream, params: Record<string, string> = {}): DataQuery {
  const range = { ...(params.startExclusive === undefined && { start: iso(T0) }), ...(params.endExclusive === undefined && { end: iso(T0 + 86_400_000) }) };
  return parseDataQuery(stream, { ...range, ...params }, NOW);
}

/** Follows `nextCursor` the way the query handler does (asks for limit + 1) and returns every page. */
async function allPages(store: PointStore, stream: Stream, params: Record<string, string>): Promise<Row[][]> {
  const pages: Row[][] = [];
  let cursor: string | undefined;
  do {
    const q = dataQuery(stream, { ...params, ...(cursor && { cursor }) });
    const rows = await store.query(stream, { ...q, limit: q.limit + 1 });
    pages.push(rows.slice(0, q.limit));
    cursor = nextCursor(q, rows);
  } while (cursor && pages.length < 50);
  return pages;
}

const climateDefinition = {
  schema: {
    site: { type: 'string', required: true },
    room: { type: 'string' },
    temp: { type: 'number' },
    people: { type: 'integer' },
    label: { type: 'string' },
    open: { type: 'boolean' },
  },
  dimensions: ['site', 'room'],
};

/**
 * Three series: A (site a, room r1), B (site b, room r1), C (site a, room r2). Minute 0 holds A@0s=1,
 * B@10s=100, A@20s=2, C@20s=5, A@40s=6; minute 1 holds A@60s=10, A@80s (no temp, people 3), B@100s=200.
 */
const climateRecords = [
  { site: 'a', room: 'r1', timestamp: iso(s(0)), temp: 1, label: 'a0', open: true },
  { site: 'b', room: 'r1', timestamp: iso(s(10)), temp: 100, label: 'b10' },
  { site: 'a', room: 'r1', timestamp: iso(s(20)), temp: 2, label: 'a20' },
  { site: 'a', room: 'r2', timestamp: iso(s(20)), temp: 5, label: 'c20' },
  { site: 'a', room: 'r1', timestamp: iso(s(40)), temp: 6, label: 'a40', open: false },
  { site: 'a', room: 'r1', timestamp: iso(s(60)), temp: 10 },
  { site: 'a', room: 'r1', timestamp: iso(s(80)), people: 3 },
  { site: 'b', room: 'r1', timestamp: iso(s(100)), temp: 200 },
];

/**
 * The behaviour every `PointStore` adapter owes the query API, run against a real engine. Streams, records
 * and queries are built the way a user's requests build them (`parseStreamInput`, the validator,
 * `parseDataQuery`), so the suite checks the path users take.
 *
 * @example
 * pointStoreContract('DuckDbPointStore in memory', async () => {
 *   const store = await DuckDbPointStore.open(':memory:');
 *   return { store, close: () => store.close() };
 * });
 */
export function pointStoreContract(name: string, makeStore: () => Promise<PointStoreHandle>): void {
  describe(`PointStore contract: ${name}`, () => {
    let handle: PointStoreHandle;
    let store: PointStore;
    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
    });
    afterEach(async () => {
      await handle.close();
    });

    async function climate(id = 'climate'): Promise<Stream> {
      const stream = makeStream(id, climateDefinition);
      await expect(store.write(stream, pointsOf(stream, climateRecords))).resolves.toEqual({ written: 8, rejected: [] });
      return stream;
    }

    describe('raw rows', () => {
      it('returns every value with the type the schema gives it, and null for a field the record lacked', async () => {
        const stream = makeStream('types', {
          schema: {
            deviceId: { type: 'string', required: true },
            zone: { type: 'integer' },
            temperature: { type: 'number' },
            count: { type: 'integer' },
            ok: { type: 'boolean' },
            label: { type: 'string' },
            seenAt: { type: 'datetime' },
            meta: { type: 'object' },
            tags: { type: 'array' },
          },
          dimensions: ['deviceId', 'zone'],
        });
        const points = pointsOf(stream, [
          {
            deviceId: 'd1',
            zone: 7,
            timestamp: '2026-01-01T00:00:00.250Z',
            temperature: -18.5,
            count: Number.MAX_SAFE_INTEGER,
            ok: false,
            label: 'ünïcödé "quoted" \\ ok',
            seenAt: '2026-01-01T01:00:00+01:00',
            meta: { a: [1, { b: null }] },
            tags: ['x', 'y'],
          },
          { deviceId: 'd2', timestamp: '2026-01-01T00:00:01Z', count: -3, ok: true },
        ]);
        await expect(store.write(stream, points)).resolves.toEqual({ written: 2, rejected: [] });

        const rows = await store.query(stream, dataQuery(stream));
        expect(rows).toStrictEqual([
          {
            time: T0 + 250,
            dimensions: { deviceId: 'd1', zone: '7' },
            values: {
              temperature: -18.5,
              count: Number.MAX_SAFE_INTEGER,
              ok: false,
              label: 'ünïcödé "quoted" \\ ok',
              seenAt: T0,
              meta: '{"a":[1,{"b":null}]}',
              tags: '["x","y"]',
            },
          },
          {
            time: T0 + 1000,
            dimensions: { deviceId: 'd2' },
            values: { temperature: null, count: -3, ok: true, label: null, seenAt: null, meta: null, tags: null },
          },
        ]);
      });

      it('returns only the fields asked for', async () => {
        const stream = await climate();
        const rows = await store.query(stream, dataQuery(stream, { fields: 'temp,open', 'dim.site': 'b' }));
        expect(rows).toStrictEqual([
          { time: s(10), dimensions: { site: 'b', room: 'r1' }, values: { temp: 100, open: null } },
          { time: s(100), dimensions: { site: 'b', room: 'r1' }, values: { temp: 200, open: null } },
        ]);
      });

      it('keeps the range half-open: a point at start is in, a point at end is out', async () => {
        const stream = await climate();
        const rows = await store.query(stream, dataQuery(stream, { start: iso(s(20)), end: iso(s(60)), fields: 'temp' }));
        expect(rows.map((r) => [r.time, r.dimensions.site, r.dimensions.room])).toEqual([
          [s(20), 'a', 'r1'],
          [s(20), 'a', 'r2'],
          [s(40), 'a', 'r1'],
        ]);
      });

      it('excludes a startExclusive and answers newest first with reverse=true (the document’s get_data)', async () => {
        const stream = await climate();
        const rows = await store.query(stream, dataQuery(stream, { startExclusive: iso(s(20)), endExclusive: iso(s(80)), fields: 'temp', reverse: 'true' }));
        expect(rows.map((r) => [r.time, r.dimensions.site, r.dimensions.room])).toEqual([
          [s(60), 'a', 'r1'],
          [s(40), 'a', 'r1'],
        ]);
        const bins = await store.query(stream, dataQuery(stream, { startExclusive: iso(s(0)), granularity: '1m', fields: 'temp', downsamplers: 'count,first', reverse: 'true' }));
        expect(bins.map((r) => [r.time, r.values.temp])).toEqual([
          [s(60), { count: 2, first: 10 }],
          [s(0), { count: 4, first: 100 }],
        ]);
      });

      it('orders by time, then by the dimensions, ascending or descending', async () => {
        const stream = await climate();
        const key = (r: Row) => `${r.time - T0}:${r.dimensions.site}/${r.dimensions.room}`;
        const asc = await store.query(stream, dataQuery(stream, { fields: 'temp' }));
        expect(asc.map(key)).toEqual(['0:a/r1', '10000:b/r1', '20000:a/r1', '20000:a/r2', '40000:a/r1', '60000:a/r1', '80000:a/r1', '100000:b/r1']);
        const desc = await store.query(stream, dataQuery(stream, { fields: 'temp', order: 'desc' }));
        expect(desc.map(key)).toEqual([...asc.map(key)].reverse());
      });

      it('returns at most limit rows, the first ones in the order asked', async () => {
        const stream = await climate();
        const asc = await store.query(stream, dataQuery(stream, { fields: 'temp', limit: '3' }));
        expect(asc.map((r) => r.time)).toEqual([s(0), s(10), s(20)]);
        const desc = await store.query(stream, dataQuery(stream, { fields: 'temp', limit: '2', order: 'desc' }));
        expect(desc.map((r) => r.time)).toEqual([s(100), s(80)]);
      });

      it('keeps only the series a dimension filter names, with one value or several, and across two dimensions', async () => {
        const stream = await climate();
        const series = (rows: Row[]) => [...new Set(rows.map((r) => `${r.dimensions.site}/${r.dimensions.room}`))];
        expect(series(await store.query(stream, dataQuery(stream, { 'dim.site': 'b' })))).toEqual(['b/r1']);
        expect(series(await store.query(stream, dataQuery(stream, { 'dim.room': 'r1,r2' })))).toEqual(['a/r1', 'b/r1', 'a/r2']);
        expect(series(await store.query(stream, dataQuery(stream, { 'dim.site': 'a', 'dim.room': 'r2' })))).toEqual(['a/r2']);
        expect(await store.query(stream, dataQuery(stream, { 'dim.site': 'nowhere' }))).toEqual([]);
      });

      it('omits a dimension a point did not have and sorts it as the empty string', async () => {
        const stream = makeStream('partial', climateDefinition);
        await store.write(stream, pointsOf(stream, [
          { site: 'a', room: 'r1', timestamp: iso(s(0)), temp: 1 },
          { site: 'a', timestamp: iso(s(0)), temp: 2 },
        ]));
        const rows = await store.query(stream, dataQuery(stream, { fields: 'temp' }));
        expect(rows).toStrictEqual([
          { time: s(0), dimensions: { site: 'a' }, values: { temp: 2 } },
          { time: s(0), dimensions: { site: 'a', room: 'r1' }, values: { temp: 1 } },
        ]);
      });
    });

    describe('downsampled rows', () => {
      it('aggregates each epoch-aligned bin across all series: mean, min, max, sum, count, first, last, stddev', async () => {
        const stream = await climate();
        const rows = await store.query(stream, dataQuery(stream, { granularity: '1m', fields: 'temp', downsamplers: 'mean,min,max,sum,count,first,last,stddev' }));
        expect(rows.map((r) => [r.time, r.dimensions])).toEqual([
          [s(0), {}],
          [s(60), {}],
        ]);
        // minute 0: 1, 100, 2, 5, 6 (first at 0 s, last at 40 s); minute 1: 10, 200 (the 80 s point has no temp)
        expect(rows[0]!.values.temp).toEqual({ mean: expect.closeTo(22.8, 9), min: 1, max: 100, sum: 114, count: 5, first: 1, last: 6, stddev: expect.closeTo(Math.sqrt(7466.8 / 4), 9) });
        expect(rows[1]!.values.temp).toEqual({ mean: 105, min: 10, max: 200, sum: 210, count: 2, first: 10, last: 200, stddev: expect.closeTo(Math.sqrt(18050), 9) });
      });

      it('labels a bin with its epoch-aligned start even when the range starts inside it', async () => {
        const stream = await climate();
        const rows = await store.query(stream, dataQuery(stream, { start: iso(s(10)), end: iso(s(50)), granularity: '1m', fields: 'temp', downsamplers: 'count,first,last' }));
        expect(rows).toEqual([{ time: s(0), dimensions: {}, values: { temp: { count: 4, first: 100, last: 6 } } }]);
        const hourly = await store.query(stream, dataQuery(stream, { start: iso(s(30)), granularity: '1h', fields: 'temp', downsamplers: 'count' }));
        expect(hourly).toEqual([{ time: T0, dimensions: {}, values: { temp: { count: 3 } } }]);
      });

      it('bins granularity=months by UTC calendar month (30 and 31 days alike), and pages through them newest first', async () => {
        const stream = makeStream('months', climateDefinition);
        const at = (time: string, temp: number) => ({ site: 'a', room: 'r1', timestamp: time, temp });
        const records = [at('2025-10-31T23:59:59.999Z', 1), at('2025-11-01T00:00:00Z', 2), at('2025-11-30T12:00:00Z', 3), at('2025-12-01T00:00:00Z', 4), at('2025-12-31T23:59:59Z', 5)];
        await store.write(stream, pointsOf(stream, records));
        const params = { start: '2025-10-01T00:00:00Z', end: '2026-01-01T00:00:00Z', granularity: 'months', fields: 'temp', downsamplers: 'count,sum,first,last' };
        const rows = await store.query(stream, dataQuery(stream, params));
        expect(rows.map((r) => [iso(r.time), r.values.temp])).toEqual([
          ['2025-10-01T00:00:00.000Z', { count: 1, sum: 1, first: 1, last: 1 }],
          ['2025-11-01T00:00:00.000Z', { count: 2, sum: 5, first: 2, last: 3 }],
          ['2025-12-01T00:00:00.000Z', { count: 2, sum: 9, first: 4, last: 5 }],
        ]);
        const pages = await allPages(store, stream, { ...params, reverse: 'true', limit: '1' });
        expect(pages.flat().map((r) => iso(r.time))).toEqual(['2025-12-01T00:00:00.000Z', '2025-11-01T00:00:00.000Z', '2025-10-01T00:00:00.000Z']);
      });

      it('counts only the values a field has, and gives null where a bin has none', async () => {
        const stream = await climate();
        const rows = await store.query(stream, dataQuery(stream, { granularity: '1m', fields: 'temp,people', downsamplers: 'mean,count,last' }));
        expect(rows.map((r) => r.values)).toEqual([
          { temp: { mean: expect.closeTo(22.8, 9), count: 5, last: 6 }, people: { mean: null, count: 0, last: null } },
          { temp: { mean: 105, count: 2, last: 200 }, people: { mean: 3, count: 1, last: 3 } },
        ]);
      });

      it('uses the default downsamplers mean, min, max and count on the numeric fields', async () => {
        const stream = await climate();
        const [first] = await store.query(stream, dataQuery(stream, { granularity: '1h' }));
        expect(first!.values).toEqual({
          temp: { mean: expect.closeTo(324 / 7, 9), min: 1, max: 200, count: 7 },
          people: { mean: 3, min: 3, max: 3, count: 1 },
        });
      });

      it('takes first and last of a string or boolean field as that field’s value', async () => {
        const stream = await climate();
        const [bin] = await store.query(stream, dataQuery(stream, { granularity: '1m', fields: 'label,open', downsamplers: 'first,last,count', 'dim.site': 'a' }));
        expect(bin!.values).toEqual({ label: { first: 'a0', last: 'a40', count: 4 }, open: { first: true, last: false, count: 2 } });
      });

      it('aggregates per value of each groupBy dimension, keeping the dimension filters', async () => {
        const stream = await climate();
        const bySite = await store.query(stream, dataQuery(stream, { granularity: '1m', fields: 'temp', downsamplers: 'mean,count,first,last', groupBy: 'site' }));
        expect(bySite).toEqual([
          { time: s(0), dimensions: { site: 'a' }, values: { temp: { mean: 3.5, count: 4, first: 1, last: 6 } } },
          { time: s(0), dimensions: { site: 'b' }, values: { temp: { mean: 100, count: 1, first: 100, last: 100 } } },
          { time: s(60), dimensions: { site: 'a' }, values: { temp: { mean: 10, count: 1, first: 10, last: 10 } } },
          { time: s(60), dimensions: { site: 'b' }, values: { temp: { mean: 200, count: 1, first: 200, last: 200 } } },
        ]);
        const byBoth = await store.query(stream, dataQuery(stream, { granularity: '1m', fields: 'temp', downsamplers: 'sum', groupBy: 'site,room', 'dim.room': 'r1', order: 'desc' }));
        expect(byBoth.map((r) => [r.time, r.dimensions, r.values.temp])).toEqual([
          [s(60), { site: 'b', room: 'r1' }, { sum: 200 }],
          [s(60), { site: 'a', room: 'r1' }, { sum: 10 }],
          [s(0), { site: 'b', room: 'r1' }, { sum: 100 }],
          [s(0), { site: 'a', room: 'r1' }, { sum: 9 }],
        ]);
      });

      it('aggregates a filtered set of series together when there is no groupBy', async () => {
        const stream = await climate();
        const rows = await store.query(stream, dataQuery(stream, { granularity: '1m', fields: 'temp', downsamplers: 'sum,count', 'dim.site': 'a' }));
        expect(rows).toEqual([
          { time: s(0), dimensions: {}, values: { temp: { sum: 14, count: 4 } } },
          { time: s(60), dimensions: {}, values: { temp: { sum: 10, count: 1 } } },
        ]);
      });
    });

    describe('paging', () => {
      /** Four series reporting at the same four instants, one of them without a room. */
      async function fleet(): Promise<Stream> {
        const stream = makeStream('fleet', climateDefinition);
        const records = [0, 1, 2, 3].flatMap((i) => [
          { site: 'a', room: 'r1', timestamp: iso(s(i * 30)), temp: i },
          { site: 'a', room: 'r2', timestamp: iso(s(i * 30)), temp: 10 + i },
          { site: 'b', room: 'r1', timestamp: iso(s(i * 30)), temp: 20 + i },
          { site: 'a', timestamp: iso(s(i * 30)), temp: 30 + i },
        ]);
        await store.write(stream, pointsOf(stream, records));
        return stream;
      }
      const key = (r: Row) => JSON.stringify([r.time, r.dimensions]);

      for (const order of ['asc', 'desc'] as const) {
        it(`returns every raw row exactly once across pages, in ${order} order, when series share timestamps`, async () => {
          const stream = await fleet();
          const whole = await store.query(stream, dataQuery(stream, { order, limit: '100' }));
          expect(whole).toHaveLength(16);
          const pages = await allPages(store, stream, { order, limit: '5' });
          expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 1]);
          expect(pages.flat().map(key)).toEqual(whole.map(key));
        });
      }

      it('returns every downsampled row exactly once across pages', async () => {
        const stream = await fleet();
        const params = { granularity: '1m', fields: 'temp', downsamplers: 'sum', groupBy: 'room' };
        const whole = await store.query(stream, dataQuery(stream, { ...params, limit: '100' }));
        expect(whole.map((r) => [r.time, r.dimensions, r.values.temp])).toEqual([
          [s(0), {}, { sum: 30 + 31 }],
          [s(0), { room: 'r1' }, { sum: 0 + 1 + 20 + 21 }],
          [s(0), { room: 'r2' }, { sum: 10 + 11 }],
          [s(60), {}, { sum: 32 + 33 }],
          [s(60), { room: 'r1' }, { sum: 2 + 3 + 22 + 23 }],
          [s(60), { room: 'r2' }, { sum: 12 + 13 }],
        ]);
        for (const order of ['asc', 'desc']) {
          const pages = await allPages(store, stream, { ...params, order, limit: '4' });
          expect(pages.map((p) => p.length)).toEqual([4, 2]);
          expect(pages.flat().map(key)).toEqual((order === 'asc' ? whole : [...whole].reverse()).map(key));
        }
      });
    });

    describe('writes', () => {
      it('leaves one row when the same batch is written twice', async () => {
        const stream = await climate();
        const before = await store.query(stream, dataQuery(stream));
        await expect(store.write(stream, pointsOf(stream, climateRecords))).resolves.toEqual({ written: 8, rejected: [] });
        expect(await store.query(stream, dataQuery(stream))).toEqual(before);
        const [count] = await store.query(stream, dataQuery(stream, { granularity: '1d', fields: 'temp', downsamplers: 'count' }));
        expect(count!.values.temp).toEqual({ count: 7 });
      });

      it('leaves one row for a point repeated inside a batch, and keeps the value stored first', async () => {
        const stream = makeStream('repeats', climateDefinition);
        await store.write(stream, pointsOf(stream, [
          { site: 'a', timestamp: iso(s(0)), temp: 1 },
          { site: 'a', timestamp: iso(s(0)), temp: 1 },
          { site: 'a', timestamp: iso(s(5)), temp: 2 },
        ]));
        await store.write(stream, pointsOf(stream, [
          { site: 'a', timestamp: iso(s(5)), temp: 99 },
          { site: 'a', timestamp: iso(s(9)), temp: 3 },
        ]));
        const rows = await store.query(stream, dataQuery(stream, { fields: 'temp' }));
        expect(rows.map((r) => [r.time, r.values.temp])).toEqual([
          [s(0), 1],
          [s(5), 2],
          [s(9), 3],
        ]);
      });

      it('keeps late points older than what a series already holds', async () => {
        const stream = makeStream('late', climateDefinition);
        await store.write(stream, pointsOf(stream, [{ site: 'a', timestamp: iso(s(100)), temp: 100 }]));
        await store.write(stream, pointsOf(stream, [
          { site: 'a', timestamp: iso(s(50)), temp: 50 },
          { site: 'a', timestamp: iso(s(200)), temp: 200 },
          { site: 'a', timestamp: iso(s(150)), temp: 150 },
          { site: 'b', timestamp: iso(s(20)), temp: 20 },
          { site: 'b', timestamp: iso(s(10)), temp: 10 },
        ]));
        const rows = await store.query(stream, dataQuery(stream, { fields: 'temp' }));
        expect(rows.map((r) => [r.dimensions.site, r.values.temp])).toEqual([
          ['b', 10],
          ['b', 20],
          ['a', 50],
          ['a', 100],
          ['a', 150],
          ['a', 200],
        ]);
      });

      it('stores a field the schema gained between writes, and returns null for it on older rows', async () => {
        const v1 = makeStream('growing', climateDefinition);
        await store.write(v1, pointsOf(v1, [{ site: 'a', timestamp: iso(s(0)), temp: 1 }]));
        const v2 = applyPatch(v1, parseStreamPatch({ schema: { pressure: { type: 'number' }, note: { type: 'string' } } }), new Date(T0));
        expect(v2.version).toBe(v1.version + 1);

        const beforeWrite = await store.query(v2, dataQuery(v2, { fields: 'temp,pressure' }));
        expect(beforeWrite.map((r) => r.values)).toEqual([{ temp: 1, pressure: null }]);
        const [binBefore] = await store.query(v2, dataQuery(v2, { granularity: '1h', fields: 'pressure,note', downsamplers: 'count,last' }));
        expect(binBefore!.values).toEqual({ pressure: { count: 0, last: null }, note: { count: 0, last: null } });
        expect(await store.latest(v2, parseLatestQuery(v2, { fields: 'pressure' }))).toEqual([{ time: s(0), dimensions: { site: 'a' }, values: { pressure: null } }]);

        await store.write(v2, pointsOf(v2, [{ site: 'a', timestamp: iso(s(1)), temp: 2, pressure: 1013.25, note: 'new' }]));
        const rows = await store.query(v2, dataQuery(v2, { fields: 'temp,pressure,note' }));
        expect(rows.map((r) => r.values)).toEqual([
          { temp: 1, pressure: null, note: null },
          { temp: 2, pressure: 1013.25, note: 'new' },
        ]);
        const [bin] = await store.query(v2, dataQuery(v2, { granularity: '1h', fields: 'pressure', downsamplers: 'max,count' }));
        expect(bin!.values).toEqual({ pressure: { max: 1013.25, count: 1 } });
      });

      it('accepts an empty batch', async () => {
        const stream = makeStream('empty', climateDefinition);
        await expect(store.write(stream, [])).resolves.toEqual({ written: 0, rejected: [] });
      });
    });

    describe('latest', () => {
      it('returns the newest row of each series, whichever order the points arrived in', async () => {
        const stream = await climate();
        await store.write(stream, pointsOf(stream, [{ site: 'a', room: 'r2', timestamp: iso(s(5)), temp: -5 }]));
        const rows = await store.latest(stream, parseLatestQuery(stream, {}));
        expect(rows).toHaveLength(3);
        const bySeries = Object.fromEntries(rows.map((r) => [`${r.dimensions.site}/${r.dimensions.room}`, r]));
        expect(bySeries).toEqual({
          'a/r1': { time: s(80), dimensions: { site: 'a', room: 'r1' }, values: { temp: null, people: 3, label: null, open: null } },
          'b/r1': { time: s(100), dimensions: { site: 'b', room: 'r1' }, values: { temp: 200, people: null, label: null, open: null } },
          'a/r2': { time: s(20), dimensions: { site: 'a', room: 'r2' }, values: { temp: 5, people: null, label: 'c20', open: null } },
        });
      });

      it('keeps the series the filters name and returns the fields asked for', async () => {
        const stream = await climate();
        const one = await store.latest(stream, parseLatestQuery(stream, { 'dim.site': 'b', fields: 'temp' }));
        expect(one).toEqual([{ time: s(100), dimensions: { site: 'b', room: 'r1' }, values: { temp: 200 } }]);
        const several = await store.latest(stream, parseLatestQuery(stream, { 'dim.room': 'r2,nowhere', fields: 'temp,label' }));
        expect(several).toEqual([{ time: s(20), dimensions: { site: 'a', room: 'r2' }, values: { temp: 5, label: 'c20' } }]);
        expect(await store.latest(stream, parseLatestQuery(stream, { 'dim.site': 'nowhere' }))).toEqual([]);
      });

      it('sees a series created after the first look at the stream', async () => {
        const stream = await climate();
        expect(await store.latest(stream, parseLatestQuery(stream, { fields: 'temp' }))).toHaveLength(3);
        await store.write(stream, pointsOf(stream, [{ site: 'c', timestamp: iso(s(1)), temp: 7 }]));
        const rows = await store.latest(stream, parseLatestQuery(stream, { fields: 'temp' }));
        expect(rows.find((r) => r.dimensions.site === 'c')).toEqual({ time: s(1), dimensions: { site: 'c' }, values: { temp: 7 } });
      });
    });

    describe('a stream without dimensions', () => {
      it('is one series: raw rows, bins and latest work without any dimension', async () => {
        const stream = makeStream('solo', { schema: { level: { type: 'number' } } });
        await store.write(stream, pointsOf(stream, [
          { timestamp: iso(s(0)), level: 1 },
          { timestamp: iso(s(30)), level: 3 },
          { timestamp: iso(s(30)), level: 9 },
        ]));
        expect(await store.query(stream, dataQuery(stream))).toEqual([
          { time: s(0), dimensions: {}, values: { level: 1 } },
          { time: s(30), dimensions: {}, values: { level: 3 } },
        ]);
        expect(await store.query(stream, dataQuery(stream, { granularity: '1m', downsamplers: 'mean' }))).toEqual([{ time: s(0), dimensions: {}, values: { level: { mean: 2 } } }]);
        expect(await store.latest(stream, parseLatestQuery(stream, {}))).toEqual([{ time: s(30), dimensions: {}, values: { level: 3 } }]);
      });
    });

    describe('a stream never written', () => {
      it('returns no rows from query and latest, without an error', async () => {
        const stream = makeStream('silent', climateDefinition);
        expect(await store.query(stream, dataQuery(stream))).toEqual([]);
        expect(await store.query(stream, dataQuery(stream, { granularity: '1h', groupBy: 'site' }))).toEqual([]);
        expect(await store.latest(stream, parseLatestQuery(stream, {}))).toEqual([]);
      });
    });
  });
}
