import type { Cursor, DataQuery, Row } from './query';
import { aggregatesOf, mergeStates, type BinState, type RollupBin } from './rollup-state';

/**
 * A downsampled query answered from stored bins (of the level `rollup-plan.ts` chose): the bins the `dim.`
 * filters keep, merged per query bin (`binMs` wide, UTC-epoch aligned) and `groupBy` value, in the raw
 * query's order (time, then the group values, missing ones as ''), after the cursor, up to the limit. A
 * store that keeps bins as items (DynamoDB) answers with it; DuckDB merges the same states in SQL.
 *
 * @example
 * const rows = rowsFromBins(q, await bins.range(stream.id, '1h', q.start, q.end));
 */
export function rowsFromBins(q: DataQuery, bins: readonly RollupBin[]): Row[] {
  const groups = new Map<string, { time: number; keys: string[]; fields: Map<string, BinState[]> }>();
  for (const b of bins) {
    if (b.bin < q.start || b.bin >= q.end) continue;
    if (!Object.entries(q.filters).every(([d, accepted]) => accepted.includes(b.dimensions[d] ?? ''))) continue;
    const time = Math.floor(b.bin / q.binMs) * q.binMs;
    const keys = q.groupBy.map((g) => b.dimensions[g] ?? '');
    const id = JSON.stringify([time, keys]);
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { time, keys, fields: new Map() }));
    const list = group.fields.get(b.field) ?? [];
    list.push(b.state);
    group.fields.set(b.field, list);
  }
  const sign = q.order === 'asc' ? 1 : -1;
  const sorted = [...groups.values()].sort((a, b) => sign * compare([a.time, ...a.keys], [b.time, ...b.keys]));
  const after = q.after;
  const kept = after ? sorted.filter((g) => sign * compare([g.time, ...g.keys], cursorKey(after)) > 0) : sorted;
  return kept.slice(0, q.limit).map((g) => {
    const dimensions: Record<string, string> = {};
    q.groupBy.forEach((d, i) => {
      if (g.keys[i] !== '') dimensions[d] = g.keys[i]!;
    });
    const values: Row['values'] = {};
    for (const f of q.fields) values[f] = aggregatesOf(mergeStates(g.fields.get(f) ?? []), q.downsamplers);
    return { time: g.time, dimensions, values };
  });
}

const cursorKey = (c: Cursor): (number | string)[] => [c.time, ...c.key];

function compare(a: (number | string)[], b: (number | string)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}
