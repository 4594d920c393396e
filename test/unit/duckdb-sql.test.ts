import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDataQuery, parseLatestQuery } from '../../shared/domain/query';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import { downsampledSql, latestSql, rawSql } from '../../shared/local/duckdb/sql';
import { columnOf, ident, tableOf } from '../../shared/local/duckdb/tables';
import { sessionSql, slidingSql } from '../../shared/local/duckdb/window-sql';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const START = '2026-03-01T00:00:00Z';
const END = '2026-03-01T06:00:00Z';

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
      doorOpen: { type: 'boolean' },
    },
    dimensions: ['deviceId', 'site'],
  }),
  new Date(NOW),
  () => 'x',
);

// The tables as DuckDB lists them: `doorOpen` has no column yet (no write has stored it).
const table = tableOf(
  'freezers',
  [
    ['$series', 'INTEGER'],
    ['time', 'BIGINT'],
    ['temperature', 'DOUBLE'],
    ['count', 'BIGINT'],
  ],
  ['$series', 'device^Id', 'site'],
  1,
);

const query = (params: Record<string, string>) => parseDataQuery(freezers, { start: START, end: END, ...params }, NOW);

describe('DuckDB SQL builder', () => {
  it('keeps a field name distinct from its other spellings: a capital is marked in its column', () => {
    expect(columnOf('deviceId')).toBe('device^Id');
    expect(columnOf('deviceid')).toBe('deviceid');
    expect(ident('device^Id')).toBe('"device^Id"');
    expect(() => ident('a"; DROP TABLE x; --')).toThrow(/cannot be a column name/);
  });

  it('passes the range, the limit and every filter value as parameters, never in the text', () => {
    const q = query({ 'dim.site': "paris' OR 1=1 --", fields: 'temperature' });
    const sql = rawSql(freezers, table, q, undefined);
    expect(sql.text).not.toContain('paris');
    expect(sql.values).toEqual([q.start, q.end, "paris' OR 1=1 --", q.limit]);
    expect(sql.text).toContain('s."site" IN ($3)');
    expect(sql.text).toMatch(/FROM "points\/freezers" AS p JOIN "series\/freezers" AS s/);
  });

  it('filters on series numbers when the index resolved the filters, on one or several', () => {
    const q = query({ 'dim.deviceId': 'f1' });
    expect(rawSql(freezers, table, q, [7]).text).toContain('p."$series" = $3');
    const several = rawSql(freezers, table, q, [7, 9]);
    expect(several.text).toContain('p."$series" IN ($3, $4)');
    expect(several.values.slice(2, 4)).toEqual([7, 9]);
    expect(several.text).not.toContain('s."device^Id" IN');
  });

  it('reads a field without a column yet as a typed NULL, and integers as DOUBLE', () => {
    const sql = rawSql(freezers, table, query({ fields: 'doorOpen,count' }), undefined);
    expect(sql.text).toContain('NULL::BOOLEAN');
    expect(sql.text).toContain('p."count"::DOUBLE');
  });

  it('orders raw rows by time then the series key, and pages strictly after the cursor', () => {
    const q = { ...query({ order: 'desc' }), after: { time: 1_000, key: ['f1', 'paris'] } };
    const sql = rawSql(freezers, table, q, undefined);
    expect(sql.text).toContain('ORDER BY p."time" DESC, s."device^Id" DESC, s."site" DESC');
    expect(sql.text).toContain('p."time" <= $3');
    expect(sql.text).toContain('(p."time" < $3 OR (p."time" = $3 AND (s."device^Id" < $4 OR (s."device^Id" = $4 AND s."site" < $5))))');
    expect(sql.values.slice(2, 5)).toEqual([1_000, 'f1', 'paris']);
  });

  it('bins by integer division from 1970 on, and floors exactly before it', () => {
    const after = downsampledSql(freezers, table, query({ granularity: '1h', downsamplers: 'mean,max' }), undefined);
    expect(after.text).toContain('(p."time" // $1) * $1');
    expect(after.text).toContain('avg(p."temperature") AS "a0_0"');
    const before = downsampledSql(freezers, table, parseDataQuery(freezers, { start: '1969-12-31T00:00:00Z', end: '1970-01-01T06:00:00Z', granularity: '1h' }, NOW), undefined);
    expect(before.text).toContain('(p."time" - ((p."time" % $1) + $1) % $1)');
  });

  it('joins the series table for a downsampled query only when it groups or filters on dimensions', () => {
    expect(downsampledSql(freezers, table, query({ granularity: '1h' }), undefined).text).not.toContain('JOIN');
    expect(downsampledSql(freezers, table, query({ granularity: '1h' }), [3]).text).not.toContain('JOIN');
    expect(downsampledSql(freezers, table, query({ granularity: '1h', groupBy: 'site' }), undefined).text).toContain('JOIN "series/freezers"');
    expect(downsampledSql(freezers, table, query({ granularity: '1h', 'dim.site': 'paris' }), undefined).text).toContain('JOIN "series/freezers"');
  });

  it('bounds the latest scan by time and by the series created since the index was read', () => {
    const sql = latestSql(freezers, table, parseLatestQuery(freezers, {}), 5_000, 12);
    expect(sql.text).toContain('WHERE p."time" >= $1');
    expect(sql.text).toContain('WHERE p."$series" >= $2');
    expect(sql.values).toEqual([5_000, 12]);
  });

  it('passes window lengths as parameters: the text of a window query is the same for every size, step and gap', () => {
    const text = (window: string) => (window.startsWith('session') ? sessionSql : slidingSql)(freezers, table, query({ window, downsamplers: 'mean' }), undefined);
    expect(text('sliding:5m/1m').text).toBe(text('sliding:2h/20m').text);
    expect(text('sliding:5m/1m').values).toEqual(expect.arrayContaining([60_000, 5]));
    expect(text('session:10m').text).toBe(text('session:3d').text);
    expect(text('session:10m').values).toEqual(expect.arrayContaining([600_000]));
  });

  it('builds the same text whatever the filter values and cursor keys hold: they only ever become parameters', () => {
    const build = (site: string, k1: string, k2: string) => {
      const after = { time: 1, key: [k1, k2] };
      const raw = rawSql(freezers, table, { ...query({ 'dim.site': site }), after }, undefined);
      const binned = downsampledSql(freezers, table, { ...query({ granularity: '1h', 'dim.site': site, groupBy: 'deviceId,site' }), after }, undefined);
      const sliding = slidingSql(freezers, table, { ...query({ window: 'sliding:5m/1m', downsamplers: 'mean,trend,p95', 'dim.site': site, groupBy: 'deviceId,site' }), after }, undefined);
      const session = sessionSql(freezers, table, { ...query({ window: 'session:10m', downsamplers: 'max,trend', 'dim.site': site }), after }, undefined);
      return [raw, binned, sliding, session];
    };
    const reference = build('a', 'b', 'c').map((sql) => sql.text);
    const value = fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }).filter((s) => !s.includes(','));
    fc.assert(
      fc.property(value, value, value, (site, k1, k2) => {
        const built = build(site, k1, k2);
        expect(built.map((sql) => sql.text)).toEqual(reference);
        for (const sql of built) {
          expect(sql.values).toEqual(expect.arrayContaining([site, k1, k2]));
          expect(sql.types).toHaveLength(sql.values.length);
        }
      }),
    );
  });
});
