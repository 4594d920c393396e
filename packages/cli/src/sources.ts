import { parse as parseCsv } from 'csv-parse';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { CliError, EXIT } from './exit-codes';

export type InputFormat = 'ndjson' | 'csv' | 'json' | 'line';

/** One input record, or why its line could not be read; `bytes` is how far into the file it ends. */
export interface SourceItem {
  line: number;
  record?: Record<string, unknown>;
  /** A line-protocol line as it is in the file (format `line`): the server parses it. */
  text?: string;
  error?: string;
  bytes: number;
}

/** `.ndjson`/`.jsonl` → ndjson, `.csv` → csv, `.json` → json, `.lp`/`.line` → line protocol, unless `--format` says. */
export function formatOf(file: string, given?: string): InputFormat {
  const f = given ?? { '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.csv': 'csv', '.json': 'json', '.lp': 'line', '.line': 'line' }[extname(file).toLowerCase()];
  if (f === 'ndjson' || f === 'csv' || f === 'json' || f === 'line') return f;
  throw new CliError(`cannot tell the format of ${file}: give --format ndjson|csv|json|line`, EXIT.usage);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where to start reading a line-based file again: just after a line a checkpoint names. */
export interface ResumeAt {
  line: number;
  bytes: number;
}

/** One NDJSON line: a JSON object, or why it is not one. */
function ndjsonLine(text: string, line: number, end: number): SourceItem {
  try {
    const value = JSON.parse(text);
    return isRecord(value) ? { line, record: value, bytes: end } : { line, error: 'not a JSON object', bytes: end };
  } catch (err) {
    return { line, error: `not JSON (${(err as Error).message})`, bytes: end };
  }
}

/** One line-protocol line, passed on as it is; comments (`#`) are skipped as InfluxDB skips them. */
function protocolLine(text: string, line: number, end: number): SourceItem | undefined {
  return text.startsWith('#') ? undefined : { line, text, bytes: end };
}

/**
 * A line-based file (NDJSON, line protocol), streamed: constant memory whatever the file's size, and from
 * `from` on (a byte offset, so a resumed run does not read what it already sent). Blank lines are skipped.
 */
async function* lines(file: string, parse: (text: string, line: number, end: number) => SourceItem | undefined, from: ResumeAt = { line: 0, bytes: 0 }): AsyncGenerator<SourceItem> {
  let line = from.line;
  let bytes = from.bytes;
  let rest: Buffer = Buffer.alloc(0);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const item = (raw: Buffer, end: number): SourceItem | undefined => {
    line++;
    let text: string;
    try {
      text = decoder.decode(raw).trim();
    } catch {
      return { line, error: 'not UTF-8', bytes: end };
    }
    return text.length === 0 ? undefined : parse(text, line, end);
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024, start: from.bytes }) as AsyncIterable<Buffer>) {
    let buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      bytes += nl + 1 - start;
      const out = item(buf.subarray(start, nl), bytes);
      if (out) yield out;
      start = nl + 1;
    }
    rest = Buffer.from(buf.subarray(start));
    buf = rest;
  }
  if (rest.length > 0) {
    bytes += rest.length;
    const out = item(rest, bytes);
    if (out) yield out;
  }
}

/** A CSV cell as the schema likely wants it: numbers, booleans; an empty cell is left out. */
function cell(value: string): unknown {
  if (value === '') return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value)) return Number(value);
  return value;
}

/** CSV with a header row, streamed through csv-parse; line numbers are the file's (the header is line 1). */
async function* csv(file: string): AsyncGenerator<SourceItem> {
  const parser = createReadStream(file).pipe(parseCsv({ columns: true, info: true, skip_empty_lines: true, relax_column_count: false, bom: true }));
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number; bytes: number } }>) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(record)) {
        const c = cell(v);
        if (c !== undefined) out[k] = c;
      }
      yield { line: info.lines, record: out, bytes: info.bytes };
    }
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new CliError(`CSV error${e.lines ? ` at line ${e.lines}` : ''}: ${e.message}`, EXIT.usage);
  }
}

/** The first character of a file that is not white space (a BOM aside). */
async function firstChar(file: string): Promise<string | undefined> {
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 4096 }) as AsyncIterable<string>) {
    const m = /[^\s\uFEFF]/.exec(chunk);
    if (m) return m[0];
  }
  return undefined;
}

/**
 * A JSON file: an array of records is streamed element by element (stream-json), so it takes constant memory
 * however long it is; a single object is read whole. `line` is the record's 1-based position in the array.
 */
async function* json(file: string): AsyncGenerator<SourceItem> {
  if ((await firstChar(file)) !== '[') {
    const text = await readFile(file, 'utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new CliError(`${file} is not JSON: ${(err as Error).message}`, EXIT.usage);
    }
    const size = Buffer.byteLength(text);
    yield isRecord(value) ? { line: 1, record: value, bytes: size } : { line: 1, error: 'not a JSON object or an array of them', bytes: size };
    return;
  }
  let bytes = 0;
  const source = createReadStream(file);
  source.on('data', (chunk) => (bytes += chunk.length));
  const items = source.pipe(streamArray.withParserAsStream()) as AsyncIterable<{ key: number; value: unknown }>;
  try {
    for await (const { key, value } of items) {
      yield isRecord(value) ? { line: key + 1, record: value, bytes } : { line: key + 1, error: 'not a JSON object', bytes };
    }
  } catch (err) {
    throw new CliError(`${file} is not a JSON array of records: ${(err as Error).message}`, EXIT.usage);
  } finally {
    source.destroy();
  }
}

/**
 * The file's records in order (for JSON, `line` is the record's 1-based position in the array). NDJSON and
 * line protocol start at `from`; CSV and JSON are read from the start and the items before it skipped.
 */
export async function* readSource(file: string, format: InputFormat, from?: ResumeAt): AsyncGenerator<SourceItem> {
  if (format === 'ndjson') return yield* lines(file, ndjsonLine, from);
  if (format === 'line') return yield* lines(file, protocolLine, from);
  for await (const item of format === 'csv' ? csv(file) : json(file)) if (!from || item.line > from.line) yield item;
}
