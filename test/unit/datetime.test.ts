import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRfc3339, parseTimestamp } from '../../shared/domain/datetime';

const YEAR_0 = Date.parse('0000-01-01T00:00:00Z');
const YEAR_9999_END = Date.parse('9999-12-31T23:59:59.999Z');
const anyInstant = fc.integer({ min: YEAR_0, max: YEAR_9999_END });
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The instant `t` written as local time at `offsetMinutes` from UTC, e.g. `2026-03-01T14:00:00.000+02:00`. */
function withOffset(t: number, offsetMinutes: number): string {
  const local = new Date(t + offsetMinutes * 60_000).toISOString().slice(0, 23);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

describe('parseRfc3339', () => {
  it('agrees with Date.parse on every instant from year 0 to year 9999 written in UTC', () => {
    fc.assert(
      fc.property(anyInstant, (t) => {
        const text = new Date(t).toISOString();
        expect(parseRfc3339(text)).toBe(t);
        expect(parseRfc3339(text)).toBe(Date.parse(text));
      }),
      { numRuns: 2_000 },
    );
  });

  it('agrees with Date.parse on instants written with any offset from -23:59 to +23:59', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: YEAR_0 + 86_400_000, max: YEAR_9999_END - 86_400_000 }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        (t, offset) => {
          const text = withOffset(t, offset);
          expect(parseRfc3339(text)).toBe(t);
          expect(parseRfc3339(text)).toBe(Date.parse(text));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('agrees with Date.parse on fractions of 1 to 9 digits, keeping whole milliseconds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: YEAR_0, max: YEAR_9999_END }),
        fc.stringMatching(/^[0-9]{1,9}$/),
        (t, fraction) => {
          const text = `${new Date(t).toISOString().slice(0, 19)}.${fraction}Z`;
          const expected = Math.floor(t / 1000) * 1000 + Number(fraction.padEnd(3, '0').slice(0, 3));
          expect(parseRfc3339(text)).toBe(expected);
          expect(parseRfc3339(text)).toBe(Date.parse(text));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('never reads a different instant from Date.parse when a digit is changed', () => {
    fc.assert(
      fc.property(anyInstant, fc.nat(), fc.constantFrom(...'0123456789'), (t, at, digit) => {
        const text = new Date(t).toISOString();
        const positions = [...text].flatMap((c, i) => (/[0-9]/.test(c) ? [i] : []));
        const i = positions[at % positions.length]!;
        const mutated = text.slice(0, i) + digit + text.slice(i + 1);
        fc.pre(mutated.slice(17, 19) !== '60'); // a leap second: see the test below
        const ours = parseRfc3339(mutated);
        if (ours !== undefined) expect(ours).toBe(Date.parse(mutated));
      }),
      { numRuns: 2_000 },
    );
  });

  it.each([
    ['2026-03-01T12:00:00Z', Date.UTC(2026, 2, 1, 12)],
    ['2026-03-01T12:00:00.5Z', Date.UTC(2026, 2, 1, 12, 0, 0, 500)],
    ['2026-03-01T12:00:00.123456789Z', Date.UTC(2026, 2, 1, 12, 0, 0, 123)],
    ['2026-03-01T14:30:00+02:30', Date.UTC(2026, 2, 1, 12)],
    ['2026-03-01T07:00:00-05:00', Date.UTC(2026, 2, 1, 12)],
    ['2026-03-01T12:00:00+00:00', Date.UTC(2026, 2, 1, 12)],
    ['2026-03-01t12:00:00z', Date.UTC(2026, 2, 1, 12)],
    ['2026-03-01 12:00:00Z', Date.UTC(2026, 2, 1, 12)],
    ['1969-12-31T23:59:59.999Z', -1],
  ])('reads %s as the instant it names', (text, expected) => {
    expect(parseRfc3339(text)).toBe(expected);
  });

  it.each([
    ['2024-02-29T00:00:00Z', 'a leap year'],
    ['2000-02-29T00:00:00Z', 'a year divisible by 400'],
    ['0000-02-29T00:00:00Z', 'year 0'],
  ])('accepts February 29th of %s (%s)', (text) => {
    expect(parseRfc3339(text)).toBe(Date.parse(text));
    expect(new Date(parseRfc3339(text)!).toISOString().slice(5, 10)).toBe('02-29');
  });

  it.each([
    ['2023-02-29T00:00:00Z', 'February 29th of a common year'],
    ['1900-02-29T00:00:00Z', 'February 29th of a century not divisible by 400'],
    ['2100-02-29T00:00:00Z', 'February 29th of 2100'],
    ['2026-02-30T00:00:00Z', 'February 30th'],
    ['2026-04-31T00:00:00Z', 'April 31st'],
    ['2026-13-01T00:00:00Z', 'month 13'],
    ['2026-00-10T00:00:00Z', 'month 0'],
    ['2026-01-00T00:00:00Z', 'day 0'],
    ['2026-01-32T00:00:00Z', 'day 32'],
    ['2026-01-01T24:00:00Z', 'hour 24'],
    ['2026-01-01T12:60:00Z', 'minute 60'],
    ['2026-01-01T12:00:61Z', 'second 61'],
    ['2026-01-01T12:00:00', 'no time zone'],
    ['2026-01-01T12:00:00.000', 'a fraction but no time zone'],
    ['2026-01-01T12:00:00+0100', 'an offset without a colon'],
    ['2026-01-01T12:00:00+24:00', 'an offset of 24 hours'],
    ['2026-01-01T12:00:00+01:60', 'an offset of 60 minutes'],
    ['2026-01-01T12:00:00+01', 'an offset without minutes'],
    ['2026-01-01T12:00:00.Z', 'a dot without a fraction'],
    ['2026-01-01T12:00:00ZZ', 'text after the zone'],
    ['2026-01-01T12:00Z', 'no seconds'],
    ['2026-01-01', 'a date alone'],
    ['2026-1-01T12:00:00Z', 'a one-digit month'],
    ['+2026-01-01T12:00:00Z', 'a signed year'],
    ['2026/01/01T12:00:00Z', 'slashes'],
    ['2026-01-01X12:00:00Z', 'a wrong separator'],
    ['2026-0a-01T12:00:00Z', 'a letter for a digit'],
    ['', 'the empty string'],
    ['Sun, 01 Mar 2026 12:00:00 GMT', 'an RFC 7231 date'],
  ])('rejects %s (%s)', (text) => {
    expect(parseRfc3339(text)).toBeUndefined();
  });

  it('reads a leap second (23:59:60) as 23:59:59 of the same minute', () => {
    expect(parseRfc3339('2016-12-31T23:59:60Z')).toBe(Date.parse('2016-12-31T23:59:59Z'));
  });
});

describe('parseTimestamp', () => {
  it('accepts epoch milliseconds as they are', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: YEAR_9999_END }), (t) => {
        expect(parseTimestamp(t)).toBe(t);
      }),
    );
  });

  it('reads RFC 3339 text', () => {
    expect(parseTimestamp('2026-01-01T00:00:30.250Z')).toBe(Date.UTC(2026, 0, 1, 0, 0, 30, 250));
  });

  it.each([
    ['negative epoch milliseconds', -1],
    ['fractional milliseconds', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an unsafe integer', 2 ** 53],
    ['an instant past the last one a Date can hold', 8.64e15 + 1],
    ['epoch milliseconds as text', '1767225600000'],
    ['null', null],
    ['a boolean', true],
    ['an object', { t: 1 }],
  ])('rejects %s', (_what, value) => {
    expect(parseTimestamp(value)).toBeUndefined();
  });

  it('accepts the last instant a Date can hold, which still prints', () => {
    expect(parseTimestamp(8.64e15)).toBe(8.64e15);
    expect(new Date(parseTimestamp(8.64e15)!).toISOString()).toBe('+275760-09-13T00:00:00.000Z');
  });
});
