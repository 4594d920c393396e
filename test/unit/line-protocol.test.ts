import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadRequestError, PayloadTooLargeError } from '../../shared/domain/errors';
import { formatLineProtocol, parseLineProtocol, type LinePoint } from '../../shared/domain/line-protocol';

function refusal(text: string, precision?: 'ns' | 's'): BadRequestError {
  try {
    parseLineProtocol(text, precision ? { precision } : {});
  } catch (err) {
    if (err instanceof BadRequestError) return err;
    throw err;
  }
  throw new Error(`accepted: ${text}`);
}

describe('parseLineProtocol', () => {
  it("reads Telegraf's cpu and mem lines: tags, float and integer fields, nanosecond times in milliseconds", () => {
    const body =
      'cpu,cpu=cpu-total,host=node1 usage_idle=98.2,usage_user=1.25,usage_system=0.55 1764788400000000000\n' +
      'mem,host=node1 total=16777216000i,used_percent=41.5,available=9814814720i 1764788400123456789\n';
    expect(parseLineProtocol(body)).toEqual<LinePoint[]>([
      { line: 1, measurement: 'cpu', tags: { cpu: 'cpu-total', host: 'node1' }, fields: { usage_idle: 98.2, usage_user: 1.25, usage_system: 0.55 }, time: 1764788400000 },
      { line: 2, measurement: 'mem', tags: { host: 'node1' }, fields: { total: 16777216000, used_percent: 41.5, available: 9814814720 }, time: 1764788400123 },
    ]);
  });

  it('reads every field type: floats in each form, i, u, the boolean spellings and strings with escapes', () => {
    const [p] = parseLineProtocol('m a=1,b=-1.5,c=.5,d=1e-3,e=2E+2,f=-3i,g=7u,h=t,i=FALSE,j=True,k="say \\"hi\\" C:\\temp \\\\ end",l=""');
    expect(p!.fields).toEqual({ a: 1, b: -1.5, c: 0.5, d: 0.001, e: 200, f: -3, g: 7, h: true, i: false, j: true, k: 'say "hi" C:\\temp \\ end', l: '' });
    expect(p!.time).toBeUndefined();
  });

  it('unescapes commas, spaces and equals signs in measurements, tag keys, tag values and field keys', () => {
    const [p] = parseLineProtocol('my\\ cpu\\,x,ho\\=st=a\\ b\\,c\\=d fi\\ eld\\,1\\==1 1000');
    expect(p).toMatchObject({ measurement: 'my cpu,x', tags: { 'ho=st': 'a b,c=d' }, fields: { 'fi eld,1=': 1 } });
  });

  it('skips comments, blank lines, leading and trailing blanks and CRLF line ends, and keeps line numbers', () => {
    const points = parseLineProtocol('# header\r\n\n  \t m v=1 5  \r\nm v=2\n# end');
    expect(points.map((p) => [p.line, p.fields.v, p.time])).toEqual([
      [3, 1, 0],
      [4, 2, undefined],
    ]);
  });

  it('scales timestamps by the precision and keeps whole milliseconds', () => {
    expect(parseLineProtocol('m v=1 1764788400', { precision: 's' })[0]!.time).toBe(1764788400000);
    expect(parseLineProtocol('m v=1 1764788400123', { precision: 'ms' })[0]!.time).toBe(1764788400123);
    expect(parseLineProtocol('m v=1 1764788400123999', { precision: 'us' })[0]!.time).toBe(1764788400123);
  });

  it('lets a string value hold a raw newline, counting it in the line numbers after it', () => {
    const points = parseLineProtocol('m s="a\nb"\nm v=1');
    expect(points).toMatchObject([{ line: 1, fields: { s: 'a\nb' } }, { line: 3, fields: { v: 1 } }]);
  });

  it.each([
    ['cpu,host=a\\', ['tags', 'host'], 'backslash at the end'],
    ['cpu\\', ['measurement'], 'backslash at the end'],
    ['cpu v="unterminated', ['fields', 'v'], 'no closing quote'],
    ['cpu v=a"b', ['fields', 'v'], 'stray quote'],
    ['cpu,host=my host v=1', ['fields', 'host'], "no '='"],
    ['cpu,host=a', ['fields'], 'no fields'],
    ['cpu,host= v=1', ['tags', 'host'], 'empty value'],
    ['cpu v=1,v=2', ['fields', 'v'], 'given twice'],
    ['cpu,h=a,h=b v=1', ['tags', 'h'], 'given twice'],
    ['cpu,v=a v=1', ['fields', 'v'], 'both a tag and a field'],
    ['cpu v=1 12345678901234567890', ['timestamp'], 'not a timestamp'],
    ['cpu v=1 -1', ['timestamp'], 'out of range'],
    ['cpu v=1 9223372036854775807', ['timestamp'], 'out of range'],
    ['cpu v=9223372036854775808i', ['fields', 'v'], 'range of an int64'],
    ['cpu v=9007199254740993i', ['fields', 'v'], 'kept exactly'],
    ['cpu v=1e400', ['fields', 'v'], 'beyond a 64-bit float'],
    ['cpu v=NaN', ['fields', 'v'], 'is not a field value'],
    ['cpu v=1 5 extra', ['timestamp'], 'unexpected'],
    ['cpu v=', ['fields', 'v'], 'no value'],
  ])('refuses %j with a 400 naming line 1 and the path %j', (text, path, words) => {
    const err = refusal(`${text}`);
    expect(err.issues).toEqual([{ index: 0, path, message: expect.stringContaining(words) }]);
    expect(err.issues[0]!.message).toMatch(/^line 1: /);
  });

  it('refuses a timestamp in seconds that overflows nanoseconds', () => {
    expect(refusal('m v=1 9999999999999', 's').issues[0]).toMatchObject({ path: ['timestamp'], message: expect.stringContaining('out of range') });
  });

  it('lists every bad line by number and accepts none of the body', () => {
    const err = refusal('m v=1\nm v=\nm v=2\nm,x v=1\n');
    expect(err.issues.map((i) => i.index)).toEqual([1, 3]);
    expect(err.message).toMatch(/line 2: .*2 lines are bad/);
  });

  it('is a 413 past maxPoints', () => {
    expect(() => parseLineProtocol('m v=1\nm v=2\nm v=3', { maxPoints: 2 })).toThrow(PayloadTooLargeError);
  });
});

const key = fc.string({ unit: fc.constantFrom('a', 'b', 'Z', '9', ' ', ',', '=', '\\', '"', 'é', '#', '_'), minLength: 1, maxLength: 8 });
const value = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => (Object.is(v, -0) ? 0 : v)),
  fc.integer().map((int) => ({ int })),
  fc.boolean(),
  fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', ',', '=', '\n', '😀'), maxLength: 10 }),
);
const point = fc.record({
  measurement: key.filter((m) => !m.startsWith('#')),
  tags: fc.dictionary(key, key, { maxKeys: 3 }),
  fields: fc.dictionary(key, value, { minKeys: 1, maxKeys: 4 }),
  time: fc.option(fc.bigInt({ min: 0n, max: 8_000_000_000_000_000_000n }), { nil: undefined }),
});

describe('line protocol round trip (fast-check)', () => {
  it('parses what formatLineProtocol writes back to the same points', () => {
    fc.assert(
      fc.property(fc.array(point, { minLength: 1, maxLength: 5 }), (points) => {
        const clean = points.map((p) => ({ ...p, fields: Object.fromEntries(Object.entries(p.fields).filter(([k]) => !Object.hasOwn(p.tags, k))) })).filter((p) => Object.keys(p.fields).length > 0);
        fc.pre(clean.length > 0);
        const parsed = parseLineProtocol(formatLineProtocol(clean));
        expect(parsed.map(({ line: _line, ...p }) => p)).toEqual(
          clean.map((p) => ({
            measurement: p.measurement,
            tags: p.tags,
            fields: Object.fromEntries(Object.entries(p.fields).map(([k, v]) => [k, typeof v === 'object' ? v.int : v])),
            ...(p.time !== undefined && { time: Number(p.time / 1_000_000n) }),
          })),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but a 400 or 413 on arbitrary text', () => {
    const alphabet = fc.constantFrom('m', 'v', '=', ',', ' ', '\t', '\\', '"', '\n', '\r', '1', 'i', 'u', '.', 'e', '-', '#', 't');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: alphabet, maxLength: 60 }), fc.string({ maxLength: 60 })), (text) => {
        try {
          parseLineProtocol(text, { maxPoints: 20 });
        } catch (err) {
          expect(err instanceof BadRequestError || err instanceof PayloadTooLargeError).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
