import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binsQl, INFLUX_DOWNSAMPLERS, latestQl, pageEndQl, pointsQl, quoteIdent, quoteString, timeLiteral } from '../../shared/aws/influxdb-sql';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';

const stream = newStream(
  parseStreamInput({
    id: 'climate',
    name: 'Climate',
    type: 'iot_sensor',
    schema: { site: { type: 'string' }, room: { type: 'string' }, temp: { type: 'number' }, label: { type: 'string' } },
    dimensions: ['site', 'room'],
  }),
  new Date(0),
  () => 'x',
);
const target = { database: 'tributary' };

type Token = { kind: 'string' | 'ident'; value: string } | { kind: 'word'; value: string };

/** InfluxQL's lexer as far as structure goes (influxql/scanner.go): quoted strings and identifiers with their escapes, then words and punctuation. */
function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ') {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let value = '';
      i++;
      for (;;) {
        const d = text[i++];
        if (d === undefined) throw new Error(`unterminated ${c} literal`);
        if (d === '\n' || d === '\r' || d === '\u0000') throw new Error('a raw line break or NUL inside a literal');
        if (d === c) break;
        if (d === '\\') {
          const e = text[i++];
          const escapes: Record<string, string> = { n: '\n', '\\': '\\', "'": "'", '"': '"' };
          if (e === undefined || !(e in escapes)) throw new Error(`bad escape \\${e}`);
          value += escapes[e];
        } else value += d;
      }
      tokens.push({ kind: c === "'" ? 'string' : 'ident', value });
      continue;
    }
    if ('(),=<>.*'.includes(c)) {
      const two = text.slice(i, i + 2);
      if (two === '<=' || two === '>=') {
        tokens.push({ kind: 'word', value: two });
        i += 2;
      } else tokens.push({ kind: 'word', value: c }), i++;
      continue;
    }
    let word = '';
    while (i < text.length && !" '\"(),=<>.*".includes(text[i]!)) word += text[i++];
    tokens.push({ kind: 'word', value: word });
  }
  return tokens;
}

const shape = (tokens: Token[]) => tokens.map((t) => (t.kind === 'word' ? t.value : t.kind));
const literals = (tokens: Token[]) => tokens.filter((t) => t.kind === 'string').map((t) => t.value);

const anyText = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !/[\r\u0000]/.test(s));
const filters = fc.record({ site: fc.array(anyText, { minLength: 1, maxLength: 3 }), room: fc.array(anyText, { minLength: 1, maxLength: 2 }) }, { requiredKeys: [] });
const time = fc.integer({ min: -8_000_000_000_000, max: 8_000_000_000_000 });
const fields = fc.subarray(['temp', 'label']);

/** The same statement with harmless values of the same count: what its structure must be. */
function benign(f: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(f).map(([k, vs]) => [k, vs.map((_, i) => `v${i}`)]));
}

describe('the InfluxQL builder (injection boundary)', () => {
  it('keeps the structure of a points select whatever the filter values, and carries each value back exactly', () => {
    fc.assert(
      fc.property(filters, time, time, fields, (f, a, b, fs) => {
        const s = { fields: fs, from: Math.min(a, b), to: Math.max(a, b), filters: f };
        const tokens = lex(pointsQl(stream, target, s));
        expect(shape(tokens)).toEqual(shape(lex(pointsQl(stream, target, { ...s, filters: benign(f) }))));
        expect(literals(tokens)).toEqual(Object.values(f).flat());
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the structure of page-end and latest selects whatever the filter values', () => {
    fc.assert(
      fc.property(filters, time, fc.integer({ min: 1, max: 10_001 }), fc.constantFrom('asc' as const, 'desc' as const), fields, (f, t, limit, order, fs) => {
        const page = lex(pageEndQl(stream, target, { from: t, to: t + 1, filters: f }, order, limit));
        expect(shape(page)).toEqual(shape(lex(pageEndQl(stream, target, { from: t, to: t + 1, filters: benign(f) }, order, limit))));
        expect(literals(page)).toEqual(Object.values(f).flat());
        const latest = lex(latestQl(stream, target, fs, f));
        expect(shape(latest)).toEqual(shape(lex(latestQl(stream, target, fs, benign(f)))));
        expect(literals(latest)).toEqual(Object.values(f).flat());
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the structure of a bins select whatever the filter values, bin width and groupBy, and carries each value back exactly', () => {
    fc.assert(
      fc.property(filters, time, time, fields, fc.integer({ min: 1, max: 400 * 86_400_000 }), fc.subarray([...INFLUX_DOWNSAMPLERS], { minLength: 1 }), fc.subarray(['site', 'room']), (f, a, b, fs, binMs, ds, groupBy) => {
        const s = { fields: fs, from: Math.min(a, b), to: Math.max(a, b), filters: f, binMs, downsamplers: ds, groupBy };
        const tokens = lex(binsQl(stream, target, s));
        expect(shape(tokens)).toEqual(shape(lex(binsQl(stream, target, { ...s, filters: benign(f) }))));
        expect(literals(tokens)).toEqual(Object.values(f).flat());
        expect(tokens.filter((t) => t.kind === 'word' && t.value.toUpperCase() === 'SELECT')).toHaveLength(1);
      }),
      { numRuns: 500 },
    );
    expect(binsQl(stream, target, { fields: ['temp'], from: 0, to: 86_400_000, filters: { site: ['a'] }, binMs: 3_600_000, downsamplers: ['count', 'mean'], groupBy: ['room'] })).toBe(
      `SELECT count("$point") AS "points", count("temp") AS "0:count", mean("temp") AS "0:mean" FROM "tributary".."climate" WHERE time >= 0 AND time < 86400000000000 AND ("site" = 'a') GROUP BY time(3600000ms), "room" fill(none)`,
    );
  });

  it('refuses in a bins select a downsampler InfluxQL does not compute as the contract does, a bin that is not whole positive ms and a groupBy that is not a dimension', () => {
    const s = { fields: ['temp'], from: 0, to: 1, filters: {}, binMs: 60_000, downsamplers: ['mean' as const], groupBy: [] };
    expect(() => binsQl(stream, target, { ...s, downsamplers: ['first' as never] })).toThrow(/not a downsampler/);
    expect(() => binsQl(stream, target, { ...s, downsamplers: ['mean) FROM x; --' as never] })).toThrow(TypeError);
    expect(() => binsQl(stream, target, { ...s, binMs: 0.5 })).toThrow(TypeError);
    expect(() => binsQl(stream, target, { ...s, binMs: 0 })).toThrow(TypeError);
    expect(() => binsQl(stream, target, { ...s, groupBy: ['site" , "x'] })).toThrow(/not a dimension/);
  });

  it('quotes any identifier and literal so that it lexes back to itself, line breaks included', () => {
    fc.assert(
      fc.property(anyText, (v) => {
        expect(lex(quoteString(v))).toEqual([{ kind: 'string', value: v }]);
        expect(lex(quoteIdent(v))).toEqual([{ kind: 'ident', value: v }]);
      }),
    );
    expect(quoteString("a'; DROP DATABASE x; --")).toBe("'a\\'; DROP DATABASE x; --'");
    expect(() => quoteString('a\u0000b')).toThrow(TypeError);
    expect(() => quoteIdent('a\rb')).toThrow(TypeError);
  });

  it('refuses a field or dimension the schema lacks, a stream id that is not one and a time that is not whole ms', () => {
    expect(() => pointsQl(stream, target, { fields: ['temp" FROM x --'], from: 0, to: 1, filters: {} })).toThrow(TypeError);
    expect(() => pointsQl(stream, target, { fields: ['site'], from: 0, to: 1, filters: {} })).toThrow(/not a measure field/);
    expect(() => latestQl(stream, target, [], { 'site" = 1 OR "x': ['a'] })).toThrow(/not a dimension/);
    expect(() => latestQl({ ...stream, id: 'x" ; DROP' }, target, [], {})).toThrow(/not a stream id/);
    expect(() => timeLiteral(0.5)).toThrow(TypeError);
    expect(() => pageEndQl(stream, target, { from: 0, to: 1, filters: {} }, 'asc', -1)).toThrow(TypeError);
  });

  it('writes times as epoch nanoseconds, before 1970 too', () => {
    expect(pointsQl(stream, target, { fields: ['temp'], from: -120_000, to: 1_000, filters: { site: ["it's"] } })).toBe(
      `SELECT "$point", "temp" FROM "tributary".."climate" WHERE time >= -120000000000 AND time < 1000000000 AND ("site" = 'it\\'s') GROUP BY *`,
    );
  });
});
