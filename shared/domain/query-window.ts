/**
 * Windows in queries (`GET …/data?window=…`): tumbling, sliding and session windows, the Live Data Handler's
 * three kinds, parsed and bounded here so that a store receives only checked numbers.
 *
 * - `tumbling:5m`: back-to-back windows of any size, aligned to the UTC epoch (a granularity of any width);
 * - `sliding:5m/1m`: one row per step `t` (a multiple of the step, aligned to the epoch) over the points in
 *   `[t, t + size)`; the step must divide the size, so each point is in exactly `size / step` windows;
 * - `session:10m`: per series (per `groupBy` value when given), a window closes after a gap of more than
 *   10 minutes between consecutive points; each row gives the session's start, end (its last point) and count.
 *
 * @example
 * parseWindow('sliding:5m/1m'); // { window: { kind: 'sliding', sizeMs: 300000, stepMs: 60000 } }
 */

/** A window as the stores receive it, every length in milliseconds. */
export type QueryWindow =
  | { kind: 'tumbling'; sizeMs: number }
  | { kind: 'sliding'; sizeMs: number; stepMs: number }
  | { kind: 'session'; gapMs: number };

/** The text of a window, answered as the query's `granularity`. */
export type WindowText = `${QueryWindow['kind']}:${string}`;

/** The shortest window length (size, step or gap) a query may give. */
export const MIN_WINDOW_MS = 1_000;
/** The longest: the longest range a query may read (366 days). */
export const MAX_WINDOW_MS = 366 * 86_400_000;
/** Windows a point of a sliding query falls in (`size / step`): the store expands each point that many times. */
export const MAX_SLIDING_OVERLAP = 1_000;
/** Sliding windows one query may compute (`(end - start) / step`): past it, narrow the range or take a longer step. */
export const MAX_SLIDING_WINDOWS = 100_000;
/**
 * Rows a sliding query may aggregate (its points × `size / step`) where the store can count its points first
 * (the local store: a day of one point a second in 5-minute windows every second, 26 million rows, takes
 * about 2 s on two cores, 6 s with a percentile).
 */
export const MAX_SLIDING_ROWS = 30_000_000;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, y: 365 * 86_400_000 } as const;
const LENGTH = /^(\d{1,9})(s|m|h|d|w|y)$/;

/**
 * Milliseconds of a window length: digits and `s`, `m`, `h`, `d`, `w` or `y` (365 days); `undefined` otherwise.
 *
 * @example
 * windowLength('1y'); // 31536000000
 */
export function windowLength(text: string): number | undefined {
  const m = LENGTH.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : undefined;
}

const FORMS = 'tumbling:SIZE, sliding:SIZE/STEP or session:GAP, each a length such as 30s, 5m, 1h or 1d';

/**
 * Parses `window=…` into a window or one message saying what is wrong (sizes, divisibility, overlap).
 *
 * @example
 * parseWindow('sliding:1y/1s'); // { message: 'sliding:1y/1s puts each point in 31536000 windows; …' }
 */
export function parseWindow(text: string): { window: QueryWindow } | { message: string } {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const spec = colon < 0 ? '' : text.slice(colon + 1);
  const length = (part: string, name: string): number | string => {
    const ms = windowLength(part);
    if (ms === undefined) return `the ${name} '${part}' is not a length such as 30s, 5m, 1h or 1d`;
    if (ms < MIN_WINDOW_MS || ms > MAX_WINDOW_MS) return `the ${name} must be from 1s to 366d; it is ${part}`;
    return ms;
  };
  switch (kind) {
    case 'tumbling':
    case 'session': {
      const ms = length(spec, kind === 'tumbling' ? 'size' : 'gap');
      if (typeof ms === 'string') return { message: ms };
      return { window: kind === 'tumbling' ? { kind, sizeMs: ms } : { kind, gapMs: ms } };
    }
    case 'sliding': {
      const [sizeText = '', stepText, ...rest] = spec.split('/');
      if (stepText === undefined || rest.length) return { message: `a sliding window is sliding:SIZE/STEP, e.g. sliding:5m/1m` };
      const size = length(sizeText, 'size');
      if (typeof size === 'string') return { message: size };
      const step = length(stepText, 'step');
      if (typeof step === 'string') return { message: step };
      if (step > size) return { message: `the step (${stepText}) must not be longer than the size (${sizeText})` };
      if (size % step !== 0) return { message: `the step (${stepText}) must divide the size (${sizeText}), so that each point is in size/step windows` };
      if (size / step > MAX_SLIDING_OVERLAP) {
        return { message: `${text} puts each point in ${size / step} windows; size/step may be at most ${MAX_SLIDING_OVERLAP}: take a longer step` };
      }
      return { window: { kind, sizeMs: size, stepMs: step } };
    }
    default:
      return { message: `must be ${FORMS}` };
  }
}

/**
 * The refusal of a sliding query over too many windows, or `undefined` when it is within `MAX_SLIDING_WINDOWS`.
 *
 * @example
 * slidingWindowsProblem({ kind: 'sliding', sizeMs: 300_000, stepMs: 1_000 }, 0, 30 * 86_400_000); // 'the range holds 2592000 …'
 */
export function slidingWindowsProblem(window: QueryWindow, start: number, end: number): string | undefined {
  if (window.kind !== 'sliding') return undefined;
  const count = Math.ceil((end - Math.floor(start / window.stepMs) * window.stepMs) / window.stepMs);
  if (count <= MAX_SLIDING_WINDOWS) return undefined;
  return `the range holds ${count} windows of this step; a sliding query may compute at most ${MAX_SLIDING_WINDOWS}: narrow the range or take a longer step`;
}

/**
 * The refusal of a sliding query whose points, each in `size / step` windows, make more than `MAX_SLIDING_ROWS`
 * rows to aggregate; `undefined` within it.
 *
 * @example
 * slidingRowsProblem({ kind: 'sliding', sizeMs: 300_000, stepMs: 1_000 }, 1_000_000); // 'the range holds 1000000 points …'
 */
export function slidingRowsProblem(window: QueryWindow, points: number): string | undefined {
  if (window.kind !== 'sliding') return undefined;
  const overlap = window.sizeMs / window.stepMs;
  if (points * overlap <= MAX_SLIDING_ROWS) return undefined;
  return `the range holds ${points} points, each in ${overlap} windows: more than the ${MAX_SLIDING_ROWS} rows a sliding query may aggregate; narrow the range, name fewer series or take a longer step`;
}
