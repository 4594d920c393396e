import { parseTimestamp } from './datetime';
import type { Issue } from './errors';
import { isWellFormedText, loneSurrogateMessage } from './json-safety';
import { checkGraph } from './graph-value';
import type { FieldSpec, Stream } from './stream-definition';
import { EVENT_TYPE_FIELD } from './stream-sections';
import { FIELD_NAME, MAX_MEASURES, RESERVED_FIELDS } from './stream-names';

/**
 * A stream's schema compiled once into a validator that also normalizes: one pass per record checks
 * types, ranges, enums, required and unknown fields, and returns the record as a datapoint.
 *
 * @example
 * const compiled = compileStream(stream);
 * const { points, issues } = compiled.validate([{ deviceId: 'f1', temperature: -18.5 }], { now: Date.now() });
 */

/** A typed value: numbers (number, integer), strings (string, object and array as JSON), booleans, times (ms). */
export type Value = number | string | boolean;

/** One normalized record: its time in epoch milliseconds, its series (dimensions) and its measures. */
export interface Datapoint {
  time: number;
  dimensions: Record<string, string>;
  values: Record<string, Value>;
}

export interface ValidateContext {
  /** Epoch ms; a record without a time field gets it. */
  receivedAt?: number;
  /** Epoch ms used for the "not in the future" check. */
  now: number;
  /** Fills the `deviceId` dimension of MQTT records that do not carry it. */
  deviceId?: string;
  /**
   * A stream that learns its schema: the fields its records added, with the type each was given, shared by
   * every call of one batch (the writer passes one object and adds them to the stream); a call without it
   * keeps its own.
   */
  learned?: Record<string, FieldSpec>;
}

export interface ValidationResult {
  /** The valid records, normalized; `indexes[i]` is the batch position of `points[i]`. */
  points: Datapoint[];
  indexes: number[];
  issues: Issue[];
  /** How many records had at least one issue. */
  invalid: number;
}

export interface CompiledStream {
  readonly stream: Stream;
  validate(records: readonly unknown[], ctx: ValidateContext): ValidationResult;
}

export const MAX_FUTURE_MS = 15 * 60_000;
/** Timestream's limit on one record. */
export const MAX_RECORD_BYTES = 2048;
/** Depth allowed inside object and array fields. */
export const MAX_VALUE_DEPTH = 16;

const enum Kind {
  Dimension,
  Measure,
  Time,
}
const enum T {
  Number,
  Integer,
  String,
  Boolean,
  Datetime,
  Object,
  Array,
  Graph,
}
const TYPE_CODE: Record<FieldSpec['type'], T> = {
  number: T.Number,
  integer: T.Integer,
  string: T.String,
  boolean: T.Boolean,
  datetime: T.Datetime,
  object: T.Object,
  array: T.Array,
  graph: T.Graph,
};

interface CompiledField {
  name: string;
  kind: Kind;
  type: T;
  typeName: string;
  required: boolean;
  min: number;
  max: number;
  enumSet: Set<unknown> | undefined;
  enumText: string;
  maxLength: number;
  /** Bytes the name costs in a Timestream record. */
  nameBytes: number;
}

const INVALID = Symbol('invalid');
type Checked = Value | typeof INVALID;

/** Compiles a stream's schema. Cache the result by `(stream.id, stream.version)`. */
export function compileStream(stream: Stream): CompiledStream {
  const fields: Record<string, CompiledField> = Object.create(null);
  const required: CompiledField[] = [];
  for (const [name, spec] of Object.entries(stream.schema)) {
    const f = compileField(name, spec, stream);
    fields[name] = f;
    if (f.required) required.push(f);
  }
  const learning = stream.learnSchema === true;
  const wholeEvents = stream.type === 'event_stream';
  const declared = Object.keys(fields).length;
  const timeField = stream.timeField;
  const timeDeclared = fields[timeField] !== undefined;
  const strict = stream.validation === 'strict';
  const fillDevice = stream.dimensions.includes('deviceId');
  const baseBytes = 'stream_id'.length + utf8Length(stream.id) + 8;
  // an event_stream with event types: the record's `eventType` selects the fields it may carry and must
  const eventTypes = stream.eventTypes
    ? new Map(Object.entries(stream.eventTypes).map(([name, t]) => [name, { fields: new Set([...t.fields, EVENT_TYPE_FIELD, timeField]), required: t.required }]))
    : undefined;

  function validate(records: readonly unknown[], ctx: ValidateContext): ValidationResult {
    const points: Datapoint[] = [];
    const indexes: number[] = [];
    const issues: Issue[] = [];
    let invalid = 0;
    const receivedAt = ctx.receivedAt ?? ctx.now;
    const latest = ctx.now + MAX_FUTURE_MS;
    const fail = (index: number, path: (string | number)[], message: string) => {
      issues.push({ index, path, message });
    };
    const learned = learning ? (ctx.learned ?? {}) : undefined;
    const learnedFields: Record<string, CompiledField> = Object.create(null);
    /** The field a record adds to a learning stream: typed by the first value any record of the batch gave it. */
    const learnedField = (index: number, key: string, raw: unknown): CompiledField | undefined => {
      const known = learnedFields[key];
      if (known) return known;
      let spec = Object.hasOwn(learned!, key) ? learned![key] : undefined;
      if (!spec) {
        const problem = fieldNameProblem(key) ?? (declared + Object.keys(learned!).length >= MAX_MEASURES ? `the stream has ${MAX_MEASURES} fields, the most a stream may have` : undefined);
        if (problem) {
          fail(index, [key], `cannot add field '${key}': ${problem}`);
          return undefined;
        }
        spec = { type: typeOfValue(raw) };
        learned![key] = spec;
      }
      return (learnedFields[key] = compileField(key, spec, stream));
    };
    for (let index = 0; index < records.length; index++) {
      const record = records[index];
      const before = issues.length;
      if (typeof record !== 'object' || record === null || Array.isArray(record)) {
        fail(index, [], `a record must be a JSON object, got ${describe(record)}`);
        invalid++;
        continue;
      }
      const dimensions: Record<string, string> = {};
      const values: Record<string, Value> = {};
      let time = receivedAt;
      let requiredSeen = 0;
      let bytes = baseBytes;
      const rec = record as Record<string, unknown>;
      for (const key in rec) {
        const raw = rec[key];
        const f = fields[key];
        if (f === undefined) {
          if (key === timeField && !timeDeclared) {
            if (raw === null || raw === undefined) continue;
            const t = parseTimestamp(raw);
            if (t === undefined) fail(index, [key], timeMessage(raw));
            else time = t;
          } else if (learned) {
            if (raw === null || raw === undefined) continue;
            const lf = learnedField(index, key, raw);
            if (!lf) continue;
            const v = check(lf, raw);
            if (v === INVALID) {
              issues.push({ index, path: [key, ...failure.path], message: `${failure.message} (the stream learned '${key}' as ${lf.typeName})` });
              continue;
            }
            values[key] = v;
            bytes += lf.nameBytes + (typeof v === 'string' ? utf8Length(v) : 8);
          } else if (strict) {
            fail(index, [key], `unknown field '${key}'; the stream's schema does not declare it`);
          }
          continue;
        }
        if (raw === null || raw === undefined) continue;
        if (f.required) requiredSeen++;
        const v = check(f, raw);
        if (v === INVALID) {
          issues.push({ index, path: [key, ...failure.path], message: failure.message });
          continue;
        }
        if (f.kind === Kind.Time) {
          time = v as number;
        } else if (f.kind === Kind.Dimension) {
          const s = typeof v === 'string' ? v : String(v);
          if (s.length === 0) continue;
          dimensions[key] = s;
          bytes += f.nameBytes + utf8Length(s);
        } else {
          values[key] = v;
          bytes += f.nameBytes + (typeof v === 'string' ? utf8Length(v) : 8);
        }
      }
      if (requiredSeen < required.length) {
        for (const f of required) {
          const present = Object.hasOwn(rec, f.name) ? rec[f.name] : undefined;
          if (present === undefined || present === null) {
            if (f.name === 'deviceId' && fillDevice && ctx.deviceId !== undefined) continue;
            fail(index, [f.name], `required field '${f.name}' (${f.typeName}) is missing`);
          }
        }
      }
      const eventType = eventTypes?.get(rec[EVENT_TYPE_FIELD] as string);
      if (eventType) {
        for (const key in rec) {
          if (!eventType.fields.has(key) && rec[key] !== null && rec[key] !== undefined) {
            fail(index, [key], `'${key}' is not a field of event type '${String(rec[EVENT_TYPE_FIELD])}'`);
          }
        }
        for (const name of eventType.required) {
          if (rec[name] === undefined || rec[name] === null) fail(index, [name], `event type '${String(rec[EVENT_TYPE_FIELD])}' requires '${name}'`);
        }
      }
      if (time > latest) {
        fail(index, [timeField], `time ${new Date(time).toISOString()} lies more than 15 minutes in the future`);
      }
      if (fillDevice && dimensions.deviceId === undefined && ctx.deviceId !== undefined) {
        dimensions.deviceId = ctx.deviceId;
        bytes += 8 + utf8Length(ctx.deviceId);
      }
      // an event larger than a point may be is kept whole by the event store: its point keeps what is not text
      if (issues.length === before && bytes > MAX_RECORD_BYTES && wholeEvents) bytes = withoutText(values, bytes);
      if (issues.length === before && bytes > MAX_RECORD_BYTES) {
        fail(index, [], `the record is ${bytes} bytes once stored; the limit is ${MAX_RECORD_BYTES}${wholeEvents ? ' (without its text fields, as an event\'s point is written)' : ''}`);
      }
      if (issues.length > before) {
        invalid++;
        continue;
      }
      points.push({ time, dimensions, values });
      indexes.push(index);
    }
    return { points, indexes, issues, invalid };
  }

  return { stream, validate };
}

function compileField(name: string, spec: FieldSpec, stream: Stream): CompiledField {
  return {
    name,
    kind: name === stream.timeField ? Kind.Time : stream.dimensions.includes(name) ? Kind.Dimension : Kind.Measure,
    type: TYPE_CODE[spec.type],
    typeName: spec.type,
    required: spec.required === true,
    min: spec.range?.min ?? -Infinity,
    max: spec.range?.max ?? Infinity,
    enumSet: spec.enum ? new Set(spec.enum) : undefined,
    enumText: spec.enum ? spec.enum.map((v) => JSON.stringify(v)).join(', ') : '',
    maxLength: spec.maxLength ?? Infinity,
    // measures are stored as `<name>__<type>` columns (see shared/aws/timestream-sql.ts): count the suffix
    nameBytes: utf8Length(name) + (name !== stream.timeField && !stream.dimensions.includes(name) ? 10 : 0),
  };
}

/**
 * An event's point without its text values (strings, objects and arrays as JSON), which the event store keeps
 * whole; returns the point's bytes after.
 */
function withoutText(values: Record<string, Value>, bytes: number): number {
  for (const [name, v] of Object.entries(values)) {
    if (typeof v !== 'string') continue;
    delete values[name];
    bytes -= utf8Length(name) + 10 + utf8Length(v);
  }
  return bytes;
}

/** The type a learning stream gives a new field from its first value. */
function typeOfValue(raw: unknown): FieldSpec['type'] {
  if (typeof raw === 'number') return 'number';
  if (typeof raw === 'boolean') return 'boolean';
  if (Array.isArray(raw)) return 'array';
  if (typeof raw === 'object') return 'object';
  return 'string';
}

/** Why a record's key cannot become a field of its stream, if it cannot. */
function fieldNameProblem(key: string): string | undefined {
  if (!FIELD_NAME.test(key)) return 'a field name starts with a letter or _, then letters, digits or _, at most 60 characters';
  if (RESERVED_FIELDS.has(key) || key.startsWith('measure_') || key.startsWith('ts_') || key === '__proto__') return 'the name is reserved by the store';
  return undefined;
}

/** Why the last `check` returned INVALID: set instead of allocating a callback per record. */
const failure: { path: (string | number)[]; message: string } = { path: [], message: '' };

function invalid(message: string, path: (string | number)[] = []): typeof INVALID {
  failure.message = message;
  failure.path = path;
  return INVALID;
}

function check(f: CompiledField, raw: unknown): Checked {
  switch (f.type) {
    case T.Number:
    case T.Integer: {
      if (typeof raw !== 'number') {
        return invalid(`must be ${f.type === T.Integer ? 'an integer' : 'a number'}, got ${describe(raw)}`);
      }
      if (!Number.isFinite(raw)) {
        return invalid(`must be a finite number, got ${raw}`);
      }
      if (f.type === T.Integer && !Number.isSafeInteger(raw)) {
        return invalid(Number.isInteger(raw) ? `integer ${raw} is too large to keep exactly` : `must be an integer, got ${raw}`);
      }
      if (raw < f.min || raw > f.max) {
        return invalid(`${raw} is outside the range [${f.min}, ${f.max}]`);
      }
      if (f.enumSet && !f.enumSet.has(raw)) {
        return invalid(`must be one of ${f.enumText}, got ${raw}`);
      }
      return raw;
    }
    case T.String: {
      if (typeof raw !== 'string') {
        return invalid(`must be a string, got ${describe(raw)}`);
      }
      // UTF-8 stores cannot hold a lone surrogate: kept, it would come back as U+FFFD
      if (!isWellFormedText(raw)) {
        return invalid(loneSurrogateMessage(raw));
      }
      if (raw.length > f.maxLength) {
        return invalid(`must be at most ${f.maxLength} characters, got ${raw.length}`);
      }
      if (f.enumSet && !f.enumSet.has(raw)) {
        return invalid(`must be one of ${f.enumText}, got ${JSON.stringify(raw.slice(0, 64))}`);
      }
      return raw;
    }
    case T.Boolean:
      if (typeof raw !== 'boolean') {
        return invalid(`must be true or false, got ${describe(raw)}`);
      }
      return raw;
    case T.Datetime: {
      const t = parseTimestamp(raw);
      if (t === undefined) {
        return invalid(timeMessage(raw));
      }
      return t;
    }
    case T.Object:
    case T.Array: {
      const isArray = Array.isArray(raw);
      if (typeof raw !== 'object' || isArray !== (f.type === T.Array)) {
        return invalid(`must be ${f.type === T.Array ? 'an array' : 'an object'}, got ${describe(raw)}`);
      }
      const problem = checkNested(raw, 1);
      if (problem) {
        return invalid(problem.message, problem.path);
      }
      return JSON.stringify(raw);
    }
    case T.Graph: {
      const problem = checkNested(raw, 1) ?? checkGraph(raw);
      if (problem) {
        return invalid(problem.message, problem.path);
      }
      return JSON.stringify(raw);
    }
  }
}

/** Bounded walk of an object or array field: depth cap, no non-finite numbers, no lone surrogates. */
function checkNested(value: unknown, depth: number): { path: (string | number)[]; message: string } | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) return { path: [], message: `must be a finite number, got ${value}` };
  if (typeof value === 'string') return isWellFormedText(value) ? undefined : { path: [], message: loneSurrogateMessage(value) };
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > MAX_VALUE_DEPTH) return { path: [], message: `nested deeper than ${MAX_VALUE_DEPTH} levels` };
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [k, v] of entries) {
    if (typeof k === 'string' && !isWellFormedText(k)) return { path: [k], message: `the key ${loneSurrogateMessage(k)}` };
    const problem = checkNested(v, depth + 1);
    if (problem) return { path: [k, ...problem.path], message: problem.message };
  }
  return undefined;
}

function timeMessage(raw: unknown): string {
  return `must be an RFC 3339 date-time with a time zone (e.g. 2026-01-01T12:00:00Z) or epoch milliseconds, got ${describe(raw)}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** UTF-8 byte length without allocating. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}
