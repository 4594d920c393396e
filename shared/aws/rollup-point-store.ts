import type { DataQuery, Row } from '../domain/query';
import { binEnd, binStart, storedLevels, touchedBins, type RollupLevel } from '../domain/rollup-levels';
import { mergeStates, rollupOf, type RollupBin } from '../domain/rollup-state';
import type { Stream } from '../domain/stream-definition';
import type { Datapoint, Value } from '../domain/validate-record';
import type { PointStore, RollupReader, WriteResult } from '../ports';
import { RollupReadStore } from './rollup-read-store';
import type { DynamoDbRollupBins } from './dynamodb-rollup-bins';

/** Raw rows read per page when a batch's bins are recomputed. */
const RAW_PAGE = 10_000;

/**
 * The AWS stored rollups, behind the same `PointStore` port: raw points in the wrapped store (Timestream), bins
 * in DynamoDB (`DynamoDbRollupBins`). After the raw write, each batch recomputes the bins its accepted points
 * touch: the finest level from the raw points of those bins (one raw range read, paged), the batch's own
 * points filling in any the read does not return yet; each coarser bin from its children at the level below
 * (one strongly consistent `Query` per level); every bin written whole. A bin's state is therefore a function
 * of the raw points, which already hold each series and time once: a redelivered batch, a duplicate or a late
 * point leaves the bins as if the points had come once, in order. Two batches of the same series written at
 * the same moment by two writers can each miss the other's points in a coarser bin; the next batch touching
 * that bin repairs it (README, "Stored rollups").
 *
 * @example
 * const store = new RollupPointStore({ points: timestreamPointStore(config), bins: new DynamoDbRollupBins({ client, tableName }) });
 */
export class RollupPointStore extends RollupReadStore implements PointStore, RollupReader {
  private readonly writable: Pick<DynamoDbRollupBins, 'putBins'>;

  constructor(options: { points: PointStore; bins: Pick<DynamoDbRollupBins, 'putBins' | 'range' | 'moveCloseMark'> }) {
    super(options);
    this.writable = options.bins;
  }

  override async write(stream: Stream, points: Datapoint[]): Promise<WriteResult> {
    const result = await this.points.write(stream, points);
    const refused = new Set(result.rejected.map((r) => r.index));
    const accepted = points.filter((_, i) => !refused.has(i));
    const fields = numericFields(stream);
    const levels = storedLevels(stream);
    if (accepted.length === 0 || fields.length === 0 || levels.length === 0) return result;
    await this.recompute(stream, levels, fields, accepted);
    return result;
  }

  private async recompute(stream: Stream, levels: RollupLevel[], fields: string[], accepted: Datapoint[]): Promise<void> {
    const series = (dimensions: Record<string, string>) => JSON.stringify(stream.dimensions.map((d) => dimensions[d] ?? ''));
    const timesBySeries = new Map<string, { dimensions: Record<string, string>; times: number[] }>();
    for (const p of accepted) {
      const key = series(p.dimensions);
      const entry = timesBySeries.get(key) ?? { dimensions: p.dimensions, times: [] };
      entry.times.push(p.time);
      timesBySeries.set(key, entry);
    }
    const touched = new Map<RollupLevel, Set<string>>(levels.map((l) => [l, new Set()]));
    const span = new Map<RollupLevel, [number, number]>();
    for (const [key, { times }] of timesBySeries) {
      for (const { level, bins } of touchedBins(levels, times)) {
        for (const b of bins) touched.get(level)!.add(`${key}|${b}`);
        const [lo, hi] = span.get(level) ?? [Infinity, -Infinity];
        span.set(level, [Math.min(lo, bins[0]!), Math.max(hi, binEnd(level, bins[bins.length - 1]!))]);
      }
    }
    // the finest level, from the raw points of its touched bins (the stored value wins, as the raw store keeps it)
    const finest = levels[0]!;
    const [lo, hi] = span.get(finest)!;
    const kept = new Map<string, Datapoint>();
    for (const row of await this.rawRows(stream, fields, lo, hi)) {
      const key = series(row.dimensions);
      if (touched.get(finest)!.has(`${key}|${binStart(finest, row.time)}`)) kept.set(`${key}|${row.time}`, { time: row.time, dimensions: row.dimensions, values: row.values as Record<string, Value> });
    }
    for (const p of accepted) {
      const id = `${series(p.dimensions)}|${p.time}`;
      if (!kept.has(id)) kept.set(id, p);
    }
    let previous = statesOf(finest, [...kept.values()], fields, (p) => series(p.dimensions));
    await this.writable.putBins(stream.id, finest, stream.dimensions, previous);
    // each coarser level from the level below: its stored children, the ones just computed in their place
    for (let i = 1; i < levels.length; i++) {
      const level = levels[i]!;
      const finer = levels[i - 1]!;
      const [clo, chi] = span.get(level)!;
      const children = new Map<string, RollupBin>();
      for (const b of await this.bins.range(stream.id, finer, stream.dimensions, clo, chi)) children.set(`${series(b.dimensions)}|${b.field}|${b.bin}`, b);
      for (const b of previous) children.set(`${series(b.dimensions)}|${b.field}|${b.bin}`, b);
      const parents = new Map<string, { bin: RollupBin; states: RollupBin['state'][] }>();
      for (const c of children.values()) {
        const key = series(c.dimensions);
        const parent = binStart(level, c.bin);
        if (!touched.get(level)!.has(`${key}|${parent}`)) continue;
        const id = `${key}|${c.field}|${parent}`;
        const entry = parents.get(id) ?? { bin: { bin: parent, dimensions: c.dimensions, field: c.field, state: c.state }, states: [] };
        entry.states.push(c.state);
        parents.set(id, entry);
      }
      previous = [...parents.values()].map(({ bin, states }) => ({ ...bin, state: mergeStates(states) }));
      await this.writable.putBins(stream.id, level, stream.dimensions, previous);
    }
  }

  /** Every raw point of the stream in `[start, end)`, through the wrapped store's own paged query. */
  private async rawRows(stream: Stream, fields: string[], start: number, end: number): Promise<Row[]> {
    const rows: Row[] = [];
    let q: DataQuery = { start, end, fields, granularity: 'raw', binMs: 0, downsamplers: [], filters: {}, keyDimensions: [...stream.dimensions], groupBy: [], limit: RAW_PAGE + 1, order: 'asc' };
    for (;;) {
      const page = await this.points.query(stream, q);
      rows.push(...page.slice(0, RAW_PAGE));
      if (page.length <= RAW_PAGE) return rows;
      const last = page[RAW_PAGE - 1]!;
      q = { ...q, after: { time: last.time, key: stream.dimensions.map((d) => last.dimensions[d] ?? '') } };
    }
  }
}

function numericFields(stream: Stream): string[] {
  return Object.entries(stream.schema)
    .filter(([name, spec]) => (spec.type === 'number' || spec.type === 'integer') && name !== stream.timeField && !stream.dimensions.includes(name))
    .map(([name]) => name);
}

/** The finest bins' states from their points: every point makes a bin of each numeric field exist (as DuckDB's). */
function statesOf(level: RollupLevel, points: Datapoint[], fields: string[], series: (p: Datapoint) => string): RollupBin[] {
  const groups = new Map<string, { bin: number; dimensions: Record<string, string>; field: string; points: { time: number; value: number | null }[] }>();
  for (const p of points) {
    const bin = binStart(level, p.time);
    for (const field of fields) {
      const id = `${series(p)}|${field}|${bin}`;
      const g = groups.get(id) ?? { bin, dimensions: p.dimensions, field, points: [] };
      const v = p.values[field];
      g.points.push({ time: p.time, value: typeof v === 'number' ? v : null });
      groups.set(id, g);
    }
  }
  return [...groups.values()].map((g) => ({ bin: g.bin, dimensions: g.dimensions, field: g.field, state: rollupOf(g.points) }));
}
