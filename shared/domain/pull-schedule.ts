import { Cron } from 'croner';

/**
 * Pull schedules: EventBridge's `rate()` and `cron()` expressions, parsed and evaluated with croner. A module
 * of its own so that the pull dispatcher, which only asks when each stream is due, does not bundle the pull
 * source definitions (JSONata, zod).
 */

/** A schedule, parsed: a fixed rate, or a cron pattern for croner (7 fields: seconds first, year last). */
export type Schedule = { kind: 'rate'; everyMs: number; expression: string } | { kind: 'cron'; pattern: string; expression: string };

const RATE = /^rate\((\d{1,6}) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.+)\)$/;
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** croner's options that read EventBridge's fields: year last, weekdays 1-7 = SUN-SAT, `0/15` steps, UTC. */
export const CRONER_OPTIONS = { mode: '7-part', alternativeWeekdays: true, sloppyRanges: true, timezone: 'UTC' } as const;

/**
 * Parses an EventBridge schedule expression: `rate(N minute[s]|hour[s]|day[s])` or
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
