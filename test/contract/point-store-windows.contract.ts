import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextCursor, parseDataQuery, type Aggregates, type DataQuery, type Row } from '../../shared/domain/query';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import { compileStream } from '../../shared/domain/validate-record';
import type { PointStore } from '../../shared/ports';
import type { PointStoreHandle } from './point-store.contract';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const NOW = T0 + 30 * 86_400_000;
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

function makeStream(id: string): Stream {
  return newStream(
    parseStreamInput({
      id,
      name: `Windows ${id}`,
      type: 'iot_sensor',
      schema: { device: { type: 'string', required: true }, site: { type: 'string' }, y: { type: 'number' }, n: { type: 'integer' } },
      dimensions: ['device', 'site'],
    }),
    new Date(T0),
    () => 'x',
  );
}

const query = (stream: Stream, params: Record<string, string>): DataQuery =>
  parseDataQuery(stream, { start: iso(T0), end: iso(T0 + 86_400_000), fields: 'y', ...params }, NOW);

const field = (row: Row, name = 'y') => row.values[name] as Aggregates;

/**
 * Windows (`window=tumbling|sliding|session`) with every kind of downsampler, on fixtures whose answers are
 * known in closed form: a line gives its slope and r² = 1, three bursts give three sessions, sliding means
 * overlap as arithmetic says, the percentiles of 1..100 are 50, 90, 95 and 99.
 *
 * @example
 * pointStoreWindowsContract('DuckDbPointStore in memory', async () => ({ store, close: () => store.close() }));
 */
export function pointStoreWindowsContract(name: string, makeStore: () => Promise<PointStoreHandle>): void {
  describe(`PointStore windows contract: ${name}`, () => {
    let handle: PointStoreHandle;
    let store: PointStore;
    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
    });
    afterEach(async () => {
      await handle.close();
    });

    async function write(stream: Stream, records: Record<string, unknown>[]): Promise<void> {
      const { points, issues } = compileStream(stream).validate(records, { now: NOW });
      expect(issues).toEqual([]);
      await expect(store.write(stream, points)).resolves.toEqual({ written: records.length, rejected: [] });
    }

    async function all(stream: Stream, params: Record<string, string>): Promise<Row[]> {
      const rows: Row[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 50; page++) {
        const q = query(stream, { ...params, ...(cursor && { cursor }) });
        const got = await store.query(stream, { ...q, limit: q.limit + 1 });
        rows.push(...got.slice(0, q.limit));
        cursor = nextCursor(q, got);
        if (!cursor) break;
      }
      return rows;
    }

    it('gives a line y = 2x + 1 (x in seconds) slope 2 and r² 1 in every tumbling window, on any window size', async () => {
      const stream = makeStream('line');
      await write(stream, Array.from({ length: 60 }, (_, i) => ({ device: 'd1', timestamp: iso(T0 + i * 10_000), y: 2 * (i * 10) + 1 })));
      const rows = await all(stream, { window: 'tumbling:7m', downsamplers: 'trend,count,first' });
      expect(rows.map((r) => r.time)).toEqual([T0, T0 + 7 * MIN]);
      expect(rows.map((r) => field(r).count)).toEqual([42, 18]);
      expect(rows.map((r) => field(r).first)).toEqual([1, 2 * 420 + 1]);
      for (const r of rows) {
        const trend = field(r).trend as { slope: number; r2: number };
        expect(trend.slope).toBeCloseTo(2, 9);
        expect(trend.r2).toBeCloseTo(1, 9);
      }
    });

    it('answers a trend of null for a window with one point, and r² 1 for a flat series', async () => {
      const stream = makeStream('flat');
      await write(stream, [
        { device: 'd1', timestamp: iso(T0), y: 5 },
        { device: 'd1', timestamp: iso(T0 + 10_000), y: 5 },
        { device: 'd1', timestamp: iso(T0 + 10 * MIN), y: 7 },
      ]);
      const rows = await all(stream, { window: 'tumbling:5m', downsamplers: 'trend' });
      expect(rows.map((r) => field(r).trend)).toEqual([{ slope: 0, r2: 1 }, null]);
    });

    it('gives the percentiles of 1..100 as 50, 90, 95 and 99, whatever order the values came in', async () => {
      const stream = makeStream('ranks');
      const values = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);
      await write(stream, values.map((v, i) => ({ device: 'd1', timestamp: iso(T0 + i * 1000), y: v, n: v })));
      const rows = await all(stream, { window: 'tumbling:1h', fields: 'y,n', downsamplers: 'p50,p90,p95,p99,min,max' });
      expect(rows).toHaveLength(1);
      expect(rows[0]!.values).toEqual({ y: { p50: 50, p90: 90, p95: 95, p99: 99, min: 1, max: 100 }, n: { p50: 50, p90: 90, p95: 95, p99: 99, min: 1, max: 100 } });
    });

    it('gives sliding windows their overlapping means: 3m every 1m over 1..10 at each minute', async () => {
      const stream = makeStream('slide');
      await write(stream, Array.from({ length: 10 }, (_, i) => ({ device: 'd1', timestamp: iso(T0 + i * MIN), y: i + 1 })));
      const rows = await all(stream, { window: 'sliding:3m/1m', downsamplers: 'mean,count,sum,min,max,first,last' });
      expect(rows.map((r) => (r.time - T0) / MIN)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(rows.map((r) => field(r).mean)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 9.5, 10]);
      expect(rows.map((r) => field(r).count)).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 2, 1]);
      expect(rows[0]!.values.y).toEqual({ mean: 2, count: 3, sum: 6, min: 1, max: 3, first: 1, last: 3 });
      const paged = await all(stream, { window: 'sliding:3m/1m', downsamplers: 'mean', limit: '3', order: 'desc' });
      expect(paged.map((r) => field(r).mean)).toEqual([10, 9.5, 9, 8, 7, 6, 5, 4, 3, 2]);
      const ascending = await all(stream, { window: 'sliding:3m/1m', downsamplers: 'mean', limit: '4' });
      expect(ascending.map((r) => field(r).mean)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 9.5, 10]);
    });

    it('starts sliding windows at the range start rounded down to the step, and reads only the range', async () => {
      const stream = makeStream('slide-range');
      await write(stream, Array.from({ length: 10 }, (_, i) => ({ device: 'd1', timestamp: iso(T0 + i * MIN), y: i + 1 })));
      const q = parseDataQuery(stream, { start: iso(T0 + 4 * MIN + 30_000), end: iso(T0 + 8 * MIN), fields: 'y', window: 'sliding:2m/1m', downsamplers: 'mean,count' }, NOW);
      const rows = await store.query(stream, q);
      expect(rows.map((r) => [(r.time - T0) / MIN, field(r).mean, field(r).count])).toEqual([
        [4, 6, 1],
        [5, 6.5, 2],
        [6, 7.5, 2],
        [7, 8, 1],
      ]);
    });

    it('splits three bursts into three sessions with their start, end and count, and per series', async () => {
      const stream = makeStream('bursts');
      const burst = (device: string, from: number, count: number, site = 'north') =>
        Array.from({ length: count }, (_, i) => ({ device, site, timestamp: iso(from + i * 30_000), y: i }));
      await write(stream, [
        ...burst('d1', T0, 5),
        ...burst('d1', T0 + 30 * MIN, 3),
        ...burst('d1', T0 + 45 * MIN, 4),
        ...burst('d2', T0 + 5 * MIN, 2),
      ]);
      const rows = await all(stream, { window: 'session:10m', downsamplers: 'count,max', 'dim.device': 'd1' });
      expect(rows.map((r) => [iso(r.time), iso(r.end!), r.count, r.dimensions, field(r).max])).toEqual([
        [iso(T0), iso(T0 + 120_000), 5, { device: 'd1', site: 'north' }, 4],
        [iso(T0 + 30 * MIN), iso(T0 + 31 * MIN), 3, { device: 'd1', site: 'north' }, 2],
        [iso(T0 + 45 * MIN), iso(T0 + 46 * MIN + 30_000), 4, { device: 'd1', site: 'north' }, 3],
      ]);
      const perSeries = await all(stream, { window: 'session:10m', downsamplers: 'count' });
      expect(perSeries.map((r) => [(r.time - T0) / MIN, r.dimensions.device, r.count])).toEqual([
        [0, 'd1', 5],
        [5, 'd2', 2],
        [30, 'd1', 3],
        [45, 'd1', 4],
      ]);
      // grouped by site, d2's burst at minute 5 is within 10 minutes of d1's first one and joins its session
      const bySite = await all(stream, { window: 'session:10m', downsamplers: 'count', groupBy: 'site' });
      expect(bySite.map((r) => [(r.time - T0) / MIN, (r.end! - T0) / MIN, r.dimensions, r.count])).toEqual([
        [0, 5.5, { site: 'north' }, 7],
        [30, 31, { site: 'north' }, 3],
        [45, 46.5, { site: 'north' }, 4],
      ]);
      const paged = await all(stream, { window: 'session:10m', downsamplers: 'count', limit: '1', order: 'desc' });
      expect(paged.map((r) => r.count)).toEqual([4, 3, 2, 5]);
    });

    it('groups every window kind by a dimension', async () => {
      const stream = makeStream('grouped');
      const records = ['north', 'south'].flatMap((site, s) =>
        Array.from({ length: 6 }, (_, i) => ({ device: `d${s}`, site, timestamp: iso(T0 + i * MIN), y: (s + 1) * (i + 1) })),
      );
      await write(stream, records);
      const tumbling = await all(stream, { window: 'tumbling:3m', downsamplers: 'sum', groupBy: 'site' });
      expect(tumbling.map((r) => [(r.time - T0) / MIN, r.dimensions.site, field(r).sum])).toEqual([
        [0, 'north', 6],
        [0, 'south', 12],
        [3, 'north', 15],
        [3, 'south', 30],
      ]);
      const sliding = await all(stream, { window: 'sliding:2m/1m', downsamplers: 'trend', groupBy: 'site', 'dim.site': 'south' });
      expect(sliding).toHaveLength(6);
      expect(sliding.slice(0, 5).map((r) => (field(r).trend as { slope: number }).slope * 60)).toEqual(Array(5).fill(2).map(() => expect.closeTo(2, 9)));
      const sessions = await all(stream, { window: 'session:2m', downsamplers: 'mean', groupBy: 'site' });
      expect(sessions.map((r) => [r.dimensions.site, r.count, field(r).mean])).toEqual([
        ['north', 6, 3.5],
        ['south', 6, 7],
      ]);
    });
  });
}
