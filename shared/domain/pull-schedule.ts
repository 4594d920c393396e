import { Cron } from 'croner';

/**
 * Pull schedules: EventBridge's `rate()` and `cron()` expressions, parsed and evaluated with croner. A module
 * of its own so that the pull dispatcher, which only asks when each stream is due, does not bundle the pull
 * source definitions (JSONata, zod).
 */

/** A schedule, parsed: a fixed rate, or a cron pattern for croner (7 fields: seconds first, year last). */
export type Schedule = { kind: 'rate'; everyMs: number; expression: string } | { kind: 'cron'; pattern: string; expression: string };

const RATE = /^rate\((\d{1,6}) (second|seconds|minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.+)\)$/;
const UNIT_MS: Record<string, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/**
 * The shortest rate in seconds, Tributary's own extension of EventBridge's syntax (whose finest is one minute), for
 * device sources polled every few seconds: on one machine the dispatcher ticks every 5 seconds; in AWS it ticks every
 * minute and spreads that minute's runs over it (`runsWithin`).
 */
export const MIN_RATE_SECONDS = 5;
/** croner's options that read EventBridge's fields: year last, weekdays 1-7 = SUN-SAT, `0/15` steps, UTC. */
export const CRONER_OPTIONS = { mode: '7-part', alternativeWeekdays: true, sloppyRanges: true, timezone: 'UTC' } as const;

/**
 * Parses an EventBridge schedule expression: `rate(N minute[s]|hour[s]|day[s])` (and `rate(N seconds)`, N from 5 to 59) or
 * `cron(min hour day-of-month month day-of-week year)` (UTC; one of the two day fields must be `?`;
 * weekdays 1-7 are SUN-SAT). Throws an `Error` saying what is wrong.
 *
 * @example
 * parseSchedule('rate(5 minutes)'); // { kind: 'rate', everyMs: 300000, … }
 * parseSchedule('cron(0/15 8-17 ? * MON-FRI *)'); // { kind: 'cron', pattern: '0 0/15 8-17 * * MON-FRI *', … }
 */
export function parseSchedule(expression: string): Schedule {
  const rate = RATE.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2]!.replace(/s$/, '');
    if (n < 1) throw new Error('a rate must be at least 1');
    if (unit === 'second' && (n < MIN_RATE_SECONDS || n > 59)) throw new Error(`a rate in seconds is ${MIN_RATE_SECONDS} to 59 seconds; write longer ones in minutes`);
    if ((n === 1) !== !rate[2]!.endsWith('s')) throw new Error(`write 'rate(1 ${unit})' for one and 'rate(${n} ${unit}s)' for more, as EventBridge does`);
    return { kind: 'rate', everyMs: n * UNIT_MS[unit]!, expression };
  }
  const cron = CRON.exec(expression);
  if (!cron) throw new Error("must be an EventBridge schedule: 'rate(5 minutes)' or 'cron(0 12 * * ? *)'");
  const fields = cron[1]!.trim().split(/\s+/);
  if (fields.length !== 6) throw new Error('a cron expression has 6 fields: minutes hours day-of-month month day-of-week year');
  const [min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) throw new Error('exactly one of day-of-month and day-of-week must be ?');
  const pattern = ['0', min, hour, dom === '?' ? '*' : dom, month, dow === '?' ? '*' : dow, year].join(' ');
  try {
    new Cron(pattern, { ...CRONER_OPTIONS, paused: true });
  } catch (err) {
    throw new Error(`invalid cron expression: ${(err as Error).message.replace(/^CronPattern: /, '')}`);
  }
  return { kind: 'cron', pattern, expression };
}

/**
 * The first time the schedule fires strictly after `after` (epoch ms). A rate fires `everyMs` after the
 * previous run; a cron schedule at its next matching minute. `undefined` when a cron schedule never fires again.
 *
 * @example
 * nextRunAfter(parseSchedule('rate(1 hour)'), Date.parse('2026-01-01T00:00:00Z')); // 2026-01-01T01:00:00Z in ms
 */
export function nextRunAfter(schedule: Schedule, after: number): number | undefined {
  if (schedule.kind === 'rate') return after + schedule.everyMs;
  const next = new Cron(schedule.pattern, { ...CRONER_OPTIONS, paused: true }).nextRun(new Date(after));
  return next ? next.getTime() : undefined;
}

/**
 * When a stream's schedule is first due, before any run moved its `nextRunAt`: a rate schedule at once (the
 * stream's creation), a cron schedule at its first match after the creation.
 *
 * @example
 * firstRunAt(parseSchedule('cron(0 12 * * ? *)'), Date.parse('2026-01-01T09:00:00Z')); // 2026-01-01T12:00:00Z in ms
 */
export function firstRunAt(schedule: Schedule, createdAt: number): number | undefined {
  return schedule.kind === 'rate' ? createdAt : nextRunAfter(schedule, createdAt);
}

/**
 * The runs one dispatcher tick starts when the next tick is `tickMs` away: for a rate shorter than the tick (a
 * 10-second poll, with EventBridge's one-minute tick), the offsets `0, everyMs, 2·everyMs, …` below `tickMs`, and
 * the next run claimed a tick later; for any other schedule one run now and its next time. Exact when the rate
 * divides the tick (10 s in a minute: 6 runs, 10 s apart); otherwise the last gap of each tick is shorter.
 *
 * @example
 * runsWithin(parseSchedule('rate(10 seconds)'), 0, 60_000); // { offsetsMs: [0, 10000, 20000, 30000, 40000, 50000], next: 60000 }
 * runsWithin(parseSchedule('rate(5 minutes)'), 0, 60_000); // { offsetsMs: [0], next: 300000 }
 */
export function runsWithin(schedule: Schedule, now: number, tickMs: number | undefined): { offsetsMs: number[]; next: number | undefined } {
  if (schedule.kind !== 'rate' || tickMs === undefined || schedule.everyMs >= tickMs) return { offsetsMs: [0], next: nextRunAfter(schedule, now) };
  const offsetsMs: number[] = [];
  for (let t = 0; t < tickMs; t += schedule.everyMs) offsetsMs.push(t);
  return { offsetsMs, next: now + tickMs };
}

/**
 * The next time of a rate shorter than a minute on its own grid (`dueAt + k·everyMs`, the first after `now`), so a
 * 10-second poll stays 10 seconds apart when the tick that starts it runs a little late; any other schedule as
 * `nextRunAfter`.
 *
 * @example
 * nextOnGrid(parseSchedule('rate(10 seconds)'), 10_000, 10_040); // 20000
 */
export function nextOnGrid(schedule: Schedule, dueAt: number, now: number): number | undefined {
  if (schedule.kind !== 'rate' || schedule.everyMs >= 60_000 || dueAt > now) return nextRunAfter(schedule, now);
  return dueAt + (Math.floor((now - dueAt) / schedule.everyMs) + 1) * schedule.everyMs;
}
