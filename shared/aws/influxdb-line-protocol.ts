/**
 * Datapoints as InfluxDB line protocol: one measurement per stream (its id), the stream's dimensions as tags,
 * its measure fields typed as the schema says (number → float, integer and datetime → integer, boolean,
 * string, object and array → string of JSON text) and the field `$point` on every point, so that a select of
 * fields a point lacks still returns its row. Times are epoch milliseconds (`precision=ms`).
 *
 * Line protocol cannot carry some values, checked on InfluxDB 1.6: a line break in a tag or string field,
 * a tag value ending in a backslash (it escapes the separator after it), and a NUL in a tag (InfluxQL cannot
 * spell it in a filter). Such a point is refused with
 * its reason rather than written differently from what was sent.
 */
import type { FieldType, Stream } from '../domain/stream-definition';
import type { Datapoint, Value } from '../domain/validate-record';
import type { RejectedPoint } from '../ports';
import { POINT_MARKER } from './influxdb-sql';

const escapeKey = (s: string) => s.replace(/[,= ]/g, (c) => `\\${c}`);
const escapeMeasurement = (s: string) => s.replace(/[, ]/g, (c) => `\\${c}`);
const escapeString = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/** A field value in line protocol, or why this value cannot be one of this type. */
function fieldValue(type: FieldType | undefined, v: Value): string | { problem: string } {
  switch (type) {
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? String(v) : { problem: 'must be a finite number' };
    case 'integer':
    case 'datetime':
      return typeof v === 'number' && Number.isSafeInteger(v) ? `${v}i` : { problem: 'must be a safe integer' };
    case 'boolean':
      return typeof v === 'boolean' ? String(v) : { problem: 'must be a boolean' };
    default:
      if (typeof v !== 'string') return { problem: 'must be a string' };
      if (/[\n\r]/.test(v)) return { problem: 'holds a line break, which InfluxDB line protocol cannot carry' };
      return `"${escapeString(v)}"`;
  }
}

/** The line of one point, or why it cannot be written. */
export function lineOf(stream: Stream, p: Datapoint): string | { problem: string } {
  let line = escapeMeasurement(stream.id);
  for (const dim of [...stream.dimensions].sort()) {
    const v = p.dimensions[dim];
    if (v === undefined || v === '') continue;
    if (/[\n\r\u0000]/.test(v) || v.endsWith('\\')) return { problem: `dimension '${dim}' holds a line break or a NUL, or ends in a backslash, which InfluxDB cannot carry in a tag` };
    line += `,${escapeKey(dim)}=${escapeKey(v)}`;
  }
  const fields = [`${escapeKey(POINT_MARKER)}=true`];
  for (const [name, v] of Object.entries(p.values)) {
    const encoded = fieldValue(stream.schema[name]?.type, v);
    if (typeof encoded !== 'string') return { problem: `field '${name}' ${encoded.problem}` };
    fields.push(`${escapeKey(name)}=${encoded}`);
  }
  if (!Number.isSafeInteger(p.time)) return { problem: 'time must be whole milliseconds' };
  return `${line} ${fields.join(',')} ${p.time}`;
}

/** A batch's lines, the points they came from (positions in `points`) and the points refused. */
export interface EncodedBatch {
  lines: string[];
  indexes: number[];
  rejected: RejectedPoint[];
}

/**
 * Encodes the points at `indexes` (all by default) in order.
 *
 * @example
 * const { lines, rejected } = encodePoints(stream, points);
 */
export function encodePoints(stream: Stream, points: readonly Datapoint[], indexes: readonly number[] = points.map((_, i) => i)): EncodedBatch {
  const batch: EncodedBatch = { lines: [], indexes: [], rejected: [] };
  for (const i of indexes) {
    const line = lineOf(stream, points[i]!);
    if (typeof line === 'string') {
      batch.lines.push(line);
      batch.indexes.push(i);
    } else batch.rejected.push({ index: i, reason: line.problem });
  }
  return batch;
}
