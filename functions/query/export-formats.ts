import { ByteWriter, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';
import type { ExportFormat } from '../../shared/domain/exports';
import type { DataQuery } from '../../shared/domain/query';
import type { Stream } from '../../shared/domain/stream-definition';
import { toCsv, toNdjson, type ShapedPoint } from './answer-format';

/** Turns an export's pages into bytes: one call per page (in order), then `end` for what closes the file. */
export interface ExportEncoder {
  page(points: ShapedPoint[]): Uint8Array;
  end(): Uint8Array;
}

type ExportQueryShape = Pick<DataQuery, 'granularity' | 'keyDimensions' | 'fields' | 'downsamplers' | 'window'>;

/**
 * The encoder of a format: CSV (header on the first page only, formula cells escaped), NDJSON (one answer point
 * a line), or Parquet (one row group per page, written as it comes; the footer at `end`).
 *
 * @example
 * const enc = exportEncoder('csv', stream, q);
 * const bytes = [enc.page(points), enc.end()];
 */
export function exportEncoder(format: ExportFormat, stream: Stream, q: ExportQueryShape): ExportEncoder {
  const utf8 = new TextEncoder();
  if (format === 'csv') {
    let first = true;
    return {
      page(points) {
        // the header goes out even for an empty range, so the file says what it would hold
        const text = toCsv(q, points, { header: first, formulaSafe: true });
        first = false;
        return utf8.encode(text);
      },
      end: () => (first ? utf8.encode(toCsv(q, [], { formulaSafe: true })) : new Uint8Array()),
    };
  }
  if (format === 'ndjson') return { page: (points) => utf8.encode(toNdjson(points)), end: () => new Uint8Array() };
  return parquetEncoder(stream, q);
}

type ParquetType = 'DOUBLE' | 'INT64' | 'STRING' | 'BOOLEAN' | 'TIMESTAMP' | 'JSON';

interface ParquetColumn {
  name: string;
  type: ParquetType;
  value(p: ShapedPoint): unknown;
}

/**
 * Parquet columns: `time` (TIMESTAMP, ms), the key dimensions (STRING), then each raw field in its schema's
 * type (number DOUBLE, integer INT64, string STRING, boolean BOOLEAN, datetime TIMESTAMP, object/array JSON) or
 * each field's downsampler as DOUBLE (`temperature.mean`), all nullable.
 */
function parquetColumns(stream: Stream, q: ExportQueryShape): ParquetColumn[] {
  const toDate = (v: unknown) => (typeof v === 'string' ? new Date(v) : null);
  const cols: ParquetColumn[] = [{ name: 'time', type: 'TIMESTAMP', value: (p) => new Date(p.time) }];
  if (q.window?.kind === 'session') {
    cols.push({ name: 'end', type: 'TIMESTAMP', value: (p) => toDate(p.end) }, { name: 'count', type: 'INT64', value: (p) => (p.count === undefined ? null : BigInt(p.count)) });
  }
  for (const d of q.keyDimensions) cols.push({ name: d, type: 'STRING', value: (p) => p.dimensions?.[d] ?? null });
  if (q.granularity === 'raw') {
    for (const f of q.fields) {
      const type = stream.schema[f]?.type;
      const raw = (p: ShapedPoint) => p.values[f] ?? null;
      if (type === 'integer') cols.push({ name: f, type: 'INT64', value: (p) => (typeof raw(p) === 'number' ? BigInt(Math.trunc(raw(p) as number)) : null) });
      else if (type === 'number') cols.push({ name: f, type: 'DOUBLE', value: raw });
      else if (type === 'boolean') cols.push({ name: f, type: 'BOOLEAN', value: raw });
      else if (type === 'datetime') cols.push({ name: f, type: 'TIMESTAMP', value: (p) => toDate(raw(p)) });
      else if (type === 'string') cols.push({ name: f, type: 'STRING', value: raw });
      else cols.push({ name: f, type: 'JSON', value: raw });
    }
    return cols;
  }
  for (const f of q.fields) {
    for (const d of q.downsamplers) {
      const stat = (p: ShapedPoint) => (p.values[f] as Record<string, unknown> | undefined)?.[d];
      const num = (v: unknown) => (typeof v === 'number' ? v : null);
      if (d === 'trend') {
        for (const part of ['slope', 'r2']) cols.push({ name: `${f}.${d}.${part}`, type: 'DOUBLE', value: (p) => num((stat(p) as Record<string, unknown> | null | undefined)?.[part]) });
      } else cols.push({ name: `${f}.${d}`, type: 'DOUBLE', value: (p) => num(stat(p)) });
    }
  }
  return cols;
}

function parquetEncoder(stream: Stream, q: ExportQueryShape): ExportEncoder {
  const cols = parquetColumns(stream, q);
  const schema = schemaFromColumnData({ columnData: cols.map((c) => ({ name: c.name, data: [], type: c.type, nullable: true })) });
  const out = new ByteWriter();
  const writer = new ParquetWriter({ writer: out, schema, createdBy: 'tributary' });
  // the writer's buffer is emptied after each row group: what was written is handed on, the offsets go on counting
  const drain = () => {
    const bytes = out.getBytes().slice();
    out.index = 0;
    return bytes;
  };
  return {
    page(points) {
      if (points.length > 0) {
        writer.write({ columnData: cols.map((c) => ({ name: c.name, data: points.map((p) => c.value(p)) })), rowGroupSize: points.length });
      }
      return drain();
    },
    end() {
      writer.finish();
      return drain();
    },
  };
}
