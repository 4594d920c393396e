import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as z from 'zod';
import { TICKET_SYSTEM_NAME } from '../../shared/domain/stream-names';

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

/** Lambda memory, in MB. */
const memorySize = z.number().int().min(128).max(10_240);

/** Lambda reserved concurrency: at least 2 (an SQS event source's minimum maximum concurrency). */
const reservedConcurrency = z.number().int().min(2).max(10_000);

/** An origin a browser sends (`https://app.example.com`, a port allowed, no path), or `*`. */
const corsOrigin = z.string().regex(/^(\*|https?:\/\/[a-z0-9.-]+(:\d{1,5})?)$/i, 'must be * or an origin like https://app.example.com (no path)');

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

const InfluxDb = z.strictObject({
  /** The instance class: `db.influx.medium` (1 vCPU, 8 GiB, the smallest) up to `db.influx.24xlarge`. */
  instanceType: z.string().regex(/^db\.influx\.[a-z0-9]+$/, 'must be a Timestream for InfluxDB instance type like db.influx.medium').default('db.influx.medium'),
  /** Storage in GiB (20 to 16 384). */
  allocatedStorageGiB: z.number().int().min(20).max(16_384).default(20),
  /** Included-IOPS storage tier: T1 3 000 IOPS, T2 12 000, T3 16 000. */
  storageType: z.enum(['InfluxIOIncludedT1', 'InfluxIOIncludedT2', 'InfluxIOIncludedT3']).default('InfluxIOIncludedT1'),
  deploymentType: z.enum(['SINGLE_AZ', 'WITH_MULTIAZ_STANDBY']).default('SINGLE_AZ'),
  /** A DB parameter group made beforehand with the CLI (CloudFormation has no resource for one); none: the default group. */
  parameterGroupIdentifier: z.string().regex(/^[a-zA-Z0-9]{3,64}$/, 'must be a DB parameter group identifier (3-64 of a-z A-Z 0-9)').optional(),
  /** Alarm when the instance's average CPU over 5 minutes passes this percentage. */
  cpuAlarmPercent: z.number().min(1).max(100).default(80),
  /** Alarm when the instance's disk use passes this percentage. */
  diskAlarmPercent: z.number().min(1).max(100).default(80),
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
    memorySize: memorySize.default(1024),
    /** Executions reserved for the writer alone (none by default: reserving takes from the account's quota). */
    reservedConcurrency: reservedConcurrency.optional(),
  })
  .refine((w) => w.batchSize <= 10 || w.maxBatchingWindowSeconds >= 1, {
    message: 'a batchSize above 10 needs maxBatchingWindowSeconds of at least 1 (an SQS event source rule)',
    path: ['maxBatchingWindowSeconds'],
  })
  .refine((w) => w.reservedConcurrency === undefined || w.reservedConcurrency >= w.maxConcurrency, {
    message: 'must be at least writer.maxConcurrency, or the event source is throttled',
    path: ['reservedConcurrency'],
  });

const Pulls = z
  .strictObject({
    /** Concurrent pull invocations the pull queue may start (2–1000). */
    maxConcurrency: z.number().int().min(2).max(1000).default(10),
    /** Executions reserved for the pull function alone (none by default). */
    reservedConcurrency: reservedConcurrency.optional(),
    /**
     * Runs the pull function in an existing VPC, to reach a private database (none by default). The subnets need a
     * route to the internet (NAT) for REST sources, Secrets Manager and SQS, or VPC endpoints for those.
     */
    vpc: z
      .strictObject({
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id (vpc-…)'),
        subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id (subnet-…)')).min(1),
        /** Security groups of the function; Lambda's construct creates one allowing all egress when none is given. */
        securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must be a security group id (sg-…)')).optional(),
      })
      .optional(),
  })
  .refine((p) => p.reservedConcurrency === undefined || p.reservedConcurrency >= p.maxConcurrency, {
    message: 'must be at least pulls.maxConcurrency, or the event source is throttled',
    path: ['reservedConcurrency'],
  });

/** The functions whose memory is a setting (the writer's is `writer.memorySize`), with their defaults in MB. */
export const FUNCTION_MEMORY_DEFAULTS = {
  streams: 256,
  ingest: 512,
  query: 512,
  alerts: 256,
  authorizer: 256,
  'iot-authorizer': 256,
  'alert-actions': 256,
  silence: 256,
  pull: 512,
  'pull-dispatcher': 256,
} as const;

const Memory = z.strictObject(
  Object.fromEntries(Object.entries(FUNCTION_MEMORY_DEFAULTS).map(([name, mb]) => [name, memorySize.default(mb)])) as {
    [K in keyof typeof FUNCTION_MEMORY_DEFAULTS]: z.ZodDefault<typeof memorySize>;
  },
);

const Iot = z.strictObject({
  /** The custom authorizer's name, which firmware embeds in its MQTT username. Default: `<stack name>-devices`. */
  authorizerName: z.string().regex(/^[\w=,@-]{1,128}$/, 'must be 1-128 characters of a-z A-Z 0-9 _ = , @ -').optional(),
});

const Domain = z.strictObject({
  /** The API's own name, e.g. `api.example.com`; a DNS-validated ACM certificate is issued for it. */
  name: z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'must be a DNS name like api.example.com'),
  /** The Route 53 public hosted zone that holds `name` (its id, `Z…`). */
  hostedZoneId: z.string().regex(/^Z[A-Z0-9]{1,31}$/, 'must be a Route 53 hosted zone id (Z…)'),
  /** That zone's name, e.g. `example.com`. */
  hostedZoneName: z.string().regex(/^([a-z0-9-]+\.)+[a-z]{2,63}\.?$/i, 'must be a DNS zone name like example.com'),
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
  /**
   * How long the authorizer keeps the admin token it read from Secrets Manager (Powertools Parameters'
   * `maxAge`). A rotated admin token is accepted, and the old one refused, within this plus
   * `authorizerCacheTtlSeconds`, with no redeploy or cold start.
   */
  adminTokenCacheSeconds: z.number().int().min(0).max(3600).default(60),
  /** Steady-state requests per second for the whole stage. */
  throttleRateLimit: z.number().positive().max(10_000).default(100),
  /** Burst bucket size for the whole stage. */
  throttleBurstLimit: z.number().int().positive().max(5000).default(200),
  /** Origins browsers may call the API from (CORS). None by default: no CORS headers, browsers on other origins are refused. */
  corsAllowedOrigins: z.array(corsOrigin).default([]),
  /** A custom domain for the API (none by default). */
  domain: Domain.optional(),
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
  pulls: Pulls.prefault({}),
  iot: Iot.prefault({}),
  /** Memory per function in MB (`memorySize.query: 1024`). */
  memorySize: Memory.prefault({}),
  /** Optional address subscribed to the alarm topic (the subscription must be confirmed from the email). */
  alarmEmail: z.email().optional(),
  /** Optional address subscribed to the topic `email` alert actions publish to. */
  alertEmail: z.email().optional(),
  /**
   * The From address of `email` actions that name recipients (`to`, the documents' `recipients`): sent with SES,
   * so the address (or its domain) must be a verified SES identity. Unset: such actions are refused on save.
   */
  alertEmailFrom: z.email().optional(),
  /** Ticket systems `create_ticket` actions name (`system: "maintenance_system"`): name → the https URL that takes new tickets. */
  ticketSystems: z.record(z.string().regex(TICKET_SYSTEM_NAME, 'must be a-z 0-9 _ starting with a letter'), z.url({ protocol: /^https$/, error: 'must be an https URL' })).default({}),
  /**
   * What deleting the stack (or replacing a resource) does to what holds data: tables, queues, keys, buckets, log groups,
   * secrets. `retain` keeps them (production data; a failed first create still rolls back), `destroy` deletes them (trials).
   */
  removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
  /** The least severe application log line every function writes (Powertools Logger, Lambda's JSON log format). */
  logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  /** The Lambda runtime of every function. */
  runtime: z.enum(['nodejs22.x', 'nodejs24.x']).default('nodejs22.x'),
  /**
   * Where points are kept: `liveanalytics` (Timestream for LiveAnalytics, closed to accounts that had not used it by
   * 2025-06-20; `timestream` is the same, its former name) or `influxdb` (Timestream for InfluxDB in a VPC of its own).
   */
  store: z.enum(['liveanalytics', 'timestream', 'influxdb']).default('liveanalytics'),
  /** The InfluxDB instance, with `store: influxdb`. */
  influxdb: InfluxDb.prefault({}),
});

/** What a caller may pass (everything optional). */
export type TributaryConfigInput = z.input<typeof TributaryConfig>;
/** The parsed settings, with every default filled in. */
export type TributaryConfigValues = z.output<typeof TributaryConfig>;

/** Thrown when the stack's settings are invalid; lists every problem at once. */
export class TributaryConfigError extends Error {
  override readonly name = 'TributaryConfigError';
}

/** The prefix of every Tributary key in the CDK context: `-c tributary:writer.batchSize=50`. */
export const CONTEXT_PREFIX = 'tributary';

/**
 * One line per problem, each naming its setting as the CDK context spells it (`tributary:writer.batchSize`);
 * an unknown key gets a line of its own.
 *
 * @example
 * settingProblems(TributaryConfig.safeParse({ writer: { batchSise: 1 } }).error!); // ['tributary:writer.batchSise: unknown setting']
 */
export function settingProblems(error: z.ZodError): string[] {
  const key = (path: readonly PropertyKey[]) => `${CONTEXT_PREFIX}${path.length ? ':' : ''}${path.map(String).join('.')}`;
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => `${key([...issue.path, k])}: unknown setting`)
      : [`${key(issue.path)}: ${issue.message}`],
  );
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
    const problems = settingProblems(result.error);
    throw new TributaryConfigError(`Invalid Tributary settings (${problems.length}):\n  ${problems.join('\n  ')}`, { cause: result.error });
  }
  return Object.freeze(result.data);
}
