import type { Aggregates, Row } from '../query';
import type { SelectPlan } from './plan';

/**
 * Answers in InfluxDB 1.x's JSON: a result per statement (`{statement_id, series?}` or `{statement_id,
 * error}`), each series `{name, tags?, columns, values}`, times as epoch numbers in the `epoch` precision
 * (Grafana asks `epoch=ms`) or RFC 3339 strings when none is given.
 *
 * @example
 * const series = selectSeries('freezers', plan, rows, 'ms');
 */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export type InfluxResult = { statement_id: number; series?: InfluxSeries[] } | { statement_id: number; error: string };

export const EPOCHS = { ns: 1e-6, u: 1e-3, µ: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 36e5 } as const;
export type Epoch = keyof typeof EPOCHS;

export function formatTime(ms: number, epoch: Epoch | undefined): number | string {
  if (!epoch) return new Date(ms).toISOString().replace('.000Z', 'Z');
  return epoch === 'ns' || epoch === 'u' || epoch === 'µ' ? ms / EPOCHS[epoch] : Math.floor(ms / EPOCHS[epoch]);
}

/** A one-column listing (`SHOW MEASUREMENTS`, `SHOW TAG KEYS`…), or no series when it is empty. */
export function listing(name: string, columns: string[], values: unknown[][]): InfluxSeries[] {
  return values.length ? [{ name, columns, values }] : [];
}

/** The series of a SELECT: one per combination of its GROUP BY tags, bins filled as `fill(…)` says. */
export function selectSeries(measurement: string, plan: SelectPlan, rows: Row[], epoch: Epoch | undefined): InfluxSeries[] {
  const { query, columns } = plan;
  const groups = new Map<string, { tags: Record<string, string>; rows: Row[] }>();
  for (const row of rows) {
    const tags = Object.fromEntries(query.groupBy.map((g) => [g, row.dimensions[g] ?? '']));
    const key = JSON.stringify(query.groupBy.map((g) => tags[g]));
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { tags, rows: [] }));
    group.rows.push(row);
  }
  const names = ['time', ...columns.map((c) => c.name)];
  const out: InfluxSeries[] = [];
  for (const { tags, rows: groupRows } of [...groups.values()].sort((a, b) => compareKeys(a.tags, b.tags, query.groupBy))) {
    let values: unknown[][];
    if (query.granularity === 'raw') {
      values = groupRows.map((r) => [formatTime(r.time, epoch), ...columns.map((c) => r.values[c.field] ?? null)]);
    } else {
      const byTime = new Map(groupRows.map((r) => [r.time, r]));
      const cell = (r: Row | undefined, i: number) => {
        // rows `aggregateRaw` binned carry a value per column; the store's carry aggregates per field
        if (plan.rawQuery) return (r?.values[columns[i]!.name] as unknown) ?? null;
        const agg = r?.values[columns[i]!.field] as Aggregates | null | undefined;
        return agg?.[columns[i]!.downsampler!] ?? null;
      };
      values = [];
      if (plan.fill.kind === 'none') {
        for (const r of groupRows) values.push([r.time, ...columns.map((_, i) => cell(r, i))]);
      } else {
        const first = Math.floor(query.start / query.binMs) * query.binMs;
        const previous: unknown[] = columns.map(() => null);
        for (let t = first; t < query.end; t += query.binMs) {
          const r = byTime.get(t);
          values.push([
            t,
            ...columns.map((_, i) => {
              const v = cell(r, i);
              if (v !== null) return (previous[i] = v);
              return plan.fill.kind === 'value' ? plan.fill.value : plan.fill.kind === 'previous' ? previous[i] : null;
            }),
          ]);
        }
        if (query.order === 'desc') values.reverse();
      }
      for (const v of values) v[0] = formatTime(v[0] as number, epoch);
    }
    if (plan.limit !== undefined) values = values.slice(0, plan.limit);
    out.push({ name: measurement, ...(query.groupBy.length && { tags }), columns: names, values });
  }
  return out;
}

function compareKeys(a: Record<string, string>, b: Record<string, string>, keys: string[]): number {
  for (const k of keys) {
    const c = (a[k] ?? '') < (b[k] ?? '') ? -1 : (a[k] ?? '') > (b[k] ?? '') ? 1 : 0;
    if (c) return c;
  }
  return 0;
}
