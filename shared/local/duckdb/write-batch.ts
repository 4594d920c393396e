/**
 * The write path's sorting: a batch of points into rejected, fresh and suspect ones per series (numbering the
 * series it creates), the order to append them in, and the data chunks the appender takes.
 */
import { BIGINT, DuckDBDataChunk, INTEGER, type DuckDBAppender } from '@duckdb/node-api';
import type { Datapoint } from '../../domain/validate-record';
import type { RejectedPoint } from '../../ports';
import { CHUNK_TYPE, DESCRIBE_KIND, JS_TYPE, type Kind, type SeriesIndex, type Table } from './tables';

/** A write's points sorted by what happens to them (positions in the written array). */
export interface Batch {
  rejected: RejectedPoint[];
  /** Points newer than anything stored for their series: appended as they are. */
  fresh: number[];
  freshSeries: number[];
  /** Points that may repeat a stored one: go through the anti-join. */
  suspects: number[];
  suspectSeries: number[];
  /** Dimension values of the series this batch creates, numbered from `SeriesIndex.count`. */
  newSeries: string[][];
  /** The newest time of each series the batch advances. */
  newest: Map<number, number>;
}

/** Sorts a batch into rejected, fresh and suspect points, numbering new series as it goes. */
export function classify(table: Table, series: SeriesIndex, points: Datapoint[]): Batch {
  const batch: Batch = { rejected: [], fresh: [], freshSeries: [], suspects: [], suspectSeries: [], newSeries: [], newest: new Map() };
  const fields = [...table.measures.keys()];
  const kinds = [...table.measures.values()];
  const dims = table.dims;
  const newest: number[] = [];
  let nextSid = series.count;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const problem = checkPoint(p, fields, kinds);
    if (problem) {
      batch.rejected.push({ index: i, reason: problem });
      continue;
    }
    let node = series.root;
    for (let d = 0; d < dims.length; d++) {
      const v = p.dimensions[dims[d]!] ?? '';
      const next = (node.next ??= new Map());
      let child = next.get(v);
      if (!child) next.set(v, (child = {}));
      node = child;
    }
    let sid = node.sid;
    if (sid === undefined) {
      sid = node.sid = nextSid++;
      batch.newSeries.push(dims.map((d) => p.dimensions[d] ?? ''));
    }
    if (p.time > (newest[sid] ?? series.newest[sid] ?? -Infinity)) {
      newest[sid] = p.time;
      batch.fresh.push(i);
      batch.freshSeries.push(sid);
    } else {
      batch.suspects.push(i);
      batch.suspectSeries.push(sid);
    }
  }
  newest.forEach((time, sid) => batch.newest.set(sid, time));
  return batch;
}

/**
 * The order to append a batch's points of series `sids` in (positions in `sids`), or `undefined` to keep theirs:
 * the series are cut, by number, into groups whose points fill about one vector (`CHUNK_ROWS`), and the groups
 * follow each other, each keeping the batch's order (a stable counting sort). A one-series query then finds its
 * series in few vectors, and within a group time-major points keep equal times in runs, which DuckDB stores as
 * RLE: ordering by series alone made queries over all series slower. A batch that fits one vector keeps its order.
 */
export function seriesOrder(sids: number[]): Int32Array | undefined {
  const n = sids.length;
  if (n <= CHUNK_ROWS) return undefined;
  const distinct = [...new Set(sids)].sort((a, b) => a - b);
  const perGroup = Math.max(1, Math.floor((CHUNK_ROWS * distinct.length) / n));
  if (perGroup >= distinct.length) return undefined;
  const groupOf = new Map(distinct.map((sid, rank) => [sid, Math.floor(rank / perGroup)]));
  const keys = new Int32Array(n);
  const starts = new Int32Array(Math.ceil(distinct.length / perGroup) + 1);
  for (let i = 0; i < n; i++) starts[(keys[i] = groupOf.get(sids[i]!)!) + 1]!++;
  for (let g = 1; g < starts.length; g++) starts[g]! += starts[g - 1]!;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[starts[keys[i]!]!++] = i;
  return order;
}

/** What the validator guarantees, checked again because a wrong type would be stored as garbage. */
function checkPoint(p: Datapoint, fields: string[], kinds: Kind[]): string | undefined {
  if (!Number.isSafeInteger(p.time)) return `time ${String(p.time)} is not an integer of epoch milliseconds`;
  const values = p.values;
  for (let m = 0; m < fields.length; m++) {
    const v = values[fields[m]!];
    if (v === undefined || v === null) continue;
    const kind = kinds[m]!;
    const ok =
      kind === 'double' ? typeof v === 'number' && Number.isFinite(v) : kind === 'bigint' ? Number.isSafeInteger(v) : typeof v === JS_TYPE[kind];
    if (!ok) return `'${fields[m]}' must be ${DESCRIBE_KIND[kind]}, got ${typeof v === 'string' ? 'a string' : String(v)}`;
  }
  return undefined;
}

const CHUNK_ROWS = 2048;

/**
 * Fills data chunks column by column (typed vectors, one copy per column) and appends them: the points
 * `indexes` of series `sids`, in `order` (positions in `indexes`) when given.
 */
export function appendChunks(
  appender: DuckDBAppender,
  table: Table,
  points: Datapoint[],
  indexes: number[],
  sids: number[],
  withIndex: boolean,
  order?: Int32Array,
): void {
  const measures = [...table.measures];
  const types = [INTEGER, BIGINT, ...measures.map(([, kind]) => CHUNK_TYPE[kind]), ...(withIndex ? [INTEGER] : [])];
  const rows = new Int32Array(CHUNK_ROWS);
  const chunkPoints = new Array<Datapoint>(CHUNK_ROWS);
  for (let from = 0; from < indexes.length; from += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, indexes.length - from);
    for (let r = 0; r < n; r++) {
      rows[r] = order ? order[from + r]! : from + r;
      chunkPoints[r] = points[indexes[rows[r]!]!]!;
    }
    const chunk = DuckDBDataChunk.create(types, n);
    const sidVector = chunk.getColumnVector(0);
    const timeVector = chunk.getColumnVector(1);
    for (let r = 0; r < n; r++) {
      sidVector.setItem(r, sids[rows[r]!]!);
      timeVector.setItem(r, BigInt(chunkPoints[r]!.time));
    }
    sidVector.flush();
    timeVector.flush();
    for (let m = 0; m < measures.length; m++) {
      const [field, kind] = measures[m]!;
      const vector = chunk.getColumnVector(2 + m);
      if (kind === 'bigint') {
        for (let r = 0; r < n; r++) {
          const v = chunkPoints[r]!.values[field];
          vector.setItem(r, v === undefined || v === null ? null : BigInt(v as number));
        }
      } else {
        for (let r = 0; r < n; r++) vector.setItem(r, chunkPoints[r]!.values[field] ?? null);
      }
      vector.flush();
    }
    if (withIndex) {
      const vector = chunk.getColumnVector(2 + measures.length);
      for (let r = 0; r < n; r++) vector.setItem(r, rows[r]!);
      vector.flush();
    }
    appender.appendDataChunk(chunk);
  }
}
