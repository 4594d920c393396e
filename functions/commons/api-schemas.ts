import * as z from 'zod';
import { QUERY_DOWNSAMPLERS } from '../../shared/domain/granularity';
import { MAX_SLIDING_OVERLAP, MAX_SLIDING_WINDOWS } from '../../shared/domain/query-window';
import { EPOCHS, type Epoch } from '../../shared/domain/influxql/series';
import { FieldSpecSchema, STREAM_ID, STREAM_TYPES } from '../../shared/domain/stream-definition';
import { DERIVE_OPS, VALUE_TYPES } from '../../shared/domain/derive-definition';
import { MAX_RECORDS } from './body';

/**
 * What the handlers answer, as zod schemas: the OpenAPI document (`openapi.ts`) is generated from these and
 * from the request schemas the handlers parse with, and the SDK's types are inferred from both. The e2e suite
 * validates real answers against the document, so a handler that drifts from these fails a test.
 *
 * Answers are open objects (`looseObject`): a client must accept fields added later.
 *
 * @example
 * type Stream = z.infer<typeof StreamSchema>;
 */

const Iso = z.string().meta({ format: 'date-time' });

/** One problem of a refused request: which record (`index`), where in it (`path`), what is wrong. */
export const IssueSchema = z
  .object({ index: z.number().int().min(0).optional(), path: z.array(z.union([z.string(), z.number()])), message: z.string() })
  .meta({ id: 'Issue' });

/** RFC 9457 problem details, as every refusal and failure is answered (`application/problem+json`). */
export const ProblemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().optional().meta({ description: 'On every answer of Tributary’s handlers (a proxy’s or the gateway’s own throttling may lack it). A stable name to match on: the datastream document’s exception names where it has one (`StreamNotFound`, `InconsistentStreamConfiguration`, `MultipleStreamsReturned`, `ReservedTagNameError`, `InvalidTimestamp`), else `InvalidRecords`, `BadRequest`, `Forbidden`, `StreamPaused`, …' }),
    errors: z.array(IssueSchema).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details. `errors` lists each problem with its field path (and record index for ingest).' });

/** A stream as the API shows it: the canonical definition plus its state and version; no password hash. */
export const StreamSchema = z
  .looseObject({
    id: z.string().regex(STREAM_ID),
    name: z.string(),
    description: z.string().optional(),
    type: z.enum(STREAM_TYPES),
    schema: z.record(z.string(), FieldSpecSchema),
    timeField: z.string(),
    dimensions: z.array(z.string()),
    tags: z.record(z.string(), z.unknown()).meta({ description: 'Any JSON value under each key.' }),
    validation: z.enum(['strict', 'lenient']),
    state: z.enum(['active', 'paused']),
    createdAt: Iso,
    updatedAt: Iso,
    version: z.number().int(),
    webhookUrls: z
      .object({ event: z.string().meta({ format: 'uri' }), batch: z.string().meta({ format: 'uri' }) })
      .optional()
      .meta({ description: 'An event_stream’s webhook URLs: one event, and an array (signed with its webhook secret, or with its ingest token).' }),
    deriveFrom: z
      .array(z.object({ stream: z.string(), field: z.string(), name: z.string().optional() }))
      .optional()
      .meta({ description: 'A derived stream’s sources, each field resolved; its points are computed from them, never appended.' }),
    deriveOp: z.enum([...DERIVE_OPS, 'window']).optional().meta({ description: '`window` for a window stream, made with its source (`windows`).' }),
    deriveArgs: z.record(z.string(), z.unknown()).optional().meta({ description: '`{maxValue}` for counter_derivative; a window stream’s `{window}`.' }),
    windows: z
      .array(
        z.looseObject({
          name: z.string(),
          type: z.enum(['tumbling', 'sliding', 'session']),
          size: z.string().optional(),
          step: z.string().optional(),
          gap: z.string().optional(),
          aggregations: z.array(z.enum(QUERY_DOWNSAMPLERS)),
          fields: z.array(z.string()),
          groupBy: z.array(z.string()),
          streamId: z.string().meta({ description: 'The window stream its points are written to: `{source id}-{name}`.' }),
        }),
      )
      .optional()
      .meta({ description: 'Continuous windows, each computed by the writer as data arrives into a window stream of its own (fields `{field}_{aggregation}`, a point per window at its start).' }),
    derivedBy: z.array(z.string()).optional().meta({ description: 'The derived streams computed from this one: it cannot be deleted before them.' }),
    valueType: z.enum(VALUE_TYPES).optional(),
    valueTypeOptions: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'Stream' });

/** `POST /v1/streams`: the stream, its ingest token (shown once) and the documents' fields. */
export const CreatedStreamSchema = StreamSchema.extend({
  ingestToken: z.string().meta({ description: 'The stream’s ingest token: shown once, stored only as a hash.' }),
  streamId: z.string(),
  status: z.enum(['active', 'paused']),
  endpoint: z.string().meta({ format: 'uri' }),
  alertSigningSecret: z.string().optional(),
  mqtt: z.looseObject({ topic: z.string(), alsoTopic: z.string().optional() }).optional(),
  backprocessed: z.object({ points: z.number().int() }).optional().meta({ description: 'A new derived stream: the points computed from its sources’ history (unless `deriveBackprocess: false`).' }),
}).meta({ id: 'CreatedStream' });

/** `POST /v1/streams/backprocess`: each derived stream recomputed and the points it got. */
export const BackprocessedSchema = z
  .looseObject({ streams: z.array(z.object({ streamId: z.string(), points: z.number().int() })), more: z.boolean() })
  .meta({ id: 'Backprocessed' });

export const StreamPageSchema = z.looseObject({ streams: z.array(StreamSchema), nextCursor: z.string().optional() }).meta({ id: 'StreamPage' });

export const StreamStatusSchema = z
  .looseObject({
    streamId: z.string(),
    state: z.enum(['active', 'paused']),
    lastDataAt: Iso.optional(),
    newestPointAt: Iso.optional().meta({ description: 'The time of the stream’s newest point, stored or accepted with `checkTimestamp` (the document’s latest_datapoint).' }),
    pointsTotal: z.number().int(),
    pointsToday: z.number().int(),
    invalidCount: z.number().int(),
    rejectedCount: z.number().int(),
    filteredCount: z.number().int(),
    recentRejections: z.array(z.looseObject({ at: Iso, reason: z.string(), record: z.unknown().optional() })),
    status: z.enum(['active', 'paused']),
    lastDataReceived: Iso.optional(),
    dataPointsToday: z.number().int(),
    errorCount: z.number().int(),
    pull: z.looseObject({}).optional(),
    alerts: z.looseObject({ failedRules: z.array(z.looseObject({})) }).optional(),
    health: z
      .looseObject({
        status: z.enum(['healthy', 'degraded', 'down']),
        reason: z.string(),
        uptime: z.string().meta({ description: 'The share of the last hour’s minutes the stream was up, as the Data Streams document writes it: `99.8%`.' }),
        avgLatency: z.string().optional().meta({ description: 'The mean receive→stored wait of the last hour, as the document writes it: `125ms`.' }),
        latencyMs: z.looseObject({ p50: z.number(), p95: z.number(), p99: z.number(), avg: z.number(), points: z.number() }).optional().meta({ description: 'Receive→stored wait of the points stored in the last hour (ms), within 2 %.' }),
        pointsPerSecond: z.looseObject({ lastMinute: z.number(), lastHour: z.number() }),
        errorRate: z.looseObject({ ratio: z.number(), invalid: z.number().int(), total: z.number().int(), window: z.string() }),
        processingLagMs: z.number().optional(),
        lastProcessed: Iso.optional(),
        dataAgeMs: z.number().optional(),
      })
      .meta({ description: 'The stream’s health from the writer’s per-minute aggregates (README: Stream health).' }),
    processing: z.looseObject({
      queueLength: z.number().int().optional().meta({ description: 'Messages in the ingest queue, every stream’s.' }),
      approximate: z.boolean().optional().meta({ description: 'True in AWS (SQS’s estimate), false on one machine (exact).' }),
      processingRate: z.string(),
      lastProcessed: Iso.optional(),
    }),
  })
  .meta({ id: 'StreamStatus' });

/** A stream's tags (`GET|PATCH|DELETE /v1/streams/{id}/tags`). */
export const StreamTagsSchema = z.looseObject({ streamId: z.string(), tags: z.record(z.string(), z.unknown()) }).meta({ id: 'StreamTags' });

/** `DELETE /v1/streams?tags=…`: the streams deleted, how their points went, whether others still match. */
export const DeletedStreamsSchema = z.looseObject({ deleted: z.array(z.string()), points: z.enum(['erased', 'retained']).optional(), more: z.boolean() }).meta({ id: 'DeletedStreams' });

/** `POST /v1/streams/downsample?until=`: per stream, the rollup bins it closed. */
export const DownsampledStreamsSchema = z
  .looseObject({
    streams: z.array(
      z.looseObject({
        streamId: z.string(),
        from: Iso.optional().meta({ description: 'The previous close: bins ending after it and at or before `until` were closed now.' }),
        until: Iso,
        levels: z.array(z.object({ level: z.enum(['10s', '1m', '1h', '1d', '1mo']), bins: z.number().int() })),
      }),
    ),
    more: z.boolean(),
  })
  .meta({ id: 'DownsampledStreams' });

export const NewTokenRequestSchema = z.object({ scope: z.enum(['read', 'ingest']).default('read'), label: z.string().optional() }).meta({ id: 'NewTokenRequest' });
export const NewTokenSchema = z.looseObject({ streamId: z.string(), scope: z.string(), token: z.string() }).meta({ id: 'NewToken' });

/** The documents' `streams.setProcessor` body (`PUT /v1/streams/{id}/processor`). */
export const ProcessorSchema = z
  .object({
    name: z.string().optional(),
    streamId: z.string().optional(),
    description: z.string().optional(),
    transformations: z.array(z.object({ name: z.string().optional(), function: z.string() })).optional(),
    aggregations: z.array(z.looseObject({ name: z.string(), timeWindow: z.string(), fields: z.array(z.string()) })).optional(),
  })
  .meta({ id: 'Processor' });

/** One record: its fields are the stream's schema's; the server validates them against it. */
export const RecordSchema = z.record(z.string(), z.unknown()).meta({ id: 'Record' });
export const IngestBodySchema = z.union([RecordSchema, z.array(RecordSchema).min(1).max(MAX_RECORDS)]).meta({ id: 'IngestBody' });
export const IngestAcceptedSchema = z
  .looseObject({ accepted: z.number().int(), filtered: z.number().int().optional(), rejected: z.array(IssueSchema).optional() })
  .meta({ id: 'IngestAccepted', description: '`rejected` lists the invalid records of a lenient stream (they were not stored).' });

/** `POST …/uploads`: where and how to PUT the file, and where to complete the upload once it is there. */
export const UploadCreatedSchema = z
  .looseObject({
    uploadId: z.string(),
    uploadUrl: z.string().meta({ format: 'uri', description: 'A presigned S3 URL: PUT the file here, with `headers`, before `expiresAt`.' }),
    method: z.literal('PUT'),
    headers: z.record(z.string(), z.string()).meta({ description: 'Send these with the PUT: `content-length` and `x-amz-checksum-sha256` are signed, so S3 refuses another size or other bytes.' }),
    expiresAt: Iso,
    completeUrl: z.string().meta({ format: 'uri', description: 'POST here (same token) once the PUT answered 200.' }),
    parts: z.number().int().meta({ description: 'How many 512 KB part events the file becomes.' }),
  })
  .meta({ id: 'UploadCreated' });

/** `POST …/uploads/{uploadId}`: the file's part events are queued. */
export const UploadCompletedSchema = z
  .looseObject({ accepted: z.number().int(), parts: z.number().int(), checksum: z.string(), uploadId: z.string() })
  .meta({ id: 'UploadCompleted' });

/** `POST /v1/streams/data`'s answer: one result per stream. */
export const AppendResultsSchema = z
  .looseObject({
    results: z.array(
      z.looseObject({
        streamId: z.string(),
        status: z.number().int(),
        accepted: z.number().int().optional(),
        filtered: z.number().int().optional(),
        rejected: z.array(IssueSchema).optional(),
        problem: ProblemSchema.optional(),
      }),
    ),
  })
  .meta({ id: 'AppendResults' });

const Value = z.union([z.string(), z.number(), z.boolean(), z.null(), z.looseObject({}), z.array(z.unknown())]);
export const PointSchema = z
  .looseObject({
    time: Iso,
    end: Iso.optional().meta({ description: 'A session window’s last point (`time` is its first).' }),
    count: z.number().int().optional().meta({ description: 'A session window’s points.' }),
    dimensions: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    values: z.record(z.string(), z.union([Value, z.partialRecord(z.enum(QUERY_DOWNSAMPLERS), Value)])),
  })
  .meta({ id: 'Point' });
export const QueryResultSchema = z
  .looseObject({
    streamId: z.string(),
    granularity: z.string(),
    source: z.enum(['rollup', 'raw']).meta({ description: 'What the store read: its stored rollups (a stored level tiles the bins and the range) or the raw points.' }),
    points: z.array(PointSchema),
    nextCursor: z.string().optional(),
  })
  .meta({ id: 'QueryResult' });
export const LatestResultSchema = z.looseObject({ streamId: z.string(), points: z.array(PointSchema) }).meta({ id: 'LatestResult' });

export const AlertSchema = z
  .looseObject({ id: z.string(), streamId: z.string(), rule: z.string(), severity: z.string(), state: z.enum(['firing', 'resolved']), firedAt: Iso, acknowledged: z.boolean() })
  .meta({ id: 'Alert' });
export const AlertPageSchema = z.looseObject({ alerts: z.array(AlertSchema), nextCursor: z.string().optional(), failedRules: z.array(z.looseObject({})).optional() }).meta({ id: 'AlertPage' });
export const AlertSecretSchema = z.looseObject({ streamId: z.string(), alertSigningSecret: z.string(), previousSecretSignsUntil: Iso }).meta({ id: 'AlertSecret' });
export const PullResultSchema = z.looseObject({ status: z.string() }).meta({ id: 'PullResult' });

/** One receipt as `GET …/receipts` and `GET …/verify` answer it. */
export const ReceiptSchema = z
  .object({
    seq: z.number().int().meta({ description: 'Its number in the stream’s chain, from 1.' }),
    at: z.string().meta({ description: 'When the batch was stored.' }),
    count: z.number().int().meta({ description: 'Records in the batch (points and events).' }),
    from: z.string(),
    to: z.string(),
    hash: z.string().meta({ description: 'SHA-256 of the batch’s records in their canonical lines, in the order written (README: “Receipts”).' }),
    prev: z.string().meta({ description: 'The chain hash of the receipt before (64 zeros for the first).' }),
    chain: z.string().meta({ description: 'SHA-256 of this receipt’s fields and prev.' }),
    keyId: z.string().optional().meta({ description: 'The key that signed the chain hash (a KMS key ARN in AWS).' }),
    signature: z.string().optional().meta({ description: 'Base64 DER ECDSA P-256 signature over SHA-256 of the chain hash’s 64 hex characters.' }),
  })
  .meta({ id: 'Receipt' });
export const ReceiptKeySchema = z
  .object({ keyId: z.string(), algorithm: z.literal('ECDSA_SHA_256'), publicKeyPem: z.string().meta({ description: 'SubjectPublicKeyInfo, PEM: `openssl dgst -sha256 -verify key.pem -signature sig.der` checks a receipt.' }) })
  .meta({ id: 'ReceiptKey' });
export const ReceiptPageSchema = z.object({ streamId: z.string(), receipts: z.array(ReceiptSchema), head: ReceiptSchema.optional(), key: ReceiptKeySchema.optional(), nextCursor: z.string().optional() }).meta({ id: 'ReceiptPage' });
export const VerificationSchema = z
  .object({
    streamId: z.string(),
    verified: z.boolean(),
    window: z.object({ start: z.string(), end: z.string() }),
    receipts: z.object({ total: z.number().int(), inWindow: z.number().int(), signed: z.number().int(), head: ReceiptSchema.optional() }),
    key: ReceiptKeySchema.optional(),
    records: z.object({ verified: z.number().int(), altered: z.number().int(), dropped: z.number().int(), inserted: z.number().int(), expired: z.number().int() }),
    problems: z.array(z.object({ kind: z.enum(['chain', 'detail', 'signature', 'altered', 'dropped', 'inserted']), batch: z.number().int().optional(), record: z.string().optional(), reason: z.string() })),
  })
  .meta({ id: 'Verification' });

/** InfluxDB 1.x's `/query` answer, for Grafana's data source. */
export const InfluxResultSchema = z
  .looseObject({
    results: z.array(z.looseObject({ statement_id: z.number().int(), series: z.array(z.looseObject({ name: z.string().optional(), columns: z.array(z.string()), values: z.array(z.array(z.unknown())) })).optional(), error: z.string().optional() })),
  })
  .meta({ id: 'InfluxResult' });
export const InfluxErrorSchema = z.looseObject({ error: z.string() }).meta({ id: 'InfluxError' });

/** A write route's error: 1.x `{error}`, 2.x `{code, message, line?}` (the line it names). */
export const InfluxWriteErrorSchema = z
  .looseObject({ error: z.string().optional(), code: z.string().optional(), message: z.string().optional(), line: z.number().int().optional() })
  .meta({ id: 'InfluxWriteError' });

const Limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).optional().meta({ description: `1 to ${max}; ${dflt} unless given` });

export const ListStreamsQuerySchema = z.looseObject({
  tags: z.string().optional().meta({ description: 'A JSON object of tags that must match, as the datastream document’s find_streams matches them: nested objects member by member, a value equal or an element of an array tag (`{"visualization":{"type":"line"}}`).' }),
  limit: Limit(1000, 100),
  cursor: z.string().optional(),
  vaultId: z.string().optional(),
});

export const DataQuerySchema = z.looseObject({
  start: z.string().optional().meta({ description: 'RFC 3339 time or epoch ms; inclusive. 24 hours before `end` unless given.' }),
  end: z.string().optional().meta({ description: 'RFC 3339 time or epoch ms; exclusive. Now unless given.' }),
  startExclusive: z.string().optional().meta({ description: 'Instead of `start`: RFC 3339 time or epoch ms, excluded (the datastream document’s `start_exclusive`).' }),
  endExclusive: z.string().optional().meta({ description: 'Instead of `end`, the same (excluded); the datastream document’s `end_exclusive`.' }),
  fields: z.string().optional().meta({ description: 'Comma-separated measure fields.' }),
  granularity: z
    .string()
    .optional()
    .meta({ description: '`raw`, a bin width (`1m`, `5m`, `1h`, `1d`, …) aligned to the UTC epoch, or `1mo` (UTC calendar months); or the datastream document’s `seconds`, `10seconds`, `minutes`, `10minutes`, `hours`, `6hours`, `days`, `months`.' }),
  window: z
    .string()
    .optional()
    .meta({
      description:
        'Instead of a granularity: `tumbling:SIZE` (bins of any size, aligned to the UTC epoch), `sliding:SIZE/STEP` (a row per step `t` over `[t, t + SIZE)`; ' +
        `STEP divides SIZE, SIZE/STEP ≤ ${MAX_SLIDING_OVERLAP}, at most ${MAX_SLIDING_WINDOWS} windows in the range) or \`session:GAP\` (per series, or per \`groupBy\` value, a new window after a gap of more than GAP; ` +
        'each point gives `end` and `count`). Lengths from `1s` to `366d` in s, m, h, d, w or y. The answer’s `granularity` is the window.',
    }),
  downsamplers: z
    .string()
    .optional()
    .meta({ description: `Comma-separated: ${QUERY_DOWNSAMPLERS.join(', ')}. \`trend\` is \`{slope, r2}\` (least squares, per second); percentiles are exact locally, approximate (approx_percentile) on Timestream.` }),
  groupBy: z.string().optional().meta({ description: 'Comma-separated dimensions to downsample per value of.' }),
  valueDownsamplers: z
    .string()
    .optional()
    .meta({ description: 'Instead of `downsamplers`, the datastream document’s: comma-separated mean, sum, min, max, sum_squares, std_dev, count, most_often, least_often, frequencies (nominal fields take count, most_often, least_often, frequencies); computed from the raw points.' }),
  timeDownsamplers: z.string().optional().meta({ description: 'Comma-separated mean, first, last: of the timestamps in each bin, as `times` (`t` with `keys=short`).' }),
  keys: z.enum(['long', 'short']).optional().meta({ description: '`short`: the document’s one-letter keys (m, s, l, u, q, d, c, o, r, f; a, z, m).' }),
  limit: Limit(10_000, 1_000),
  cursor: z.string().optional().meta({ description: 'The previous page’s `nextCursor`.' }),
  order: z.enum(['asc', 'desc']).optional(),
  reverse: z.enum(['true', 'false']).optional().meta({ description: 'The datastream document’s `reverse`: `true` is `order=desc` (newest first).' }),
  aggregation: z.string().optional().meta({ description: 'A named aggregation of the stream.' }),
  timeRange: z.string().optional().meta({ description: 'The documents’ relative range, e.g. `1h`, `7d`.' }),
});

export const AlertsQuerySchema = z.looseObject({ limit: Limit(1000, 100), cursor: z.string().optional() });
export const AllAlertsQuerySchema = AlertsQuerySchema.extend({ state: z.enum(['firing', 'resolved']).optional() });
export const InfluxQuerySchema = z.looseObject({
  q: z.string().optional().meta({ description: 'InfluxQL statements, `;`-separated (also in a POST form body).' }),
  db: z.string().optional(),
  epoch: z.enum(Object.keys(EPOCHS) as [Epoch, ...Epoch[]]).optional(),
  u: z.string().optional(),
  p: z.string().optional().meta({ description: 'The read token, as InfluxDB 1.x’s password parameter.' }),
});

export const StreamIdParams = z.object({ id: z.string().regex(STREAM_ID).meta({ description: 'The stream id.' }) });
export const UploadParams = StreamIdParams.extend({ uploadId: z.string().meta({ description: 'The upload’s id, as its creation answered it.' }) });
export const AlertIdParams = z.object({ id: z.string().meta({ description: 'The alert id (`<streamId>.<suffix>`).' }) });

/** `POST /v1/streams/{id}/live-ticket`'s answer. */
export const LiveTicketSchema = z
  .object({
    streamId: z.string(),
    ticket: z.string().meta({ description: 'Opens one subscription (`?ticket=`), once, before `expiresAt` (60 s); only its hash is kept.' }),
    expiresAt: z.string().meta({ description: 'ISO 8601.' }),
  })
  .meta({ id: 'LiveTicket' });

/** What `GET /v1/streams/{id}/live` takes beside its auth. */
export const LiveQuerySchema = z.looseObject({
  fields: z.string().optional().meta({ description: 'Comma-separated measure fields; all unless given.' }),
  granularity: z.string().optional().meta({ description: '`raw` (default: each stored record) or a bin (`1s`, `10s`, `30s`, `1m`, …): each batch’s records per series and bin as `{mean, min, max, count, last}`.' }),
  ticket: z.string().optional().meta({ description: 'A ticket from `POST …/live-ticket`, for clients that cannot send `Authorization` (browsers).' }),
  'dim.NAME': z.string().optional().meta({ description: 'Only the series whose dimension NAME has one of these comma-separated values (as `/latest` takes it).' }),
});

/** One message of a live subscription (a WebSocket frame, or an SSE event's data with `event:` its type). */
export const LiveMessageSchema = z
  .looseObject({
    type: z.enum(['data_update', 'stream_status', 'error_alert', 'metrics_update', 'dropped', 'ping', 'pong']),
    streamId: z.string().optional(),
  })
  .meta({ id: 'LiveMessage', description: 'See the README, “Live subscriptions”, for each type’s fields.' });
