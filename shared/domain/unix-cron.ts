/**
 * Unix 5-field cron (`minute hour day-of-month month day-of-week`, as crontab(5) writes it) converted exactly
 * to an EventBridge `cron()` expression, the one form schedules are stored in.
 *
 * The differences it bridges: EventBridge numbers weekdays 1-7 from Sunday where Unix says 0-6 (and 7) from
 * Sunday; EventBridge wants `?` in one of the two day fields; EventBridge has a year field. Each field is
 * read into the set of values it matches and written back in EventBridge syntax, so the conversion is exact
 * by construction (`test/unit/unix-cron.test.ts` compares next fire times with croner on the original).
 *
 * One Unix rule has no EventBridge form: when both day fields are restricted, Unix fires on a day matching
 * *either*. Such an expression is refused with a message saying so.
 *
 * @example
 * unixCronToEventBridge('0 *\/6 * * *'); // 'cron(0 0/6 * * ? *)'
 * unixCronToEventBridge('30 8 * * 1-5'); // 'cron(30 8 ? * 2-6 *)'
 */

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  // 7 is Sunday too; folded onto 0 once read
  { name: 'day-of-week', min: 0, max: 7, names: DAYS },
];

/**
 * Whether `text` looks like a Unix cron expression (five fields, or an `@` macro) rather than an EventBridge one.
 *
 * @example
 * isUnixCron('*\/15 * * * *'); // true
 * isUnixCron('rate(5 minutes)'); // false
 */
export function isUnixCron(text: string): boolean {
  const t = text.trim();
  return Object.hasOwn(MACROS, t) || /^[^\s()]+(\s+[^\s()]+){4}$/.test(t);
}

/**
 * The EventBridge `cron()` expression that fires at exactly the minutes the Unix expression does (UTC).
 * Throws an `Error` saying what is wrong when the text is not a Unix cron expression or has no exact form.
 *
 * @example
 * unixCronToEventBridge('*\/15 * * * *'); // 'cron(0/15 * * * ? *)'
 */
export function unixCronToEventBridge(text: string): string {
  const t = text.trim();
  const expanded = Object.hasOwn(MACROS, t) ? MACROS[t]! : t;
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) throw new Error('a Unix cron expression has 5 fields: minute hour day-of-month month day-of-week');
  const sets = parts.map((p, i) => readField(p, FIELDS[i]!));
  const dow = sets[4]!;
  if (dow.has(7)) {
    dow.delete(7);
    dow.add(0);
  }
  const [minute, hour, dom, month] = sets as [Set<number>, Set<number>, Set<number>, Set<number>];
  const domAll = isFull(dom, 1, 31);
  const dowAll = isFull(dow, 0, 6);
  // Unix: with both day fields restricted, a day matching either one fires; with one, that one decides
  if (!domAll && !dowAll) {
    throw new Error('this expression restricts both day-of-month and day-of-week, which Unix cron reads as "either"; EventBridge cannot say that: write one of them as *');
  }
  const ebDow = new Set([...dow].map((d) => d + 1));
  const fields = [
    write(minute, 0, 59),
    write(hour, 0, 23),
    dowAll ? write(dom, 1, 31) : '?',
    write(month, 1, 12),
    dowAll ? '?' : write(ebDow, 1, 7, false),
    '*',
  ];
  return `cron(${fields.join(' ')})`;
}

function readField(text: string, spec: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(item);
    if (!m) throw new Error(`${spec.name} '${text}' is not a cron field`);
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw new Error(`${spec.name} '${text}': a step must be at least 1`);
    let lo: number;
    let hi: number;
    if (m[1] === '*') {
      lo = spec.min;
      hi = spec.name === 'day-of-week' ? 6 : spec.max;
    } else {
      const range = m[1]!.split('-');
      if (range.length > 2) throw new Error(`${spec.name} '${text}' is not a cron field`);
      if (range.length === 1 && m[2] !== undefined) throw new Error(`${spec.name} '${text}': a step goes after * or a range (*/n, a-b/n)`);
      lo = value(range[0]!, spec, text);
      hi = range.length === 2 ? value(range[1]!, spec, text) : lo;
      if (lo > hi) throw new Error(`${spec.name} '${text}': a range must go upwards`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function value(text: string, spec: FieldSpec, field: string): number {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return spec.name === 'month' ? named + 1 : named;
  if (!/^\d{1,2}$/.test(text)) throw new Error(`${spec.name} '${field}': '${text}' is not a number${spec.names ? ' or a name' : ''}`);
  const n = Number(text);
  if (n < spec.min || n > spec.max) throw new Error(`${spec.name} '${field}': ${n} is outside ${spec.min}-${spec.max}`);
  return n;
}

function isFull(set: Set<number>, min: number, max: number): boolean {
  for (let v = min; v <= max; v++) if (!set.has(v)) return false;
  return true;
}

/**
 * The set in EventBridge syntax: `*`, `start/step` when it steps to the field's end (not in day-of-week,
 * where EventBridge has no `/`), else ranges and single values.
 */
function write(set: Set<number>, min: number, max: number, steps = true): string {
  if (isFull(set, min, max)) return '*';
  const values = [...set].sort((a, b) => a - b);
  if (steps && values.length >= 3) {
    const step = values[1]! - values[0]!;
    const arithmetic = values.every((v, i) => i === 0 || v - values[i - 1]! === step);
    // `a/n` means a, a+n, … up to the field's end: only when the set reaches that far
    if (arithmetic && step > 1 && values[values.length - 1]! + step > max) return `${values[0]}/${step}`;
  }
  const runs: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    runs.push(j === i ? String(values[i]) : `${values[i]}-${values[j]}`);
    i = j + 1;
  }
  return runs.join(',');
}
