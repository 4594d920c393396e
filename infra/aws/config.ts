import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as z from 'zod';

/** The retention periods CloudWatch Logs accepts (`INFINITE` excluded: logs must expire). */
const LOG_RETENTION_DAYS = Object.values(RetentionDays).filter(
  (v): v is RetentionDays => typeof v === 'number' && v !== RetentionDays.INFINITE,
);

const logRetentionDays = z
  .number()
  .int()
  .refine((v) => (LOG_RETENTION_DAYS as number[]).includes(v), {
    message: `must be one of the CloudWatch Logs retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
  });

/** Timestream database names: 3–256 of `[a-zA-Z0-9_.-]`. */
const timestreamName = z.string().regex(/^[a-zA-Z0-9_.-]{3,256}$/, 'must be 3-256 characters of a-z A-Z 0-9 _ . -');

const Timestream = z.strictObject({
  /** Default: `tributary-<stack name>` (or the stack name itself when it already starts with "tributary"). */
  databaseName: timestreamName.optional(),
  /** Memory store retention: recent data, fast writes and queries (1 hour to 1 year). */
  memoryRetentionHours: z.number().int().min(1).max(8766).default(24),
  /** Magnetic store retention: history (1 day to 200 years). */
  magneticRetentionDays: z.number().int().min(1).max(73_000).default(365),
  /** Days before a rejected-records report in S3 is deleted. */
  rejectedReportExpirationDays: z.number().int().min(1).max(3650).default(90),
});

const Writer = z
  .strictObject({
    /** Messages per invocation. Each message carries many records; the writer chunks them by 100 per WriteRecords. */
    batchSize: z.number().int().min(1).max(10_000).default(100),
    /** How long SQS gathers messages before invoking (0–300 s). Required above 10 messages per batch. */
    maxBatchingWindowSeconds: z.number().int().min(0).max(300).default(5),
    /** Concurrent writer invocations the event source may start (2–1000): caps Timestream and DynamoDB pressure. */
    maxConcurrency: z.number().int().min(2).max(1000).default(10),
    timeoutSeconds: z.number().int().min(10).max(900).default(60),
    memorySize: z.number().int().min(128).max(10_240).default(1024),
  })
  .refine((w) => w.batchSize <= 10 || w.maxBatchingWindowSeconds >= 1, {
    message: 'a batchSize above 10 needs maxBatchingWindowSeconds of at least 1 (an SQS event source rule)',
    path: ['maxBatchingWindowSeconds'],
  });

const Queue = z.strictObject({
  /** Deliveries before a message moves to the DLQ; at least 3 so a brief Timestream outage does not dead-letter data. */
  maxReceiveCount: z.number().int().min(3).max(1000).default(5),
  /** The ingest queue's age alarm fires above this (seconds). */
  maxAgeAlarmSeconds: z.number().int().min(60).max(86_400).default(300),
});

const Api = z.strictObject({
  /**
   * How long API Gateway caches an authorizer decision (0 disables the cache). The cache key includes the
   * token, the route key and the request path, so a decision for one stream is never reused for another.
   */
  authorizerCacheTtlSeconds: z.number().int().min(0).max(3600).default(60),
  /** Steady-state requests per second for the whole stage. */
  throttleRateLimit: z.number().positive().max(10_000).default(100),
  /** Burst bucket size for the whole stage. */
  throttleBurstLimit: z.number().int().positive().max(5000).default(200),
});

/**
 * The stack's own settings, validated at synth so a typo or an out-of-range value fails before CloudFormation
 * sees it. Unknown keys are refused.
 */
export const TributaryConfig = z.strictObject({
  logRetentionDays: logRetentionDays.default(RetentionDays.ONE_MONTH),
  timestream: Timestream.prefault({}),
  writer: Writer.prefault({}),
  queue: Queue.prefault({}),
  api: Api.prefault({}),
  /** Optional address subscribed to the alarm topic (the subscription must be confirmed from the email). */
  alarmEmail: z.email().optional(),
});

/** What a caller may pass (everything optional). */
export type TributaryConfigInput = z.input<typeof TributaryConfig>;
/** The parsed settings, with every default filled in. */
export type TributaryConfigValues = z.output<typeof TributaryConfig>;

/** Thrown when the stack's settings are invalid; lists every problem at once. */
export class TributaryConfigError extends Error {
  override readonly name = 'TributaryConfigError';
}

/**
 * Parses the stack's settings, reporting every invalid one at once.
 *
 * @example
 * const config = parseTributaryConfig({ writer: { batchSize: 50 } });
 * config.writer.maxBatchingWindowSeconds; // 5
 */
export function parseTributaryConfig(input: TributaryConfigInput = {}): Readonly<TributaryConfigValues> {
  const result = TributaryConfig.safeParse(input);
  if (!result.success) {
    throw new TributaryConfigError(`Invalid TributaryStack config:\n${z.prettifyError(result.error)}`, { cause: result.error });
  }
  return Object.freeze(result.data);
}
