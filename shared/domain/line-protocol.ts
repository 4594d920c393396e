import { BadRequestError, PayloadTooLargeError, type Issue } from './errors';

/** One point of a line protocol body. */
export interface LinePoint {
  /** 1-based line of the body the point was on. */
  line: number;
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | string | boolean>;
  /** Epoch milliseconds (sub-millisecond digits dropped), absent when the line has no timestamp. */
  time?: number;
}

export type Precision = 'ns' | 'us' | 'ms' | 's' | 'm' | 'h';

export interface LineProtocolOptions {
  precision?: Precision;
  /** Points one body may hold; more is a 413. */
  maxPoints?: number;
  /** Problems reported before the parse stops listing them. */
  maxIssues?: number;
}

/** Nanoseconds per unit of each precision. */
const NS_PER: Record<Precision, bigint> = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };
/** InfluxDB's own bounds on a timestamp (`models.MinNanoTime`, `models.MaxNanoTime`). */
export const MIN_NANO_TIME = -9_223_372_036_854_775_806n;
export const MAX_NANO_TIME = 9_223_372_036_854_775_806n;
/** The last instant a `Date` (and so a record's time) can hold. */
const MAX_DATE_MS = 8_640_000_000_000_000n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

const TRUE = new Set(['t', 'T', 'true', 'True', 'TRUE']);
const FALSE = new Set(['f', 'F', 'false', 'False', 'FALSE']);
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const UNSIGNED = /^(?:0|[1-9][0-9]*)$/;
const FLOAT = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/;
const TIMESTAMP = /^-?[0-9]{1,19}$/;

class LineError extends Error {
  constructor(
    readonly path: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

const isBlank = (c: number) => c === 32 || c === 9 || c === 11 || c === 12;
/** Characters no unescaped key or value may hold: the blanks, CR, LF. */
const isControl = (c: number) => c === 9 || c === 10 || c === 11 || c === 12 || c === 13;

/**
 * InfluxDB line protocol, read exactly as written (InfluxDB 2.x reference, "Line protocol"; the grammar of
 * Telegraf's `plugins/parsers/influx/machine.go.rl`):
 *
 * ```
 * measurement[,tag=value…] field=value[,field=value…] [timestamp]
 * ```
 *
 * - Lines end at `\n` (a `\r` before it is dropped); empty lines and lines whose first non-blank is `#` are
 *   skipped; blanks (space, tab, `\v`, `\f`) may lead and trail a line.
 * - Escapes: in a measurement `\,` and `\ `; in tag keys, tag values and field keys also `\=`; `\\` is one
 *   backslash everywhere; a backslash before any other character is itself (`C:\temp`). A backslash that
 *   ends the text or its line escapes nothing and is refused.
 * - Field values: `1i`/`-1i` integers (int64), `1u` unsigned (uint64), floats (`1`, `-1.5`, `1e-3`, `.5`),
 *   `t|T|true|True|TRUE` and the `false` forms, and `"strings"` in which `\"` and `\\` are escapes (a string
 *   may hold a raw newline, as Telegraf sends one).
 * - Timestamp: a signed integer of up to 19 digits in the request's precision, within InfluxDB's range.
 *
 * Every problem (up to `maxIssues` are listed) is a {@link BadRequestError} whose issues name the line (1-based, in the message; `index` is
 * the 0-based line) and a path: `['measurement']`, `['tags', key]`, `['fields', key]` or `['timestamp']`. More than `maxPoints` points is a
 * {@link PayloadTooLargeError}.
 *
 * @example
 * const [p] = parseLineProtocol('cpu,host=a usage_idle=98.5,procs=3i 1700000000000000000');
 * // p = { line: 1, measurement: 'cpu', tags: { host: 'a' }, fields: { usage_idle: 98.5, procs: 3 }, time: 1700000000000 }
 */
export function parseLineProtocol(text: string, options: LineProtocolOptions = {}): LinePoint[] {
  const scale = NS_PER[options.precision ?? 'ns'];
  const maxPoints = options.maxPoints ?? Number.POSITIVE_INFINITY;
  const maxIssues = options.maxIssues ?? 100;
  const points: LinePoint[] = [];
  const issues: Issue[] = [];
  const n = text.length;
  let pos = 0;
  let line = 1;

  while (pos < n) {
    while (pos < n && isBlank(text.charCodeAt(pos))) pos++;
    const c = text.charCodeAt(pos);
    if (pos >= n) break;
    if (c === 10 || (c === 13 && text.charCodeAt(pos + 1) === 10)) {
      pos += c === 13 ? 2 : 1;
      line++;
      continue;
    }
    if (c === 35 /* # */) {
      const end = text.indexOf('\n', pos);
      pos = end === -1 ? n : end + 1;
      line++;
      continue;
    }
    const start = line;
    const cursor = { pos, line };
    try {
      const point = readPoint(text, cursor, scale, start);
      if (points.length >= maxPoints) throw new PayloadTooLargeError(`The body holds more than ${maxPoints} points; send at most ${maxPoints} per request.`);
      points.push(point);
      pos = cursor.pos;
      line = cursor.line;
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      issues.push({ index: start - 1, path: err.path, message: `line ${start}: ${err.message}` });
      if (issues.length >= maxIssues) break;
      // resume after the line (a string may have run over newlines: from where the parse stopped)
      const end = text.indexOf('\n', cursor.pos);
      pos = end === -1 ? n : end + 1;
      line = cursor.line + 1;
    }
  }
  if (issues.length > 0) {
    const more = issues.length >= maxIssues ? ` (the first ${maxIssues} are listed)` : '';
    throw new BadRequestError(`unable to parse the line protocol: ${issues[0]!.message}${issues.length > 1 ? `; ${issues.length} lines are bad${more}` : ''}`, issues);
  }
  return points;
}

interface Cursor {
  pos: number;
  line: number;
}

function readPoint(text: string, cur: Cursor, scale: bigint, line: number): LinePoint {
  const measurement = readToken(text, cur, 'measurement', ['measurement']);
  if (measurement === '') throw new LineError(['measurement'], 'the measurement is missing');
  const tags: Record<string, string> = {};
  while (text.charCodeAt(cur.pos) === 44 /* , */) {
    cur.pos++;
    const key = readToken(text, cur, 'key', ['tags']);
    if (key === '') throw new LineError(['tags'], 'a tag key is missing after a comma');
    if (text.charCodeAt(cur.pos) !== 61 /* = */) throw new LineError(['tags', key], `the tag '${key}' has no '=' and value`);
    cur.pos++;
    const value = readToken(text, cur, 'key', ['tags', key]);
    if (value === '') throw new LineError(['tags', key], `the tag '${key}' has an empty value`);
    if (Object.hasOwn(tags, key)) throw new LineError(['tags', key], `the tag '${key}' is given twice`);
    tags[key] = value;
  }
  if (!isBlank(text.charCodeAt(cur.pos))) {
    throw new LineError(['fields'], cur.pos >= text.length || isLineEnd(text, cur.pos) ? 'the line has no fields' : `unexpected '${text[cur.pos]}' after the tags`);
  }
  while (isBlank(text.charCodeAt(cur.pos))) cur.pos++;
  if (cur.pos >= text.length || isLineEnd(text, cur.pos)) throw new LineError(['fields'], 'the line has no fields');
  const fields: Record<string, number | string | boolean> = {};
  for (;;) {
    const key = readToken(text, cur, 'key', ['fields']);
    if (key === '') throw new LineError(['fields'], 'a field key is missing');
    if (text.charCodeAt(cur.pos) !== 61) throw new LineError(['fields', key], `the field '${key}' has no '=' and value`);
    cur.pos++;
    const value = readFieldValue(text, cur, key);
    if (Object.hasOwn(fields, key)) throw new LineError(['fields', key], `the field '${key}' is given twice`);
    if (Object.hasOwn(tags, key)) throw new LineError(['fields', key], `'${key}' is both a tag and a field`);
    fields[key] = value;
    if (text.charCodeAt(cur.pos) !== 44) break;
    cur.pos++;
  }
  let time: number | undefined;
  if (isBlank(text.charCodeAt(cur.pos))) {
    while (isBlank(text.charCodeAt(cur.pos))) cur.pos++;
    if (cur.pos < text.length && !isLineEnd(text, cur.pos)) {
      const from = cur.pos;
      while (cur.pos < text.length && !isBlank(text.charCodeAt(cur.pos)) && !isLineEnd(text, cur.pos)) cur.pos++;
      time = toMillis(text.slice(from, cur.pos), scale);
      while (isBlank(text.charCodeAt(cur.pos))) cur.pos++;
    }
  }
  if (cur.pos < text.length) {
    if (!isLineEnd(text, cur.pos)) throw new LineError(['timestamp'], `unexpected '${text.slice(cur.pos, cur.pos + 20).split('\n')[0]}' after the ${time === undefined ? 'fields' : 'timestamp'}`);
    cur.pos += text.charCodeAt(cur.pos) === 13 ? 2 : 1;
    cur.line++;
  }
  const point: LinePoint = { line, measurement, tags, fields };
  if (time !== undefined) point.time = time;
  return point;
}

const isLineEnd = (text: string, i: number) => text.charCodeAt(i) === 10 || (text.charCodeAt(i) === 13 && text.charCodeAt(i + 1) === 10);

/**
 * A measurement, tag key, tag value or field key: up to an unescaped delimiter (`,` and a blank; for keys
 * also `=`). Returns it unescaped.
 */
function readToken(text: string, cur: Cursor, kind: 'measurement' | 'key', path: (string | number)[]): string {
  let out = '';
  let from = cur.pos;
  let i = cur.pos;
  const n = text.length;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 44 || c === 32 || (kind === 'key' && c === 61)) break;
    if (isControl(c)) {
      if (c === 13 && text.charCodeAt(i + 1) === 10) break;
      if (c === 10 || c === 9 || c === 11 || c === 12) break;
      throw new LineError(path, 'a carriage return must be followed by a newline');
    }
    if (c !== 92 /* \ */) continue;
    const next = text.charCodeAt(i + 1);
    if (i + 1 >= n || isControl(next)) throw new LineError(path, `a backslash at the end of ${describe(path)} escapes nothing`);
    if (next === 44 || next === 32 || next === 92 || (kind === 'key' && next === 61)) {
      out += text.slice(from, i) + text[i + 1];
      i++;
      from = i + 1;
    }
  }
  cur.pos = i;
  return out + text.slice(from, i);
}

function describe(path: (string | number)[]): string {
  if (path[0] === 'measurement') return 'the measurement';
  if (path.length === 1) return `a ${path[0] === 'tags' ? 'tag' : 'field'} key`;
  return `the ${path[0] === 'tags' ? 'tag' : 'field'} '${String(path[1])}'`;
}

function readFieldValue(text: string, cur: Cursor, key: string): number | string | boolean {
  const path = ['fields', key];
  if (text.charCodeAt(cur.pos) === 34 /* " */) {
    let out = '';
    let from = cur.pos + 1;
    for (let i = from; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) cur.line++;
      if (c === 92) {
        const next = text.charCodeAt(i + 1);
        if (next === 34 || next === 92) {
          out += text.slice(from, i) + text[i + 1];
          i++;
          from = i + 1;
        }
      } else if (c === 34) {
        cur.pos = i + 1;
        return out + text.slice(from, i);
      }
    }
    cur.pos = text.length;
    throw new LineError(path, `the string value of '${key}' has no closing quote`);
  }
  const from = cur.pos;
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 44 || isBlank(c) || c === 10 || c === 13) break;
    i++;
  }
  cur.pos = i;
  const raw = text.slice(from, i);
  if (raw === '') throw new LineError(path, `the field '${key}' has no value`);
  const last = raw[raw.length - 1];
  if (last === 'i' && INTEGER.test(raw.slice(0, -1))) return exactInteger(BigInt(raw.slice(0, -1)), INT64_MIN, INT64_MAX, 'an int64', path, key);
  if (last === 'u' && UNSIGNED.test(raw.slice(0, -1))) return exactInteger(BigInt(raw.slice(0, -1)), 0n, UINT64_MAX, 'a uint64', path, key);
  if (FLOAT.test(raw)) {
    const v = Number(raw);
    if (!Number.isFinite(v)) throw new LineError(path, `the float ${raw} of '${key}' is beyond a 64-bit float`);
    return v;
  }
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  if (raw.includes('"')) throw new LineError(path, `the value of '${key}' has a stray quote; a string value is "quoted" whole, with \\" inside`);
  throw new LineError(path, `'${raw.length > 40 ? `${raw.slice(0, 40)}…` : raw}' is not a field value: write 1.5, 1i, 1u, true or "text"`);
}

function exactInteger(v: bigint, min: bigint, max: bigint, what: string, path: (string | number)[], key: string): number {
  if (v < min || v > max) throw new LineError(path, `${v} (field '${key}') is out of the range of ${what}`);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new LineError(path, `${v} (field '${key}') is beyond ±${Number.MAX_SAFE_INTEGER}, the largest integer kept exactly`);
  }
  return Number(v);
}

/** Digits dropped from a timestamp to make milliseconds, per precision finer than a millisecond. */
const SUB_MS_DIGITS = new Map<bigint, number>([
  [1n, 6],
  [1_000n, 3],
]);
/** Below this many milliseconds, a time is inside InfluxDB's range in every precision. */
const SAFE_MS = 9_223_372_036_853;

function toMillis(raw: string, scale: bigint): number {
  // the common case without BigInt: a non-negative time whose milliseconds are exact as a double
  if (raw.charCodeAt(0) !== 45 && raw.length <= 19 && TIMESTAMP.test(raw)) {
    const cut = SUB_MS_DIGITS.get(scale);
    const ms = cut === undefined ? Number(raw) * Number(scale / 1_000_000n) : raw.length > cut ? Number(raw.slice(0, raw.length - cut)) : 0;
    if (ms < SAFE_MS) return ms;
  }
  if (!TIMESTAMP.test(raw)) throw new LineError(['timestamp'], `'${raw.length > 24 ? `${raw.slice(0, 24)}…` : raw}' is not a timestamp (an integer of up to 19 digits)`);
  const ns = BigInt(raw) * scale;
  if (ns < MIN_NANO_TIME || ns > MAX_NANO_TIME) throw new LineError(['timestamp'], `the timestamp ${raw} is out of range (InfluxDB's is ±9223372036854775806 ns)`);
  const ms = ns / 1_000_000n - (ns < 0n && ns % 1_000_000n !== 0n ? 1n : 0n);
  if (ms < 0n || ms > MAX_DATE_MS) throw new LineError(['timestamp'], `the timestamp ${raw} is out of range: times from 1970-01-01 on are stored`);
  return Number(ms);
}

/**
 * Writes points as line protocol, escaping what must be escaped (the inverse of {@link parseLineProtocol}):
 * for tests, benchmarks and clients. Numbers are floats unless `integers` names the field (then `i`).
 *
 * @example
 * formatLineProtocol([{ measurement: 'cpu', tags: { host: 'a b' }, fields: { v: 1 }, time: 1 }]); // 'cpu,host=a\\ b v=1 1\n'
 */
export function formatLineProtocol(
  points: readonly { measurement: string; tags?: Record<string, string>; fields: Record<string, number | string | boolean | { int: number }>; time?: number | bigint }[],
): string {
  let out = '';
  for (const p of points) {
    out += escapeToken(p.measurement, /[\\, ]/g);
    for (const [k, v] of Object.entries(p.tags ?? {})) out += `,${escapeToken(k, /[\\,= ]/g)}=${escapeToken(v, /[\\,= ]/g)}`;
    out += ' ';
    out += Object.entries(p.fields)
      .map(([k, v]) => `${escapeToken(k, /[\\,= ]/g)}=${formatValue(v)}`)
      .join(',');
    if (p.time !== undefined) out += ` ${p.time}`;
    out += '\n';
  }
  return out;
}

function escapeToken(s: string, special: RegExp): string {
  return s.replace(special, (c) => `\\${c}`);
}

function formatValue(v: number | string | boolean | { int: number }): string {
  if (typeof v === 'object') return `${v.int}i`;
  if (typeof v === 'string') return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

/**
 * A point as a record of its stream: tags are the stream's dimensions (typed as the schema says: `3` for
 * an integer dimension, `true` for a boolean one), fields its measures, the timestamp its time field. The
 * record then goes through the stream's validation like any other; a tag or field named like the time
 * field is refused here, since the time is the line's timestamp.
 *
 * @example
 * linePointRecord({ line: 1, measurement: 'cpu', tags: { host: 'a' }, fields: { usage_idle: 98 }, time: 1 }, stream);
 * // { ok: true, record: { host: 'a', usage_idle: 98, timestamp: 1 } }
 */
export function linePointRecord(
  point: LinePoint,
  stream: { schema: Record<string, { type: string }>; timeField: string; dimensions: readonly string[] },
): { ok: true; record: Record<string, unknown> } | { ok: false; issue: Issue } {
  const record: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(point.tags)) {
    if (k === stream.timeField) return { ok: false, issue: { index: point.line - 1, path: ['tags', k], message: `line ${point.line}: '${k}' is the stream's time field; put the time at the end of the line` } };
    const type = stream.schema[k]?.type;
    record[k] = type === 'integer' && INTEGER.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : type === 'boolean' && (v === 'true' || v === 'false') ? v === 'true' : v;
  }
  for (const [k, v] of Object.entries(point.fields)) {
    if (k === stream.timeField) return { ok: false, issue: { index: point.line - 1, path: ['fields', k], message: `line ${point.line}: '${k}' is the stream's time field; put the time at the end of the line` } };
    record[k] = v;
  }
  if (point.time !== undefined) record[stream.timeField] = point.time;
  return { ok: true, record };
}
