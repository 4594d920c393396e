import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildDataQuery,
  buildLatestQuery,
  MAX_QUERY_BYTES,
  measureColumn,
  referencedColumns,
  sqlString,
  type TableRef,
} from '../../shared/aws/timestream-sql';
import { buildSessionQuery, buildSlidingQuery } from '../../shared/aws/timestream-window-sql';
import { BadRequestError } from '../../shared/domain/errors';
import { parseDataQuery, type DataQuery } from '../../shared/domain/query';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import { issuesOf } from '../fixtures/domain';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const START = Date.parse('2026-03-01T00:00:00Z'); // 1772323200000
const END = Date.parse('2026-03-01T06:00:00Z'); // 1772344800000
const TABLE: TableRef = { database: 'tributary', table: 'datapoints' };

const freezers: Stream = newStream(
  parseStreamInput({
    id: 'freezers',
    name: 'Freezers',
    type: 'iot_sensor',
    schema: {
      deviceId: { type: 'string', required: true },
      site: { type: 'string' },
      timestamp: { type: 'datetime' },
      temperature: { type: 'number' },
      count: { type: 'integer' },
      status: { type: 'string' },
      open: { type: 'boolean' },
    },
    dimensions: ['deviceId', 'site'],
  }),
  new Date(NOW),
  () => 'x',
);

const q = (params: Record<string, string>): DataQuery => parseDataQuery(freezers, { start: String(START), end: String(END), ...params }, NOW);

describe('measureColumn', () => {
  it('stores one field name under a different column per Timestream type, so streams that disagree on a type never share a column', () => {
    expect(measureColumn('value', 'number')).toBe('value__double');
    expect(measureColumn('value', 'integer')).toBe('value__bigint');
    expect(measureColumn('value', 'string')).toBe('value__varchar');
    expect(measureColumn('value', 'object')).toBe('value__varchar');
    expect(measureColumn('value', 'boolean')).toBe('value__boolean');
    expect(measureColumn('value', 'datetime')).toBe('value__timestamp');
  });

  it('lists the dimensions and measure columns a query over some fields touches', () => {
    expect(referencedColumns(freezers, ['temperature', 'open'])).toEqual(['deviceId', 'site', 'temperature__double', 'open__boolean']);
  });
});

describe('buildDataQuery: raw', () => {
  it('selects time, every dimension and the asked fields over [start, end), ordered by time then series key', () => {
    const built = buildDataQuery(TABLE, freezers, q({ fields: 'temperature,open', limit: '100' }));
    expect(built.sql).toBe(
      [
        'SELECT time, "deviceId", "site", "temperature__double", "open__boolean"',
        'FROM "tributary"."datapoints"',
        `WHERE measure_name = 'datapoint'`,
        `  AND "stream_id" = 'freezers'`,
        '  AND time >= from_milliseconds(1772323200000)',
        '  AND time < from_milliseconds(1772344800000)',
        `ORDER BY time ASC, coalesce("deviceId", '') ASC, coalesce("site", '') ASC`,
        'LIMIT 100',
      ].join('\n'),
    );
    expect(built.columns).toEqual([
      { kind: 'time' },
      { kind: 'dimension', name: 'deviceId' },
      { kind: 'dimension', name: 'site' },
      { kind: 'value', field: 'temperature' },
      { kind: 'value', field: 'open' },
    ]);
  });

  it('keeps the asked series with one IN list per dimension, quotes doubled', () => {
    const { sql } = buildDataQuery(TABLE, freezers, q({ fields: 'temperature', 'dim.deviceId': "f1,O'Brien", 'dim.site': 'north' }));
    expect(sql).toContain(`  AND "deviceId" IN ('f1', 'O''Brien')\n  AND "site" IN ('north')\n`);
  });

  it('continues strictly after the cursor row in (time, deviceId, site) order', () => {
    const query = { ...q({ fields: 'temperature' }), after: { time: 1772330000000, key: ['f1', ''] } };
    const { sql } = buildDataQuery(TABLE, freezers, query);
    expect(sql).toContain(
      `  AND (time > from_milliseconds(1772330000000) OR time = from_milliseconds(1772330000000) AND (coalesce("deviceId", '') > 'f1' OR coalesce("deviceId", '') = 'f1' AND coalesce("site", '') > ''))\n`,
    );
  });

  it('flips both the order and the cursor comparison for order=desc', () => {
    const query = { ...q({ fields: 'temperature', order: 'desc' }), after: { time: 1772330000000, key: ['f1', 'north'] } };
    const { sql } = buildDataQuery(TABLE, freezers, query);
    expect(sql).toContain(`(time < from_milliseconds(1772330000000) OR time = from_milliseconds(1772330000000) AND (coalesce("deviceId", '') < 'f1' OR`);
    expect(sql).toContain(`ORDER BY time DESC, coalesce("deviceId", '') DESC, coalesce("site", '') DESC\nLIMIT`);
  });

  it('reads a column no record has created yet as a typed NULL instead of naming it', () => {
    const known = new Set(['deviceId', 'temperature__double']);
    const { sql } = buildDataQuery(TABLE, freezers, q({ fields: 'temperature,open', 'dim.site': 'north' }), known);
    expect(sql).toContain('SELECT time, "deviceId", CAST(NULL AS VARCHAR) AS "site", "temperature__double", CAST(NULL AS BOOLEAN) AS "open__boolean"');
    expect(sql).toContain(`  AND CAST(NULL AS VARCHAR) IN ('north')`);
  });
});

describe('buildDataQuery: downsampled', () => {
  it('aggregates per epoch-aligned bin across the stream when nothing is grouped', () => {
    const built = buildDataQuery(TABLE, freezers, q({ fields: 'temperature', granularity: '1h', downsamplers: 'mean,min,max,count', limit: '24' }));
    expect(built.sql).toBe(
      [
        'SELECT bin(time, 1h) AS "bin", avg("temperature__double") AS "temperature__mean", min("temperature__double") AS "temperature__min", max("temperature__double") AS "temperature__max", count("temperature__double") AS "temperature__count"',
        'FROM "tributary"."datapoints"',
        `WHERE measure_name = 'datapoint'`,
        `  AND "stream_id" = 'freezers'`,
        '  AND time >= from_milliseconds(1772323200000)',
        '  AND time < from_milliseconds(1772344800000)',
        'GROUP BY bin(time, 1h)',
        'ORDER BY "bin" ASC',
        'LIMIT 24',
      ].join('\n'),
    );
    expect(built.columns).toEqual([
      { kind: 'time' },
      { kind: 'aggregate', field: 'temperature', downsampler: 'mean' },
      { kind: 'aggregate', field: 'temperature', downsampler: 'min' },
      { kind: 'aggregate', field: 'temperature', downsampler: 'max' },
      { kind: 'aggregate', field: 'temperature', downsampler: 'count' },
    ]);
  });

  it('maps sum, stddev, first and last to sum, stddev_samp and min_by/max_by on the time of rows that have the field', () => {
    const { sql } = buildDataQuery(TABLE, freezers, q({ fields: 'count', granularity: '10s', downsamplers: 'sum,stddev,first,last' }));
    expect(sql.split('\n')[0]).toBe(
      'SELECT bin(time, 10s) AS "bin", sum("count__bigint") AS "count__sum", stddev_samp("count__bigint") AS "count__stddev", ' +
        'min_by("count__bigint", CASE WHEN "count__bigint" IS NOT NULL THEN time END) AS "count__first", ' +
        'max_by("count__bigint", CASE WHEN "count__bigint" IS NOT NULL THEN time END) AS "count__last"',
    );
  });

  it('groups by bin and the groupBy dimensions, and pages by (bin, group key)', () => {
    const query = { ...q({ fields: 'temperature', granularity: '5m', downsamplers: 'mean', groupBy: 'site' }), after: { time: 1772330400000, key: ['north'] } };
    const built = buildDataQuery(TABLE, freezers, query);
    expect(built.sql).toContain('SELECT bin(time, 5m) AS "bin", "site", avg("temperature__double") AS "temperature__mean"');
    expect(built.sql).toContain(
      `  AND (bin(time, 5m) > from_milliseconds(1772330400000) OR bin(time, 5m) = from_milliseconds(1772330400000) AND coalesce("site", '') > 'north')\n`,
    );
    expect(built.sql).toContain(`GROUP BY bin(time, 5m), "site"\nORDER BY "bin" ASC, coalesce("site", '') ASC\n`);
    expect(built.columns.slice(0, 2)).toEqual([{ kind: 'time' }, { kind: 'dimension', name: 'site' }]);
  });

  it('counts a non-numeric field but refuses to average it', () => {
    expect(buildDataQuery(TABLE, freezers, q({ fields: 'status', granularity: '1h', downsamplers: 'count,last' })).sql).toContain(
      'count("status__varchar") AS "status__count"',
    );
    const query = { ...q({ fields: 'temperature', granularity: '1h', downsamplers: 'mean' }), fields: ['status'] };
    expect(issuesOf(() => buildDataQuery(TABLE, freezers, query)).map((i) => i.path)).toEqual([['downsamplers']]);
  });
});

describe('buildLatestQuery', () => {
  it('keeps the newest row of each series with row_number() over the series, ordered by series key', () => {
    const built = buildLatestQuery(TABLE, freezers, { fields: ['temperature'], filters: { site: ['north'] } });
    expect(built.sql).toBe(
      [
        'SELECT time, "deviceId", "site", "temperature__double"',
        'FROM (SELECT time, "deviceId", "site", "temperature__double", row_number() OVER (PARTITION BY "deviceId", "site" ORDER BY time DESC) AS "rn"',
        '  FROM "tributary"."datapoints"',
        `  WHERE measure_name = 'datapoint'`,
        `    AND "stream_id" = 'freezers'`,
        `    AND "site" IN ('north')) AS "newest"`,
        'WHERE "rn" = 1',
        `ORDER BY coalesce("deviceId", '') ASC, coalesce("site", '') ASC`,
        'LIMIT 10000',
      ].join('\n'),
    );
    expect(built.columns).toEqual([
      { kind: 'time' },
      { kind: 'dimension', name: 'deviceId' },
      { kind: 'dimension', name: 'site' },
      { kind: 'value', field: 'temperature' },
    ]);
  });
});

describe('the injection boundary', () => {
  it('writes characters it cannot prove inert inside a literal as chr() code points, so a backslash or newline never sits in a literal', () => {
    expect(sqlString('a\\b', 'x')).toBe(`concat('a', chr(92), 'b')`);
    expect(sqlString("x'\n--", 'x')).toBe(`concat('x''', chr(10), '--')`);
    expect(sqlString('\u2028', 'x')).toBe('chr(8232)');
    expect(sqlString('', 'x')).toBe(`''`);
  });

  it('keeps letters of any script in the literal as they are', () => {
    expect(sqlString('Zürich 東京', 'x')).toBe(`'Zürich 東京'`);
  });

  it('writes a fullwidth apostrophe as a code point, since a normalizing reader would fold it into a quote', () => {
    expect(sqlString('\uFF07', 'x')).toBe('chr(65287)');
  });

  it('refuses an unpaired surrogate and names the parameter it came from', () => {
    const query = { ...q({ fields: 'temperature' }), filters: { deviceId: ['ok', 'bad\ud800'] } };
    expect(issuesOf(() => buildDataQuery(TABLE, freezers, query))).toEqual([{ path: ['dim.deviceId'], message: expect.stringContaining('surrogate') }]);
  });

  it('refuses identifiers that are not fields of the stream', () => {
    const notAField = { ...q({ fields: 'temperature' }), fields: ['temperature" --'] };
    expect(issuesOf(() => buildDataQuery(TABLE, freezers, notAField)).map((i) => i.path)).toEqual([['fields']]);
    const notADimension = { ...q({}), filters: { temperature: ['1'] } };
    expect(issuesOf(() => buildDataQuery(TABLE, freezers, notADimension)).map((i) => i.path)).toEqual([['dim.temperature']]);
    expect(issuesOf(() => buildLatestQuery(TABLE, freezers, { fields: ['deviceId'], filters: {} })).map((i) => i.path)).toEqual([['fields']]);
  });

  it('refuses a cursor time that is not a non-negative integer', () => {
    const query = { ...q({ fields: 'temperature' }), after: { time: -1, key: ['a', 'b'] } };
    expect(issuesOf(() => buildDataQuery(TABLE, freezers, query)).map((i) => i.path)).toEqual([['cursor']]);
  });

  it('refuses a query longer than Timestream accepts instead of sending it', () => {
    const long = Array.from({ length: 100 }, (_, i) => `${i}${'\\'.repeat(300)}`);
    const query = { ...q({ fields: 'temperature' }), filters: { deviceId: long } };
    expect(Buffer.byteLength(long.map((v) => sqlString(v, 'x')).join())).toBeGreaterThan(MAX_QUERY_BYTES);
    expect(issuesOf(() => buildDataQuery(TABLE, freezers, query))[0]?.message).toMatch(/too long/);
  });
});

// ---- property: hostile strings never change the statement's structure -----------------------------------

type Token = { t: 'str' | 'id' | 'num' | 'word' | 'op' | 'bad'; v: string };

/** A small SQL reader: quoted literals ('' doubled), quoted identifiers, numbers with unit suffixes, words, operators. */
function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= sql.length) return [...out, { t: 'bad', v: 'unterminated literal' }];
        if (sql[i] === "'") {
          if (sql[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += sql[i++];
      }
      out.push({ t: 'str', v });
    } else if (c === '"') {
      const end = sql.indexOf('"', i + 1);
      if (end < 0) return [...out, { t: 'bad', v: 'unterminated identifier' }];
      out.push({ t: 'id', v: sql.slice(i + 1, end) });
      i = end + 1;
    } else if (sql.startsWith('--', i) || sql.startsWith('/*', i)) {
      out.push({ t: 'bad', v: 'comment' });
      i += 2;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+[a-z]*/.exec(sql.slice(i))![0];
      out.push({ t: 'num', v: m });
      i += m.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))![0];
      out.push({ t: 'word', v: m });
      i += m.length;
    } else if (['>=', '<=', '<>', '!=', '||'].includes(sql.slice(i, i + 2))) {
      out.push({ t: 'op', v: sql.slice(i, i + 2) });
      i += 2;
    } else if ('(),.=<>*'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
    } else {
      out.push({ t: 'bad', v: c });
      i++;
    }
  }
  return out;
}

/** Reads `'lit' | chr(n) | concat(S, …)` at `at` into the string it evaluates to. */
function stringExpr(tokens: Token[], at: number): { value: string; next: number } | undefined {
  const tok = tokens[at];
  const is = (k: number, t: Token['t'], v?: string) => tokens[k]?.t === t && (v === undefined || tokens[k]!.v === v);
  if (tok?.t === 'str') return { value: tok.v, next: at + 1 };
  if (is(at, 'word', 'chr') && is(at + 1, 'op', '(') && is(at + 2, 'num') && is(at + 3, 'op', ')')) {
    return { value: String.fromCodePoint(Number(tokens[at + 2]!.v)), next: at + 4 };
  }
  if (is(at, 'word', 'concat') && is(at + 1, 'op', '(')) {
    let k = at + 2;
    let value = '';
    for (;;) {
      const part = stringExpr(tokens, k);
      if (!part) return undefined;
      value += part.value;
      k = part.next;
      if (is(k, 'op', ',')) k++;
      else if (is(k, 'op', ')')) return { value, next: k + 1 };
      else return undefined;
    }
  }
  return undefined;
}

/** What the literal policy lets sit inside quotes: nothing a reader could take for an escape or a line break. */
const UNSAFE_IN_LITERAL = /[\\\x00-\x1f\x7f-\x9f\u2028\u2029]/;

/** The statement with each string expression folded to one placeholder, and the strings in order. */
function shape(sql: string): { skeleton: string[]; strings: string[] } {
  const tokens = tokenize(sql);
  for (const t of tokens) if (t.t === 'str') expect(t.v).not.toMatch(UNSAFE_IN_LITERAL);
  const skeleton: string[] = [];
  const strings: string[] = [];
  for (let i = 0; i < tokens.length; ) {
    const s = stringExpr(tokens, i);
    if (s) {
      skeleton.push('<string>');
      strings.push(s.value);
      i = s.next;
    } else {
      skeleton.push(`${tokens[i]!.t}:${tokens[i]!.v}`);
      i++;
    }
  }
  return { skeleton, strings };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NASTY = ["'", "''", '\\', "\\'", '--', '/*', '*/', '\n', '\r\n', '\0', '\u2028', '\uFF07', '\u02BC', '"', ';', "'; DROP TABLE x; --", 'é', '東京', 'a\u0301', '😀', '\ud800'];
const hostile = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary-ascii', maxLength: 4 })), { maxLength: 8 }).map((parts) => parts.join('')),
);

describe('property: filter values and cursor keys, in bins and windows', () => {
  const B1 = 'benign-one';
  const B2 = 'benign-two';
  const build = (v1: string, v2: string) => {
    const data = { ...q({ fields: 'temperature' }), filters: { deviceId: [v1, 'f2'], site: [v2] }, after: { time: START + 1, key: [v1, v2] } };
    const grouped = { ...q({ fields: 'temperature', granularity: '1m', downsamplers: 'mean', groupBy: 'deviceId,site' }), filters: { site: [v2] }, after: { time: START, key: [v2, v1] } };
    const latest = { fields: ['temperature'], filters: { deviceId: [v1], site: [v2, v1] } };
    const sliding = { ...q({ fields: 'temperature', window: 'sliding:5m/1m', downsamplers: 'mean,trend,p95', groupBy: 'site' }), filters: { deviceId: [v1] }, after: { time: START, key: [v2] } };
    const session = { ...q({ fields: 'temperature', window: 'session:10m', downsamplers: 'max,trend' }), filters: { site: [v2] }, after: { time: START, key: [v1, v2] } };
    return [
      buildDataQuery(TABLE, freezers, data).sql,
      buildDataQuery(TABLE, freezers, grouped).sql,
      buildLatestQuery(TABLE, freezers, latest).sql,
      buildSlidingQuery(TABLE, freezers, sliding).sql,
      buildSessionQuery(TABLE, freezers, session).sql,
    ];
  };
  const benign = build(B1, B2).map(shape);

  it('either refuses a value with a BadRequestError or carries it only as a string expression that evaluates to it, the statement otherwise unchanged', () => {
    fc.assert(
      fc.property(hostile, hostile, (v1, v2) => {
        let sqls: string[];
        try {
          sqls = build(v1, v2);
        } catch (err) {
          expect(err).toBeInstanceOf(BadRequestError);
          expect(LONE_SURROGATE.test(v1) || LONE_SURROGATE.test(v2)).toBe(true);
          return;
        }
        sqls.forEach((sql, n) => {
          const got = shape(sql);
          expect(got.skeleton).toEqual(benign[n]!.skeleton);
          expect(got.strings).toEqual(benign[n]!.strings.map((s) => (s === B1 ? v1 : s === B2 ? v2 : s)));
        });
      }),
      { numRuns: 400 },
    );
  });
});
