import { CsvError, parse } from 'csv-parse/sync';
import { BadRequestError, PayloadTooLargeError } from '../../../shared/domain/errors';
import type { FieldType, Stream } from '../../../shared/domain/stream-definition';
import type { Issue } from '../../../shared/domain/errors';
import { requireWithinSize } from '../body';
import type { RecordsDecoder } from './decoder';

/** Problems listed in one refusal of a CSV body (ragged rows, unknown columns). */
const MAX_CSV_ISSUES = 100;

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DIGITS = /^\d+$/;

/**
 * `text/csv` (RFC 4180, parsed by csv-parse): the first row names the fields, each further row is one
 * record. Cells are typed from the stream's schema: numbers and integers as numbers, `true`/`false` as
 * booleans, datetimes as RFC 3339 text or epoch milliseconds, objects and arrays as JSON; an empty cell is
 * an absent field. A cell that does not read as its type is passed on as text, so the validator names it
 * (`index` the 0-based data row, `path` the column). Quoted fields (with commas, quotes and line breaks),
 * CRLF and a byte order mark are read; a row with more or fewer cells than the header, or a column the
 * schema does not declare, is a 400 naming them. Nothing is ever evaluated: `=cmd|' /C calc'!A0` in a
 * string column is stored as that text.
 *
 * @example
 * await decodeCsv(textBody('deviceId,temperature\nf-1,4.5\n'), ctx); // { records: [{ deviceId: 'f-1', temperature: 4.5 }] }
 */
export const decodeCsv: RecordsDecoder = async (body, { limits, stream, what }) => {
  const text = body.text();
  requireWithinSize(text, limits);
  const rows = parseCsv(text);
  if (rows.length === 0) throw new BadRequestError(`${what} is empty; send a header row naming the fields, then one row per record.`);
  const [head, ...data] = rows;
  if (data.length === 0) throw new BadRequestError(`${what} has a header row but no records; send one row per record after it.`);
  if (data.length > limits.maxRecords) {
    throw new PayloadTooLargeError(`${data.length} records in one request; send at most ${limits.maxRecords} per request.`);
  }
  const s = await stream();
  const columns = header(head!, s);
  const types = columns.map((c) => typeOf(s, c));
  const records: Record<string, unknown>[] = [];
  let ragged = false;
  for (const record of data) {
    if (record.length !== columns.length) {
      ragged = true;
      continue;
    }
    const rec: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const cell = record[i]!;
      if (cell !== '') rec[columns[i]!] = typed(cell, types[i]);
    }
    records.push(rec);
  }
  if (ragged) throw raggedRows(text, columns.length);
  return { records };
};

/** csv-parse's options; `info` (each record's line) is asked for only to name ragged rows: it costs 70% more. */
const OPTIONS = { bom: true, relax_column_count: true, skip_empty_lines: true } as const;

function parseCsv(text: string): string[][] {
  try {
    return parse(text, OPTIONS);
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    // csv-parse's messages name the line ("Invalid Closing Quote: … at line 3"); they never hold more than a few characters of input
    throw new BadRequestError(`The CSV does not parse: ${err.message}`, [{ path: [], message: `${err.code}: ${err.message}` }]);
  }
}

/** The refusal of a body with rows whose cell count is not the header's, each row named with its line. */
function raggedRows(text: string, width: number): BadRequestError {
  const rows = parse(text, { ...OPTIONS, info: true }) as unknown as { record: string[]; info: { lines: number } }[];
  const issues: Issue[] = [];
  let count = 0;
  for (const [i, { record, info }] of rows.slice(1).entries()) {
    if (record.length === width) continue;
    count++;
    if (issues.length < MAX_CSV_ISSUES) issues.push({ index: i, path: [], message: `row ${i + 1} (line ${info.lines}) has ${record.length} cells; the header names ${width} columns` });
  }
  return new BadRequestError(`${count} rows of the CSV do not have one cell per column: ${issues[0]!.message}.`, issues);
}

function header(names: string[], stream: Stream): string[] {
  const issues: Issue[] = [];
  const seen = new Set<string>();
  for (const [i, name] of names.entries()) {
    if (name === '') issues.push({ path: ['header', i], message: `column ${i + 1} of the header row has no name` });
    else if (seen.has(name)) issues.push({ path: ['header', name], message: `column '${name}' is named twice` });
    else if (!Object.hasOwn(stream.schema, name) && name !== stream.timeField) {
      issues.push({ path: ['header', name], message: `unknown column '${name}'; the stream's schema does not declare it` });
    }
    seen.add(name);
  }
  if (issues.length > 0) {
    throw new BadRequestError(`The CSV header row names columns the stream cannot take: ${issues.map((i) => i.message).join('; ')}.`, issues.slice(0, MAX_CSV_ISSUES));
  }
  return names;
}

function typeOf(stream: Stream, column: string): FieldType {
  return stream.schema[column]?.type ?? (column === stream.timeField ? 'datetime' : 'string');
}

/** A cell as its schema type; a cell that does not read as that type stays text for the validator to name. */
function typed(cell: string, type: FieldType | undefined): unknown {
  switch (type) {
    case 'number':
    case 'integer':
      return NUMBER.test(cell) ? Number(cell) : cell;
    case 'boolean': {
      const lower = cell.toLowerCase();
      return lower === 'true' ? true : lower === 'false' ? false : cell;
    }
    case 'datetime':
      return DIGITS.test(cell) ? Number(cell) : cell;
    case 'object':
    case 'array':
      try {
        return JSON.parse(cell);
      } catch {
        return cell;
      }
    default:
      return cell;
  }
}
