import { describe, expect, it } from 'vitest';
import { checkTimestampParam, olderThanNewest, orderIssues } from '../../shared/domain/check-timestamp';
import { BadRequestError } from '../../shared/domain/errors';

const at = (s: number) => Date.UTC(2000, 0, 1, 12, 0, s);

describe('orderIssues', () => {
  it('names each point older than the one before it, at its record index and the time field', () => {
    const points = [at(1), at(3), at(2), at(2), at(0)].map((time) => ({ time }));
    expect(orderIssues(points, [0, 2, 3, 5, 6], 'ts')).toEqual([
      { index: 3, path: ['ts'], message: '2000-01-01T12:00:02.000Z is older than the record before it (2000-01-01T12:00:03.000Z)' },
      { index: 6, path: ['ts'], message: '2000-01-01T12:00:00.000Z is older than the record before it (2000-01-01T12:00:02.000Z)' },
    ]);
  });

  it('allows equal times, as the document does (equal or newer)', () => {
    expect(orderIssues([{ time: at(1) }, { time: at(1) }], [0, 1], 'ts')).toEqual([]);
  });
});

describe('olderThanNewest', () => {
  it('names the points older than the stream’s newest, and not an equal one', () => {
    expect(olderThanNewest([{ time: at(1) }, { time: at(2) }, { time: at(3) }], [4, 5, 6], at(2), 'timestamp').map((i) => i.index)).toEqual([4]);
  });
});

describe('checkTimestampParam', () => {
  it.each([[undefined, false], ['true', true], ['false', false], [true, true], [false, false]])('reads %j as %s', (value, expected) => {
    expect(checkTimestampParam(value, ['checkTimestamp'])).toBe(expected);
  });

  it('refuses anything else with its path', () => {
    expect(() => checkTimestampParam('yes', ['checkTimestamp'])).toThrow(BadRequestError);
  });
});
