import { DDSketch } from '@datadog/sketches-js';

/**
 * A stream's health, from the per-minute aggregates the writer keeps per batch (never per record): how many
 * points it stored, how many records it found invalid or the store refused, and a DDSketch of the
 * receive→stored wait of the batch's records (2 % relative accuracy), whose bins add up across batches and
 * minutes. `GET /v1/streams/{id}/status` shows it; the health-check rules read it.
 */

/** The aggregates are kept per minute (a `HEALTH#` item per stream and minute, kept 2 hours). */
export const HEALTH_BUCKET_MS = 60_000;
/** Latency percentiles and the hourly rate read the last hour of buckets. */
export const HEALTH_WINDOW_MS = 3_600_000;
/** The error rate and the processing lag are over the last five minutes. */
export const ERROR_RATE_WINDOW_MS = 300_000;
export const LAG_WINDOW_MS = 300_000;
/** Relative accuracy of the latency sketch: a reported percentile is within 2 % of the true one. */
export const LATENCY_RELATIVE_ACCURACY = 0.02;

/** What `healthStatus` holds to: above these a stream is degraded (error rate, lag) or down (error rate, silence). */
export const HEALTH_LIMITS = {
  degradedErrorRate: 0.05,
  downErrorRate: 0.5,
  degradedLagMs: 30_000,
  degradedSilenceMs: 600_000,
  downSilenceMs: 3_600_000,
} as const;

/** One minute of a stream's writes. `latency` maps a sketch bin key to how many points waited about that long. */
export interface HealthBucket {
  /** Epoch ms of the minute's start. */
  start: number;
  points: number;
  invalid: number;
  rejected: number;
  latency: Record<string, number>;
  /** The sum of the points' waits, for the mean. */
  latencySumMs: number;
}

/** What one batch adds to its minute's bucket. */
export type HealthDelta = Omit<HealthBucket, 'start'>;

const newSketch = () => new DDSketch({ relativeAccuracy: LATENCY_RELATIVE_ACCURACY });
/** The sketch's key mapping is fixed by its accuracy: a key written by one writer means the same to every reader. */
const mapping = newSketch().mapping;
/** Waits under 1 ms count as 1 ms (the sketch's keys stay positive, and a millisecond is the clock's grain). */
const MIN_WAIT_MS = 1;

/**
 * The latency bins of a batch: each group of points that waited `ms` (from receipt to stored) goes to its
 * sketch bin.
 *
 * @example
 * latencyBins([{ ms: 120, points: 10 }, { ms: 80, points: 2 }]); // { '242': 10, '222': 2 } (keys of the 2 % sketch)
 */
export function latencyBins(waits: readonly { ms: number; points: number }[]): { latency: Record<string, number>; latencySumMs: number } {
  const latency: Record<string, number> = {};
  let latencySumMs = 0;
  for (const w of waits) {
    if (!(w.points > 0)) continue;
    const ms = Math.max(MIN_WAIT_MS, w.ms);
    const key = String(mapping.key(ms));
    latency[key] = (latency[key] ?? 0) + w.points;
    latencySumMs += ms * w.points;
  }
  return { latency, latencySumMs };
}

/** The start of the minute bucket `at` falls in. */
export const bucketStart = (at: number) => Math.floor(at / HEALTH_BUCKET_MS) * HEALTH_BUCKET_MS;

/** The part of bucket `b` that lies within `[now - span, now]`, as a share of the part of it that has passed. */
function share(b: HealthBucket, now: number, span: number): number {
  const end = Math.min(b.start + HEALTH_BUCKET_MS, now);
  const observed = end - b.start;
  if (observed <= 0) return b.start <= now ? 1 : 0;
  const overlap = end - Math.max(b.start, now - span);
  return Math.max(0, Math.min(1, overlap / observed));
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  avg: number;
  /** How many points the figures are over. */
  points: number;
}

/** Receive→stored percentiles of the buckets within `span` of `now` (whole buckets), or undefined without points. */
export function latencyOver(buckets: readonly HealthBucket[], now: number, span: number): Percentiles | undefined {
  const sketch = newSketch();
  let sum = 0;
  for (const b of buckets) {
    if (b.start + HEALTH_BUCKET_MS <= now - span || b.start > now) continue;
    sum += b.latencySumMs;
    for (const [key, n] of Object.entries(b.latency)) if (n > 0) sketch.accept(mapping.value(Number(key)), n);
  }
  if (sketch.count === 0) return undefined;
  const at = (q: number) => Math.round(sketch.getValueAtQuantile(q));
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), avg: Math.round(sum / sketch.count), points: sketch.count };
}

/**
 * Points stored per second over the `span` before `now`. A minute bucket that lies partly before the window
 * counts for the share of it that does (the sliding-window estimate: exact when points arrive evenly).
 */
export function rateOver(buckets: readonly HealthBucket[], now: number, span: number): number {
  let points = 0;
  for (const b of buckets) points += b.points * share(b, now, span);
  return round(points / (span / 1000), 3);
}

export interface ErrorRate {
  /** invalid / total, 0 without records. */
  ratio: number;
  /** Records the writer found invalid plus those the store refused. */
  invalid: number;
  /** Every record the writer handled: stored, invalid and refused. */
  total: number;
  /** The window, as a duration: `5m`. */
  window: string;
}

/** The share of the writer's records that were invalid or refused over the `span` before `now` (whole buckets). */
export function errorRateOver(buckets: readonly HealthBucket[], now: number, span: number): ErrorRate {
  let invalid = 0;
  let total = 0;
  for (const b of buckets) {
    if (b.start + HEALTH_BUCKET_MS <= now - span || b.start > now) continue;
    invalid += b.invalid + b.rejected;
    total += b.points + b.invalid + b.rejected;
  }
  return { ratio: total === 0 ? 0 : round(invalid / total, 4), invalid, total, window: `${span / 60_000}m` };
}

/**
 * The share of the last hour's minutes the stream was up, as the Data Streams document writes it (`99.8%`),
 * counted from the stream's first stored minute when that is later. A minute was down when at least half of
 * its records were invalid or refused, or when nothing had been stored for over an hour by then (from
 * `lastDataAt`); a quiet minute is not down by itself. A stream that never had data is `100%`.
 *
 * @example
 * uptimeOver([{ start: 0, points: 1, invalid: 9, rejected: 0, latency: {}, latencySumMs: 0 }], 10 * 60_000, 9 * 60_000); // '90%': 1 of 10 minutes down
 */
export function uptimeOver(buckets: readonly HealthBucket[], now: number, lastDataAt?: number): string {
  const byStart = new Map(buckets.map((b) => [b.start, b]));
  const stored = buckets.filter((b) => b.points + b.invalid + b.rejected > 0).map((b) => b.start);
  const first = stored.length ? Math.min(...stored) : lastDataAt === undefined ? undefined : bucketStart(lastDataAt);
  if (first === undefined) return '100%';
  const from = Math.max(bucketStart(now - HEALTH_WINDOW_MS), first);
  let minutes = 0;
  let down = 0;
  for (let t = from; t < now; t += HEALTH_BUCKET_MS) {
    minutes++;
    const b = byStart.get(t);
    const total = b ? b.points + b.invalid + b.rejected : 0;
    if ((b && total > 0 && (b.invalid + b.rejected) / total >= HEALTH_LIMITS.downErrorRate) || (lastDataAt !== undefined && t >= lastDataAt + HEALTH_LIMITS.downSilenceMs)) down++;
  }
  return minutes === 0 ? '100%' : `${round(((minutes - down) / minutes) * 100, 1)}%`;
}

export type HealthState = 'healthy' | 'degraded' | 'down';

export interface StreamHealth {
  status: HealthState;
  /** Why, in words: the first cause of the worst state, or what healthy means here. */
  reason: string;
  /** The share of the last hour's minutes the stream was up (`uptimeOver`), as the document writes it: `99.8%`. */
  uptime: string;
  /** `latencyMs.avg` as the document writes it: `125ms`; absent when nothing was stored in the last hour. */
  avgLatency?: string;
  /** Receive→stored wait of the points stored in the last hour (ms); absent when none were. */
  latencyMs?: Percentiles;
  pointsPerSecond: { lastMinute: number; lastHour: number };
  errorRate: ErrorRate;
  /** The p95 wait of the last five minutes (ms): what `processing_lag` rules compare; absent without points. */
  processingLagMs?: number;
  /** When the writer last handled a batch of the stream (its stats' `lastDataAt`). */
  lastProcessed?: string;
  /** Milliseconds since then: what `data_freshness` rules compare. */
  dataAgeMs?: number;
}

export interface HealthInput {
  /** The stream's state (`active` or `paused`). */
  stream: { state: string };
  buckets: readonly HealthBucket[];
  lastDataAt?: string;
  now: number;
}

/**
 * A stream's health now. `down`: paused, at least half of the last five minutes' records refused, or nothing
 * stored for an hour; `degraded`: over 5 % refused, a p95 wait over 30 s, or nothing stored for ten minutes;
 * else `healthy` (a stream that never had data is healthy, with that reason).
 *
 * @example
 * const health = streamHealth({ stream, buckets: stats.healthBuckets, lastDataAt: stats.lastDataAt, now });
 * health.status; // 'healthy'
 */
export function streamHealth(input: HealthInput): StreamHealth {
  const { buckets, now } = input;
  const latencyMs = latencyOver(buckets, now, HEALTH_WINDOW_MS);
  const lag = latencyOver(buckets, now, LAG_WINDOW_MS);
  const errorRate = errorRateOver(buckets, now, ERROR_RATE_WINDOW_MS);
  const last = input.lastDataAt === undefined ? undefined : Date.parse(input.lastDataAt);
  const dataAgeMs = last === undefined || Number.isNaN(last) ? undefined : Math.max(0, now - last);
  const figures = {
    uptime: uptimeOver(buckets, now, last === undefined || Number.isNaN(last) ? undefined : last),
    ...(latencyMs && { avgLatency: `${latencyMs.avg}ms`, latencyMs }),
    pointsPerSecond: { lastMinute: rateOver(buckets, now, 60_000), lastHour: rateOver(buckets, now, HEALTH_WINDOW_MS) },
    errorRate,
    ...(lag && { processingLagMs: lag.p95 }),
    ...(input.lastDataAt !== undefined && { lastProcessed: input.lastDataAt }),
    ...(dataAgeMs !== undefined && { dataAgeMs }),
  };
  const L = HEALTH_LIMITS;
  const pct = (r: number) => `${round(r * 100, 2)} %`;
  const since = (ms: number) => `${Math.round(ms / 60_000)} min`;
  const down =
    input.stream.state === 'paused'
      ? 'the stream is paused: ingest is refused'
      : errorRate.total > 0 && errorRate.ratio >= L.downErrorRate
        ? `${pct(errorRate.ratio)} of the last ${errorRate.window}'s records were invalid or refused`
        : dataAgeMs !== undefined && dataAgeMs > L.downSilenceMs
          ? `nothing stored for ${since(dataAgeMs)}`
          : undefined;
  if (down) return { status: 'down', reason: down, ...figures };
  const degraded =
    errorRate.ratio > L.degradedErrorRate
      ? `${pct(errorRate.ratio)} of the last ${errorRate.window}'s records were invalid or refused (over ${pct(L.degradedErrorRate)})`
      : lag && lag.p95 > L.degradedLagMs
        ? `records waited ${lag.p95} ms (p95 of the last 5m) from receipt to stored, over ${L.degradedLagMs} ms`
        : dataAgeMs !== undefined && dataAgeMs > L.degradedSilenceMs
          ? `nothing stored for ${since(dataAgeMs)}`
          : undefined;
  if (degraded) return { status: 'degraded', reason: degraded, ...figures };
  return { status: 'healthy', reason: dataAgeMs === undefined ? 'no data yet' : 'data is arriving and being stored', ...figures };
}

/** The health figures a health-check rule compares: `error_rate` (a ratio), `processing_lag` and `data_freshness` (ms). */
export function healthFigure(health: StreamHealth, metric: 'error_rate' | 'processing_lag' | 'data_freshness'): number | undefined {
  if (metric === 'error_rate') return health.errorRate.total > 0 ? health.errorRate.ratio : undefined;
  if (metric === 'processing_lag') return health.processingLagMs;
  return health.dataAgeMs;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
