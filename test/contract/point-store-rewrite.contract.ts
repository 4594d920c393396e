import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDataQuery, parseLatestQuery, type Row } from '../../shared/domain/query';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import type { PointEraser, PointStore, SeriesRewriter } from '../../shared/ports';

/** A store that also rewrites a series' span (derived streams) and erases a deleted stream's points. */
export interface RewritingStoreHandle {
  store: PointStore & SeriesRewriter & PointEraser;
  close(): Promise<void>;
}

const T0 = Date.parse('2026-01-01T00:00:00Z');
const NOW = T0 + 86_400_000;
const s = (seconds: number) => T0 + seconds * 1000;

function makeStream(id: string): Stream {
  return newStream(
    parseStreamInput({ id, name: `Rewrite ${id}`, type: 'iot_sensor', schema: { host: { type: 'string' }, value: { type: 'number' } }, dimensions: ['host'] }),
    new Date(T0),
    () => 'x',
  );
}

const at = (host: string | undefined, seconds: number, value: number): Datapoint => ({ time: s(seconds), dimensions: host === undefined ? {} : { host }, values: { value } });
const all = (stream: Stream) => parseDataQuery(stream, { start: String(T0), end: String(NOW), limit: '10000' }, NOW);
const series = (rows: Row[], host: string | undefined) => rows.filter((r) => r.dimensions.host === host).map((r) => [(r.time - T0) / 1000, r.values.value]);

/**
 * `SeriesRewriter.replaceSeries` (a derived stream's span recomputed) and `PointEraser.eraseStream` (a
 * deleted stream's points), on the stores that keep points they can delete.
 *
 * @example
 * pointStoreRewriteContract('DuckDbPointStore in memory', async () => ({ store, close: () => store.close() }));
 */
export function pointStoreRewriteContract(name: string, makeStore: () => Promise<RewritingStoreHandle>): void {
  describe(`PointStore rewrite and erase contract: ${name}`, () => {
    let handle: RewritingStoreHandle;
    let store: RewritingStoreHandle['store'];
    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
    });
    afterEach(async () => {
      await handle.close();
    });

    it('replaces one series’ points in [start, end] inclusive with new values, drops the ones no longer given, and leaves the rest', async () => {
      const rate = makeStream('rate');
      await store.write(rate, [1, 2, 3, 4, 5, 6].flatMap((t) => [at('a', t, t), at('b', t, t * 10)]));
      const result = await store.replaceSeries(rate, { host: 'a' }, s(2), s(5), [at('a', 2, 20), at('a', 4, 40)]);
      expect(result).toEqual({ written: 2, rejected: [] });
      const rows = await store.query(rate, all(rate));
      expect(series(rows, 'a')).toEqual([[1, 1], [2, 20], [4, 40], [6, 6]]);
      expect(series(rows, 'b')).toEqual([[1, 10], [2, 20], [3, 30], [4, 40], [5, 50], [6, 60]]);
    });

    it('rewrites the series without the dimension apart from the series that have it', async () => {
      const rate = makeStream('rate-missing');
      await store.write(rate, [at(undefined, 1, 1), at(undefined, 2, 2), at('a', 1, 100), at('a', 2, 200)]);
      await store.replaceSeries(rate, {}, s(0), s(10), [at(undefined, 2, 22)]);
      const rows = await store.query(rate, all(rate));
      expect(series(rows, undefined)).toEqual([[2, 22]]);
      expect(series(rows, 'a')).toEqual([[1, 100], [2, 200]]);
    });

    it('writes a span of a stream that has no points yet, and an empty span just deletes', async () => {
      const fresh = makeStream('rate-fresh');
      expect(await store.replaceSeries(fresh, { host: 'a' }, s(0), s(10), [at('a', 3, 3)])).toEqual({ written: 1, rejected: [] });
      expect(series(await store.query(fresh, all(fresh)), 'a')).toEqual([[3, 3]]);
      expect(await store.replaceSeries(fresh, { host: 'a' }, s(3), s(3), [])).toEqual({ written: 0, rejected: [] });
      expect(await store.query(fresh, all(fresh))).toEqual([]);
    });

    it('erases one stream’s points for good, leaves the others, may be repeated, and takes the stream’s id again afterwards', async () => {
      const gone = makeStream('gone');
      const kept = makeStream('kept');
      await store.write(gone, [at('a', 1, 1), at('b', 2, 2)]);
      await store.write(kept, [at('a', 1, 1)]);
      expect(await store.eraseStream(gone.id)).toBe('erased');
      expect(await store.query(gone, all(gone))).toEqual([]);
      expect(await store.latest(gone, parseLatestQuery(gone, {}))).toEqual([]);
      expect(await store.query(kept, all(kept))).toHaveLength(1);
      expect(await store.eraseStream(gone.id)).toBe('erased');
      expect(await store.eraseStream('never-written')).toBe('erased');
      // a point at a time the erased stream held is new, not a repeat of an erased one
      expect(await store.write(gone, [at('a', 1, 5)])).toEqual({ written: 1, rejected: [] });
      expect(series(await store.query(gone, all(gone)), 'a')).toEqual([[1, 5]]);
    });
  });
}
