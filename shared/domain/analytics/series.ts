/**
 * The series the analyses read: points in time order, each with its numeric values, and a field's column of
 * them (the points where the field is a finite number).
 *
 * @example
 * column([{ time: 0, values: { t: 1 } }, { time: 1, values: {} }], 't'); // { t: [0], y: [1] }
 */

/** One point of the analysed series: epoch ms and its numeric values. */
export interface SeriesPoint {
  time: number;
  values: Record<string, number | undefined>;
}

export const iso = (t: number) => new Date(t).toISOString();

/**
 * A field's times and values, where it is a finite number.
 *
 * @example
 * column(points, 'temperature').y; // [20, 20.1, …]
 */
export function column(points: readonly SeriesPoint[], field: string): { t: number[]; y: number[] } {
  const t: number[] = [];
  const y: number[] = [];
  for (const p of points) {
    const v = p.values[field];
    if (typeof v === 'number' && Number.isFinite(v)) {
      t.push(p.time);
      y.push(v);
    }
  }
  return { t, y };
}
