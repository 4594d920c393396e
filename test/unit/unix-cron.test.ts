import { Cron } from 'croner';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextRunAfter, parseSchedule } from '../../shared/domain/pull-source';
import { isUnixCron, unixCronToEventBridge } from '../../shared/domain/unix-cron';

/** Unix expressions of crontab(5), each with the EventBridge form it must become. */
const TABLE: [string, string][] = [
  ['0 */6 * * *', 'cron(0 0/6 * * ? *)'],
  ['*/15 * * * *', 'cron(0/15 * * * ? *)'],
  ['* * * * *', 'cron(* * * * ? *)'],
  ['0 0 * * *', 'cron(0 0 * * ? *)'],
  ['30 8 * * 1-5', 'cron(30 8 ? * 2-6 *)'],
  ['0 9 * * MON-FRI', 'cron(0 9 ? * 2-6 *)'],
  ['0 12 * * 0', 'cron(0 12 ? * 1 *)'],
  ['0 12 * * 7', 'cron(0 12 ? * 1 *)'],
  ['0 12 * * 6,0', 'cron(0 12 ? * 1,7 *)'],
  ['0 12 * * sun,sat', 'cron(0 12 ? * 1,7 *)'],
  ['0 0 1 * *', 'cron(0 0 1 * ? *)'],
  ['0 0 1 1 *', 'cron(0 0 1 1 ? *)'],
  ['15 3 1,15 * *', 'cron(15 3 1,15 * ? *)'],
  ['0 0 */2 * *', 'cron(0 0 1/2 * ? *)'],
  ['5-10 * * * *', 'cron(5-10 * * * ? *)'],
  ['0-30/10 * * * *', 'cron(0,10,20,30 * * * ? *)'],
  ['5-59/20 * * * *', 'cron(5/20 * * * ? *)'],
  ['0 0-12/4 * * *', 'cron(0 0,4,8,12 * * ? *)'],
  ['0 22 * * 1-5', 'cron(0 22 ? * 2-6 *)'],
  ['0 0 * JAN,JUL *', 'cron(0 0 * 1,7 ? *)'],
  ['0 0 * */3 *', 'cron(0 0 * 1/3 ? *)'],
  ['0 6 * * */2', 'cron(0 6 ? * 1,3,5,7 *)'],
  ['45 23 31 12 *', 'cron(45 23 31 12 ? *)'],
  ['0 0 29 2 *', 'cron(0 0 29 2 ? *)'],
  ['@hourly', 'cron(0 * * * ? *)'],
  ['@daily', 'cron(0 0 * * ? *)'],
  ['@weekly', 'cron(0 0 ? * 1 *)'],
  ['@monthly', 'cron(0 0 1 * ? *)'],
  ['1,2,3,10-12 0-5,20 * * *', 'cron(1-3,10-12 0-5,20 * * ? *)'],
];

/** The next `n` fire times after `from`, each strictly after the one before. */
function times(next: (after: number) => number | undefined, from: number, n: number): number[] {
  const out: number[] = [];
  let at = from;
  for (let i = 0; i < n; i++) {
    const t = next(at);
    if (t === undefined) break;
    out.push(t);
    at = t;
  }
  return out;
}

describe('unixCronToEventBridge', () => {
  it.each(TABLE)('converts %s to %s', (unix, eventBridge) => {
    expect(isUnixCron(unix)).toBe(true);
    expect(unixCronToEventBridge(unix)).toBe(eventBridge);
  });

  it.each(TABLE)('fires %s at the minutes croner fires the Unix original at', (unix) => {
    const original = new Cron(unix, { timezone: 'UTC', paused: true });
    const converted = parseSchedule(unixCronToEventBridge(unix));
    // from several starts, including a leap year's February and a year end
    for (const from of ['2026-12-03T07:21:13Z', '2028-02-27T23:59:00Z', '2026-12-31T23:50:00Z']) {
      const start = Date.parse(from);
      const want = times((after) => original.nextRun(new Date(after))?.getTime(), start, 40);
      expect(want.length).toBeGreaterThan(0);
      expect(times((after) => nextRunAfter(converted, after), start, 40)).toEqual(want);
    }
  });

  it('refuses both day fields restricted, which Unix reads as either and EventBridge cannot say', () => {
    expect(() => unixCronToEventBridge('0 0 1 * 1')).toThrow(/either/);
  });

  it.each([
    ['0 0 * *', /5 fields/],
    ['60 * * * *', /outside 0-59/],
    ['* 24 * * *', /outside 0-23/],
    ['* * 0 * *', /outside 1-31/],
    ['* * * 13 *', /outside 1-12/],
    ['* * * * 8', /outside 0-7/],
    ['10-5 * * * *', /upwards/],
    ['*/0 * * * *', /at least 1/],
    ['L * * * *', /not a number/],
    ['5/20 * * * *', /after \* or a range/],
  ])('refuses %s with a reason', (unix, reason) => {
    expect(() => unixCronToEventBridge(unix)).toThrow(reason);
  });

  it('tells Unix cron from EventBridge schedules', () => {
    expect(isUnixCron('rate(5 minutes)')).toBe(false);
    expect(isUnixCron('cron(0 12 * * ? *)')).toBe(false);
    expect(isUnixCron('0 12 * *')).toBe(false);
  });
});

describe('unixCronToEventBridge on generated expressions', () => {
  const field = (min: number, max: number) =>
    fc.oneof(
      fc.constant('*'),
      fc.integer({ min, max }).map(String),
      fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc.integer({ min: 2, max: Math.max(2, Math.floor((max - min) / 2)) }).map((n) => `*/${n}`),
      fc.tuple(fc.integer({ min, max }), fc.integer({ min, max }), fc.integer({ min: 1, max: 7 })).map(([a, b, n]) => `${Math.min(a, b)}-${Math.max(a, b)}/${n}`),
      fc.uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: 4 }).map((v) => v.join(',')),
    );
  const expression = fc
    .tuple(field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 6))
    // Unix reads two restricted day fields as "either": refused, checked above
    .filter(([, , dom, , dow]) => dom === '*' || dow === '*')
    .map((f) => f.join(' '));

  it('fires at the minutes croner fires the Unix original at', () => {
    fc.assert(
      fc.property(expression, fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2030-12-31T00:00:00Z') }), (unix, from) => {
        const original = new Cron(unix, { timezone: 'UTC', paused: true });
        const converted = parseSchedule(unixCronToEventBridge(unix));
        const want = times((after) => original.nextRun(new Date(after))?.getTime(), from, 12);
        expect(times((after) => nextRunAfter(converted, after), from, 12)).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});
