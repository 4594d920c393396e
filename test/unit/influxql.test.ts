import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../shared/domain/errors';
import type { Select } from '../../shared/domain/influxql/ast';
import { parseInfluxQL } from '../../shared/domain/influxql/parser';
import { aggregateRaw, planSelect, readCondition } from '../../shared/domain/influxql/plan';
import { literalAlternation, matchesLiteral } from '../../shared/domain/influxql/regex';
import type { Stream } from '../../shared/domain/stream-definition';

const stream = {
  id: 'cpu',
  schema: { host: { type: 'string' }, datacenter: { type: 'string' }, value: { type: 'number' }, state: { type: 'string' } },
  timeField: 'timestamp',
  dimensions: ['host', 'datacenter'],
} as unknown as Stream;
const select = (q: string) => parseInfluxQL(q)[0] as Select;
const NOW = Date.parse('2026-01-01T12:00:00Z');

describe('parseInfluxQL', () => {
  it("reads Query.Build's panel query from Grafana's own test (tags OR-ed, time in ms, GROUP BY time and tag)", () => {
    const s = select(`SELECT mean("value") FROM "cpu" WHERE ("hostname" = 'server1' OR "hostname" = 'server2') AND time >= 1596240000000ms and time <= 1596240300000ms GROUP BY time(5s), "datacenter" fill(null)`);
    expect(s).toMatchObject({ kind: 'select', fields: [{ fn: 'mean', field: 'value' }], from: 'cpu', interval: 5_000, groupBy: ['datacenter'], fill: { kind: 'null' } });
  });

  it('reads the query editor’s metadata statements, keywords in any case, with a retention policy ignored', () => {
    expect(parseInfluxQL('show measurements with measurement =~ /(?i)cp/ limit 100')).toEqual([{ kind: 'show_measurements', match: { op: '=~', regex: '(?i)cp' }, limit: 100 }]);
    expect(parseInfluxQL('SHOW TAG KEYS FROM "autogen"."cpu"')).toEqual([{ kind: 'show_tag_keys', from: 'cpu' }]);
    expect(parseInfluxQL(`SHOW TAG VALUES FROM "cpu" WITH KEY IN ("host", "datacenter") WHERE "host" == '42'`)[0]).toMatchObject({ kind: 'show_tag_values', keys: ['host', 'datacenter'] });
    expect(parseInfluxQL('SHOW FIELD KEYS; SHOW RETENTION POLICIES on "db";')).toEqual([{ kind: 'show_field_keys' }, { kind: 'show_retention_policies' }]);
  });

  it('unescapes quoted identifiers and strings, and reads durations in ms', () => {
    const s = select(`SELECT last("va\\"lue") AS "l" FROM cpu WHERE "host" = 'it\\'s' AND time > now() - 6h GROUP BY time(1500ms) fill(-1) ORDER BY time DESC LIMIT 3`);
    expect(s.fields).toEqual([{ fn: 'last', field: 'va"lue', alias: 'l' }]);
    expect(s).toMatchObject({ interval: 1_500, fill: { kind: 'value', value: -1 }, order: 'desc', limit: 3 });
    expect(JSON.stringify(s.where)).toContain(`"value":"it's"`);
    expect(JSON.stringify(s.where)).toContain(`"offsetMs":-21600000`);
  });

  it('refuses what is outside the subset with an InfluxDB-worded BadRequestError', () => {
    for (const q of ['DROP DATABASE x', 'SHOW MEASUREMENTS; DROP SERIES FROM cpu', 'SELECT * INTO x FROM cpu', 'SELECT mean(value FROM cpu', `SELECT "a" FROM "cpu`, 'SELECT a FROM cpu WHERE host = sin()', 'x'.repeat(20_000)]) {
      expect(() => parseInfluxQL(q), q.slice(0, 40)).toThrow(BadRequestError);
      expect(() => parseInfluxQL(q)).toThrow(/^error parsing query: /);
    }
  });

  it('throws nothing but a BadRequestError, whatever the text (fast-check)', () => {
    const token = fc.constantFrom('SELECT', 'SHOW', 'TAG', 'VALUES', 'KEYS', 'FIELD', 'MEASUREMENTS', 'FROM', 'WHERE', 'WITH', 'KEY', 'GROUP', 'BY', 'time', 'fill', '(', ')', ',', ';', '=', '=~', '!=', '<=', '>', 'AND', 'OR', '"a"', "'b'", '/^(x|y)$/', '5m', '1700000000000ms', '12', 'now()', '-', 'mean', 'LIMIT', 'AS', '.', '*', '"', "'", '\\');
    fc.assert(
      fc.property(fc.oneof(fc.array(token, { maxLength: 20 }).map((t) => t.join(' ')), fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 })), (q) => {
        try {
          parseInfluxQL(q);
        } catch (err) {
          expect(err).toBeInstanceOf(BadRequestError);
        }
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('planSelect', () => {
  it('maps a panel query onto the typed query model: half-open range, bin width, tag filter values, group-by', () => {
    const plan = planSelect(select(`SELECT mean("value"), max("value") FROM "cpu" WHERE "host" =~ /^(a\\-1|b)$/ AND time >= 1000ms and time <= 61000ms GROUP BY time(30s), "datacenter" fill(null)`), stream, NOW);
    expect(plan.query).toMatchObject({ start: 1_000, end: 61_001, binMs: 30_000, fields: ['value'], downsamplers: ['mean', 'max'], filters: { host: ['a-1', 'b'] }, groupBy: ['datacenter'], keyDimensions: ['datacenter'] });
    expect(plan.columns.map((c) => c.name)).toEqual(['mean', 'max']);
  });

  it('reads now() - 6h and bare nanoseconds, and names repeated functions as InfluxDB does (mean, mean_1)', () => {
    const plan = planSelect(select('SELECT mean("value"), mean("value") FROM cpu WHERE time > now() - 6h AND time < 1767268800000000000 GROUP BY time(1h)'), stream, NOW);
    expect(plan.query.start).toBe(NOW - 6 * 3_600_000 + 1);
    expect(plan.query.end).toBe(1_767_268_800_000);
    expect(plan.columns.map((c) => c.name)).toEqual(['mean', 'mean_1']);
  });

  it('refuses a field that is not in the schema, a string field under mean, a non-tag filter and an unknown function', () => {
    const bad = [
      'SELECT mean("nope") FROM cpu WHERE time > now() - 1h GROUP BY time(1m)',
      'SELECT mean("state") FROM cpu WHERE time > now() - 1h GROUP BY time(1m)',
      'SELECT mean("value") FROM cpu WHERE "value" > 3 AND time > now() - 1h GROUP BY time(1m)',
      'SELECT percentile("value") FROM cpu WHERE time > now() - 1h GROUP BY time(1m)',
      'SELECT median("value") FROM cpu WHERE time > now() - 1h GROUP BY time(1m)',
      'SELECT mean("value") FROM cpu WHERE time > now() - 1h GROUP BY time(1m), "nope"',
      'SELECT mean("value") FROM cpu WHERE time > now() - 1h',
      'SELECT mean("value") FROM cpu WHERE time > now() + 1h AND time < now() GROUP BY time(1m)',
    ];
    for (const q of bad) expect(() => planSelect(select(q), stream, NOW), q).toThrow(BadRequestError);
  });

  it("bins raw points for percentile() with InfluxDB's nearest rank, per group", () => {
    const plan = planSelect(select('SELECT percentile("value", 50), max("value") FROM cpu WHERE time >= 0ms AND time < 120000ms GROUP BY time(1m), "host"'), stream, NOW);
    expect(plan.rawQuery).toMatchObject({ granularity: 'raw', start: 0, end: 120_000 });
    const row = (time: number, host: string, value: number) => ({ time, dimensions: { host, datacenter: 'x' }, values: { value } });
    const rows = aggregateRaw(plan, [row(1, 'a', 4), row(2, 'a', 1), row(3, 'a', 3), row(4, 'a', 2), row(60_001, 'a', 7), row(5, 'b', 9)]);
    expect(rows).toEqual([
      { time: 0, dimensions: { host: 'a' }, values: { percentile: 2, max: 4 } },
      { time: 0, dimensions: { host: 'b' }, values: { percentile: 9, max: 9 } },
      { time: 60_000, dimensions: { host: 'a' }, values: { percentile: 7, max: 7 } },
    ]);
  });

  it('intersects repeated filters on one tag (no value left: an empty list, answered as no series)', () => {
    const c = readCondition(select(`SELECT "value" FROM cpu WHERE "host" = 'a' AND ("host" = 'b' OR "host" = 'c')`).where, stream, NOW);
    expect(c.filters).toEqual({ host: [] });
  });
});

describe('literalAlternation', () => {
  it("reads Grafana's regexes without compiling them", () => {
    expect(literalAlternation('^(a|b\\.c)$')).toEqual({ values: ['a', 'b.c'], anchored: true, ignoreCase: false });
    expect(literalAlternation('^(?:x)$').values).toEqual(['x']);
    expect(matchesLiteral(literalAlternation('(?i)CP'), 'my-cpu')).toBe(true);
    expect(matchesLiteral(literalAlternation('.*'), 'anything')).toBe(true);
  });

  it('refuses any other pattern, the catastrophic ones included', () => {
    for (const re of ['^(a+)+$', '(.*a){25}', '[a-z]+', 'a|b', '^a', 'x$', '\\']) expect(() => literalAlternation(re), re).toThrow(BadRequestError);
  });
});
