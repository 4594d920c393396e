/**
 * Row decoding: DuckDB's column-major results into the domain's rows.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import type { Aggregates, DataQuery, Row } from '../../domain/query';
import type { Stream } from '../../domain/stream-definition';
import type { Value } from '../../domain/validate-record';
import { kindOf, type Kind } from './tables';

/** A DuckDB value as the domain's value of a column of `kind` (BIGINTs become numbers). */
export function valueOf(v: DuckDBValue, kind: Kind): Value | null {
  if (v === null || v === undefined) return null;
  if (kind === 'double' || kind === 'bigint') return typeof v === 'bigint' ? Number(v) : (v as number);
  return v as Value;
}

/** Column-major results (time, dimensions…, fields…) into domain rows; '' dimensions are missing ones. */
export function rowsOf(columns: DuckDBValue[][], dims: string[], fields: string[], convert: (v: DuckDBValue, field: number) => Row['values'][string]): Row[] {
  const times = columns[0] ?? [];
  const rows: Row[] = new Array(times.length);
  for (let r = 0; r < times.length; r++) {
    const dimensions: Record<string, string> = {};
    dims.forEach((d, i) => {
      const v = columns[1 + i]![r] as string;
      if (v !== '') dimensions[d] = v;
    });
    const values: Row['values'] = {};
    fields.forEach((f, i) => {
      values[f] = convert(columns[1 + dims.length + i]![r] ?? null, i);
    });
    rows[r] = { time: Number(times[r]), dimensions, values };
  }
  return rows;
}

/** Column-major downsampled results (bin, groups…, aggregates…, and a session's end and count) into domain rows. */
export function aggregateRowsOf(columns: DuckDBValue[][], q: DataQuery, stream: Stream): Row[] {
  const times = columns[0] ?? [];
  const rows: Row[] = new Array(times.length);
  // a session is keyed by its series (every dimension) unless the query groups
  const keys = q.window?.kind === 'session' ? q.keyDimensions : q.groupBy;
  for (let r = 0; r < times.length; r++) {
    const dimensions: Record<string, string> = {};
    keys.forEach((g, i) => {
      const v = columns[1 + i]![r] as string;
      if (v !== '') dimensions[g] = v;
    });
    const values: Row['values'] = {};
    let c = 1 + keys.length;
    for (const f of q.fields) {
      const kind = kindOf(stream, f);
      const aggregates: Aggregates = {};
      for (const d of q.downsamplers) {
        if (d === 'trend') {
          const slope = valueOf(columns[c++]![r] ?? null, 'double') as number | null;
          const r2 = valueOf(columns[c++]![r] ?? null, 'double') as number | null;
          aggregates.trend = slope === null || !Number.isFinite(slope) ? null : { slope, r2: r2 ?? 1 };
        } else aggregates[d] = valueOf(columns[c++]![r] ?? null, d === 'first' || d === 'last' ? kind : 'double');
      }
      values[f] = aggregates;
    }
    rows[r] = { time: Number(times[r]), dimensions, values };
    if (q.window?.kind === 'session') {
      rows[r]!.end = Number(columns[c]![r]);
      rows[r]!.count = Number(columns[c + 1]![r]);
    }
  }
  return rows;
}
