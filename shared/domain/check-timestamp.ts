import { BadRequestError, type Issue } from './errors';

/**
 * The datastream document's `check_timestamp`: a checked point must be equal or newer than the stream's
 * newest point, and than the point before it in the same request.
 *
 * @example
 * orderIssues([{ time: 3 }, { time: 2 }], [0, 1], 'timestamp'); // [{ index: 1, path: ['timestamp'], message: … }]
 */

const iso = (ms: number) => new Date(ms).toISOString();

/** Points of one request older than the one before them; `indexes[i]` is point i's record. */
export function orderIssues(points: readonly { time: number }[], indexes: readonly number[], timeField: string): Issue[] {
  const issues: Issue[] = [];
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.time < points[i - 1]!.time) {
      issues.push({ index: indexes[i] ?? i, path: [timeField], message: `${iso(points[i]!.time)} is older than the record before it (${iso(points[i - 1]!.time)})` });
    }
  }
  return issues;
}

/** Points older than `newest`, the stream's newest known point. */
export function olderThanNewest(points: readonly { time: number }[], indexes: readonly number[], newest: number, timeField: string): Issue[] {
  return points.flatMap((p, i) => (p.time < newest ? [{ index: indexes[i] ?? i, path: [timeField], message: `${iso(p.time)} is older than the stream's newest point (${iso(newest)})` }] : []));
}

/**
 * Reads a `checkTimestamp` parameter: `true` or `false` (absent: `false`, as Tributary takes late data by
 * default, unlike the document's `append`).
 *
 * @example
 * checkTimestampParam(event.queryStringParameters?.checkTimestamp, ['checkTimestamp']); // true for 'true'
 */
export function checkTimestampParam(value: unknown, path: (string | number)[]): boolean {
  if (value === undefined) return false;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new BadRequestError('Invalid checkTimestamp.', [{ path, message: 'must be true or false' }]);
}
