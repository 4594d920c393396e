import { AnalyzeRequestSchema } from '../../shared/domain/analytics';
import * as z from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { STREAM_ID, StreamInputSchema, StreamPatchSchema } from '../../shared/domain/stream-definition';
import {
  AlertIdParams,
  AlertPageSchema,
  AlertSchema,
  AlertSecretSchema,
  AlertsQuerySchema,
  AllAlertsQuerySchema,
  CreatedStreamSchema,
  DataQuerySchema,
  IngestAcceptedSchema,
  IngestBodySchema,
  AppendResultsSchema,
  BackprocessedSchema,
  DeletedStreamsSchema,
  DownsampledStreamsSchema,
  InfluxErrorSchema,
  InfluxWriteErrorSchema,
  InfluxQuerySchema,
  InfluxResultSchema,
  LatestResultSchema,
  LiveMessageSchema,
  LiveQuerySchema,
  LiveTicketSchema,
  ListStreamsQuerySchema,
  NewTokenRequestSchema,
  NewTokenSchema,
  ProblemSchema,
  ProcessorSchema,
  PullResultSchema,
  QueryResultSchema,
  ReceiptPageSchema,
  StreamIdParams,
  StreamPageSchema,
  StreamSchema,
  StreamStatusSchema,
  StreamTagsSchema,
  UploadCompletedSchema,
  UploadCreatedSchema,
  UploadParams,
  VerificationSchema,
} from './api-schemas';
import { MAX_UPLOAD_BYTES, UploadRequestSchema } from '../../shared/domain/file-uploads';
import { TagsSchema } from '../../shared/domain/stream-tags';
import { EVENT_HEADERS } from '../../shared/domain/events';
import { MAX_BODY_BYTES, MAX_RECORDS } from './body';
import { INFLUX_ROUTES, ROUTES, routeKey, type Route } from './routes';

/** Where the document is served, without a token: it describes the API, never data. */
export const OPENAPI_PATH = '/v1/openapi.json';

/** The routes the document lists: contract v1's and InfluxDB's `/query` (the unversioned twins are described in `info`). */
export const DOCUMENTED_ROUTES: readonly Route[] = [...ROUTES, ...INFLUX_ROUTES];

const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ProblemSchema } } });
const ok = (status: string, description: string, schema: z.ZodType): ZodOpenApiResponsesObject => ({ [status]: { description, ...json(schema) } });

/** The documents' dialect of a definition (`source.endpoint`, `processing`, …): translated to the canonical form at create. */
const DocumentDefinitionSchema = z
  .looseObject({ name: z.string(), type: z.string(), schema: z.record(z.string(), z.unknown()) })
  .meta({ id: 'DocumentDefinition', description: 'A definition in the Data Streams document’s dialect; translated to the canonical definition, problems reported at the path as written.' });

const byId = { path: StreamIdParams };
const withBody = { '400': problem('The body is not valid: `errors` lists each problem with its path.'), '413': problem(`The body is over ${MAX_BODY_BYTES} bytes.`), '415': problem('The content type is not application/json.') };
/** An ingest route that also takes a multipart file: a larger one is pointed to the uploads. */
const withFileBody = { ...withBody, '413': problem(`The body is over ${MAX_BODY_BYTES} bytes; for a multipart file, the detail names the stream’s uploads URL (\`POST …/uploads\`), which takes larger files.`) };
const notFound = { '404': problem('No such stream.') };

/**
 * Each documented route's operation, by route key. The drift test checks this table, the route table and
 * the served document list the same routes.
 */
/** An event stream's request headers (README "Events"): its events' metadata, times and type. */
const EventHeaders = {
  [EVENT_HEADERS.metadata]: z.string().optional().meta({ description: 'Base64 of a JSON object kept with every event (`ttl-on/stored-event`: how long it stays hot, at most 7d; `do-not-archive-on/stored-event: true`: ephemeral).' }),
  [EVENT_HEADERS.metadataAlias]: z.string().optional().meta({ description: `The same as ${EVENT_HEADERS.metadata}.` }),
  [EVENT_HEADERS.eventTime]: z.string().optional().meta({ description: 'The events’ event time (ISO 8601 with a zone); the ingest time unless given.' }),
  [EVENT_HEADERS.validTime]: z.string().optional().meta({ description: 'The events’ valid time (ISO 8601 with a zone); the event time unless given.' }),
  [EVENT_HEADERS.eventTimeKey]: z.string().optional().meta({ description: 'In a batch: the field of each event that holds its event time.' }),
  [EVENT_HEADERS.validTimeKey]: z.string().optional().meta({ description: 'In a batch: the field of each event that holds its valid time.' }),
  [EVENT_HEADERS.eventType]: z.string().optional().meta({ description: 'The event type of every event of the request (one of the stream’s `eventTypes`), for records without an `eventType`.' }),
};

/** A webhook URL: signed by the stream's webhook secret, or a bearer token with its ingest scope. */
function webhookOperation(operationId: string, summary: string, batch: boolean): ZodOpenApiOperationObject {
  return {
    operationId,
    summary,
    security: [{ standardWebhooks: [] }, { xSignature: [] }, { bearer: [] }],
    requestParams: { ...byId, header: z.object(EventHeaders) },
    requestBody: { required: true, ...json(batch ? z.array(z.looseObject({})) : z.looseObject({})) },
    responses: {
      '202': { description: 'Queued; durable once answered.', ...json(IngestAcceptedSchema) },
      ...withFileBody,
      '401': problem('No valid signature or token; also a Standard Webhooks delivery stored already (a replay).'),
      '409': problem('The stream is paused, or derived (`AppendToDerivedStreamNotAllowed`).'),
    },
  };
}

const OPERATIONS: Record<string, ZodOpenApiOperationObject> = {
  'POST /v1/streams': {
    operationId: 'createStream',
    summary: 'Create a stream (returns its ingest token once)',
    requestBody: { required: true, ...json(z.union([StreamInputSchema, DocumentDefinitionSchema])) },
    description:
      'A derived stream (`deriveOp`: sum, derivative, counter_reset, counter_derivative; `deriveFrom`; `deriveArgs`) is computed by the writer from its sources and filled from their history unless `deriveBackprocess: false`. 400 codes: `UnsupportedDeriveOperator`, `InvalidOperatorArguments`, `IncompatibleTypes` (a derivative of a string field), `DerivationCycle`, `UnsupportedValueType`. Each of `windows` (or the documents\' `processing.windows`: tumbling, sliding or session windows with their metrics and `groupBy`) gets a window stream `{id}-{name}`, created with the stream and deleted with it, that the writer fills as data arrives.',
    responses: { ...ok('201', 'Created.', CreatedStreamSchema), ...withBody, '409': problem('The id, MQTT username or topic is taken, or a window stream\'s id.') },
  },
  'GET /v1/streams': {
    operationId: 'listStreams',
    summary: 'List streams; `tag.KEY=VALUE` parameters filter by tag',
    requestParams: { query: ListStreamsQuerySchema },
    responses: { ...ok('200', 'A page of streams.', StreamPageSchema), '400': problem('A bad parameter.') },
  },
  'DELETE /v1/streams': {
    operationId: 'deleteStreams',
    summary: 'Delete every stream the tags match, with its tokens and points (the document’s delete_streams)',
    requestParams: { query: z.looseObject({ tags: z.string().optional().meta({ description: 'A JSON object of tags, matched as `GET /v1/streams?tags=` matches them.' }) }) },
    responses: {
      ...ok(
        '200',
        'The streams deleted (at most 1000: `more` when others match). `points`: `erased` (the local runtime) or `retained` (Timestream: kept until its retention drops them, never served).',
        DeletedStreamsSchema,
      ),
      '400': problem('No tags, a bad parameter, or a key with `__` (`ReservedTagNameError`).'),
    },
  },
  'POST /v1/streams/downsample': {
    operationId: 'downsampleStreams',
    summary: 'Close the stored rollup bins up to `until` on every stream the tags match (the document’s downsample_streams)',
    description:
      'Rollups are kept as points arrive (10s, 1m, 1h, 1d and calendar-month bins, UTC); this marks the bins that end at or before `until` (default now) closed and lists, per stream and level, how many it closed since the previous call. A point that arrives later for a closed bin still updates it, idempotently (late data is not refused).',
    requestParams: {
      query: z.looseObject({
        until: z.string().optional().meta({ description: 'RFC 3339 or epoch milliseconds; bins ending at or before it close. Now when absent.' }),
        tags: z.string().optional().meta({ description: 'A JSON object of tags, matched as `GET /v1/streams?tags=` matches them; `tag.KEY=VALUE` works too. Every stream when absent.' }),
      }),
    },
    responses: { ...ok('200', 'The bins closed per stream (at most 1000 streams: `more` when others match).', DownsampledStreamsSchema), '400': problem('A bad parameter.') },
  },
  'POST /v1/streams/ensure': {
    operationId: 'ensureStream',
    summary: 'Get or create the stream `queryTags` identify (the document’s ensure_stream)',
    description:
      'The body is a definition as `POST /v1/streams` takes it plus `queryTags`. No stream matches them: it is created with its tags and the query tags (201, with its ingest token). One matches: its configuration (everything but tags) must equal the definition’s, its tags get the definition’s merged in (200). ',
    requestBody: { required: true, ...json(z.looseObject({ queryTags: TagsSchema, name: z.string(), type: z.string(), schema: z.record(z.string(), z.unknown()) }).meta({ id: 'EnsureStream' })) },
    responses: {
      ...ok('200', 'The stream found, its tags merged.', StreamSchema),
      ...ok('201', 'Created, as `POST /v1/streams` answers.', CreatedStreamSchema),
      ...withBody,
      '409': problem('The stream found has another configuration (`InconsistentStreamConfiguration`, each member in `errors`), several match (`MultipleStreamsReturned`), or a claim is taken.'),
    },
  },
  'POST /v1/streams/backprocess': {
    operationId: 'backprocessStreams',
    summary: 'Recompute derived streams from their sources’ history (the document’s backprocess_streams)',
    description: 'Every derived stream the tags (`tags={…}`, `tag.KEY=VALUE`) or ids (`ids=a,b`) match, or every derived stream without either, at most 100 per request (`more` when others match); each source history is paged through.',
    requestParams: {
      query: z.looseObject({
        tags: z.string().optional().meta({ description: 'A JSON object of tags, matched as `GET /v1/streams?tags=` matches them.' }),
        ids: z.string().optional().meta({ description: 'Comma-separated ids of derived streams.' }),
      }),
    },
    responses: { ...ok('200', 'The streams recomputed, and how many points each got.', BackprocessedSchema), '400': problem('A bad parameter, or a stream that is not derived.'), ...notFound },
  },
  'GET /v1/streams/{id}': { operationId: 'getStream', requestParams: byId, responses: { ...ok('200', 'The stream.', StreamSchema), ...notFound } },
  'PATCH /v1/streams/{id}': {
    operationId: 'updateStream',
    summary: 'Change a stream (fields may be added, never retyped or removed); the documents’ setAlerts body `{rules}` too',
    requestParams: byId,
    requestBody: { required: true, ...json(z.union([StreamPatchSchema, z.looseObject({ rules: z.array(z.unknown()) })])) },
    responses: { ...ok('200', 'The changed stream.', StreamSchema), ...withBody, ...notFound, '409': problem('Changed concurrently, or a claim is taken.') },
  },
  'DELETE /v1/streams/{id}': {
    operationId: 'deleteStream',
    requestParams: byId,
    responses: { '204': { description: 'Deleted, with its tokens.' }, ...notFound, '409': problem('Streams are derived from it (`OutstandingDependenciesError`): delete them first.') },
  },
  'POST /v1/streams/{id}/pause': { operationId: 'pauseStream', requestParams: byId, responses: { ...ok('200', 'Paused: ingest answers 409.', StreamSchema), ...notFound } },
  'POST /v1/streams/{id}/resume': { operationId: 'resumeStream', requestParams: byId, responses: { ...ok('200', 'Active again.', StreamSchema), ...notFound } },
  'GET /v1/streams/{id}/status': { operationId: 'getStreamStatus', requestParams: byId, responses: { ...ok('200', 'Counts and the latest refusals.', StreamStatusSchema), ...notFound } },
  'GET /v1/streams/{id}/live': {
    operationId: 'liveSubscription',
    summary: 'Live updates: a WebSocket (subprotocol `tributary.v1`) or Server-Sent Events (`Accept: text/event-stream`)',
    description:
      'Messages: `data_update` (a stored batch’s records, or bins with `granularity`), `stream_status`, `error_alert` (firing, resolved), `metrics_update` (every 5 s), `dropped` (this subscriber fell behind; closed next with 4008). ' +
      'Auth: `Authorization: Bearer`, `?ticket=`, or the subprotocol `bearer.<token>` (a wrong one closes with 4401). In AWS this HTTP route answers 426 naming the WebSocket API (`wss://…/live?stream=ID`).',
    requestParams: { ...byId, query: LiveQuerySchema },
    responses: {
      '101': { description: 'Switching to the WebSocket protocol.' },
      '200': { description: 'Server-Sent Events, one per message (`event:` its type).', content: { 'text/event-stream': { schema: LiveMessageSchema } } },
      '400': problem('A bad parameter.'),
      '401': problem('No valid token or ticket.'),
      '403': problem('The token lacks the stream’s read scope.'),
      ...notFound,
      '426': problem('Neither an upgrade nor `Accept: text/event-stream`; in AWS, always (the detail names the WebSocket API).'),
    },
  },
  'POST /v1/streams/{id}/live-ticket': {
    operationId: 'createLiveTicket',
    summary: 'A single-use ticket (60 s) that opens one live subscription without a header',
    requestParams: byId,
    responses: { ...ok('201', 'The ticket, shown once.', LiveTicketSchema), ...notFound },
  },
  'POST /v1/streams/{id}/tokens': {
    operationId: 'createToken',
    requestParams: byId,
    requestBody: { required: false, ...json(NewTokenRequestSchema) },
    responses: { ...ok('201', 'The new token, shown once.', NewTokenSchema), ...withBody, ...notFound },
  },
  'PUT /v1/streams/{id}/processor': {
    operationId: 'setProcessor',
    summary: 'The documents’ streams.setProcessor: replaces the pipeline and named aggregations',
    requestParams: byId,
    requestBody: { required: true, ...json(ProcessorSchema) },
    responses: { ...ok('200', 'The changed stream.', StreamSchema), ...withBody, ...notFound },
  },
  'GET /v1/streams/{id}/tags': { operationId: 'getTags', summary: 'The stream’s tags (the document’s get_tags)', requestParams: byId, responses: { ...ok('200', 'Its tags.', StreamTagsSchema), ...notFound } },
  'PATCH /v1/streams/{id}/tags': {
    operationId: 'updateTags',
    summary: 'Merge tags into the stream’s (the document’s update_tags): objects member by member, other values replaced',
    requestParams: byId,
    requestBody: { required: true, ...json(TagsSchema) },
    responses: { ...ok('200', 'The tags after the merge.', StreamTagsSchema), ...withBody, ...notFound },
  },
  'DELETE /v1/streams/{id}/tags': {
    operationId: 'removeTags',
    summary: 'Remove the tags `key` names (the document’s remove_tag), or every tag without `key` (clear_tags)',
    requestParams: { ...byId, query: z.object({ key: z.string().optional().meta({ description: 'Comma-separated tag paths, nested keys joined by `/` (`andmore,visualization/hidden`).' }) }) },
    responses: { ...ok('200', 'The tags left.', StreamTagsSchema), '400': problem('A bad parameter, or a reserved name (`ReservedTagNameError`).'), ...notFound },
  },
  'POST /v1/streams/{id}/data': {
    operationId: 'ingest',
    summary: `Ingest one record or an array (at most ${MAX_RECORDS})`,
    requestParams: {
      ...byId,
      query: z.object({ checkTimestamp: z.enum(['true', 'false']).optional().meta({ description: 'The document’s check_timestamp: `true` refuses the request (409 `InvalidTimestamp`, each record in `errors`) when a record is older than the stream’s newest point or than the record before it.' }) }),
      header: z.object({
        'Idempotency-Key': z.string().max(255).optional().meta({ description: 'Same key and body within the window: the first 202 again (`Idempotent-Replayed: true`), nothing stored twice.' }),
        // an event stream's only
        ...EventHeaders,
      }),
    },
    requestBody: {
      required: true,
      description: 'The records in any of these formats, optionally with `Content-Encoding: gzip`, `deflate` or `br` (the size limit applies once inflated).',
      content: {
        'application/json': { schema: IngestBodySchema },
        'application/x-ndjson': { schema: z.string().meta({ description: 'One JSON record per line.' }) },
        'text/csv': { schema: z.string().meta({ description: 'A header row naming the fields, then one row per record; cells typed by the schema.' }) },
        'application/msgpack': { schema: z.string().meta({ format: 'binary', description: 'One record or an array, in MessagePack.' }) },
        'application/cbor': { schema: z.string().meta({ format: 'binary', description: 'One record or an array, in CBOR (strict).' }) },
        'application/x-protobuf': { schema: z.string().meta({ format: 'binary', description: 'A `Records` message of the stream’s `schema.proto`.' }) },
      },
    },
    responses: {
      '202': { description: 'Queued; durable once answered.', ...json(IngestAcceptedSchema) },
      ...withFileBody,
      ...notFound,
      '409': problem('The stream is paused, is derived (`AppendToDerivedStreamNotAllowed`), or a request with this Idempotency-Key is in progress.'),
      '422': problem('The Idempotency-Key was used with another body.'),
      '429': problem('Back-pressure: retry after `Retry-After` seconds.'),
    },
  },
  'POST /v1/streams/{id}/uploads': {
    operationId: 'createUpload',
    summary: `A file larger than a request may carry (up to ${MAX_UPLOAD_BYTES} bytes) for an event stream: answers a presigned PUT URL signed for exactly its size and SHA-256`,
    requestParams: byId,
    requestBody: { required: true, ...json(UploadRequestSchema) },
    responses: {
      '201': { description: 'PUT the file to `uploadUrl` with `headers`, then POST `completeUrl`.', ...json(UploadCreatedSchema) },
      ...withBody,
      ...notFound,
      '409': problem('The stream is paused, or derived (`AppendToDerivedStreamNotAllowed`).'),
    },
  },
  'POST /v1/streams/{id}/uploads/{uploadId}': {
    operationId: 'completeUpload',
    summary: 'Completes an upload: its file becomes 512 KB part events, as a multipart file does; once per upload',
    requestParams: { path: UploadParams },
    responses: {
      '202': { description: 'The part events are queued; durable once answered. A second completion answers the same (`Idempotent-Replayed: true`) and queues nothing.', ...json(UploadCompletedSchema) },
      '404': problem('No such stream, or no such upload (never made, or expired after a day).'),
      '409': problem('The file was not PUT yet, or is not the one declared (size, SHA-256); the stream is paused; or another completion of it is in progress.'),
      '503': problem('A store or the queue is unavailable: retry after `Retry-After` seconds.'),
    },
  },
  'POST /v1/streams/data': {
    operationId: 'appendMultiple',
    summary: 'Records of several streams in one request (the document’s append_multiple), each stream taken or refused on its own',
    security: [{ bearer: [] }],
    requestParams: {
      header: z.object({
        'Idempotency-Key': z.string().max(255).optional().meta({ description: 'Same key, body and token within the window: the first answer again (`Idempotent-Replayed: true`), nothing stored twice.' }),
      }),
    },
    requestBody: {
      required: true,
      ...json(
        z
          .array(z.object({ streamId: z.string().regex(STREAM_ID), records: IngestBodySchema, checkTimestamp: z.boolean().optional() }))
          .min(1)
          .meta({ id: 'AppendMultiple', description: 'A stream named twice gets both entries’ records, in order; at most 100 streams and 10 000 records.' }),
      ),
    },
    responses: {
      ...ok('202', 'Every stream’s records queued; durable once answered.', AppendResultsSchema),
      ...ok('207', 'Some streams refused: each result has its own `status` and `problem` (the others are queued and durable).', AppendResultsSchema),
      ...withBody,
      '409': problem('A request with this Idempotency-Key is in progress.'),
      '422': problem('The Idempotency-Key was used with another body.'),
      '429': problem('Back-pressure: nothing was taken; retry after `Retry-After` seconds.'),
    },
  },
  'POST /v1/streams/{id}/analyze': {
    operationId: 'analyze',
    summary:
      'The documents’ streams.analyze: trend (linear regression), anomalies (modified z-score or z-score, the method named), correlation (Pearson, Spearman; n and a two-sided p-value; two streams aligned on a granularity), forecast (Holt, additive Holt-Winters, 95 % intervals), peak hours and daily and weekly patterns (UTC)',
    requestParams: byId,
    requestBody: { required: true, ...json(AnalyzeRequestSchema) },
    responses: {
      ...ok(
        '200',
        '`{streamId, start, end, granularity, points, series, trends, anomalies, correlations, forecast, patterns}`.',
        z.looseObject({
          streamId: z.string(),
          points: z.number().int(),
          trends: z.array(z.looseObject({})),
          anomalies: z.array(z.looseObject({ method: z.enum(['modified_zscore', 'mad', 'zscore']) })),
          correlations: z.array(z.looseObject({ n: z.number().int(), pValue: z.number().nullable() })),
          forecast: z.array(z.looseObject({ model: z.enum(['holt', 'holt_winters']) })),
          patterns: z.array(z.looseObject({})),
        }),
      ),
      ...withBody,
      '403': problem('The token lacks `read:` of a stream a correlation names in `streams`.'),
      ...notFound,
    },
  },
  'POST /v1/streams/{id}/webhook': webhookOperation('webhookEvent', 'One event from a webhook sender (a JSON object)', false),
  'POST /v1/streams/{id}/webhook/batch': webhookOperation('webhookBatch', 'Events from a webhook sender (a JSON array)', true),
  'GET /v1/streams/{id}/data': {
    operationId: 'query',
    summary: 'Query raw or downsampled points; `dim.NAME=VALUE` keeps one series; ranges are half-open',
    requestParams: { ...byId, query: DataQuerySchema },
    responses: {
      '200': {
        description: 'A page of points; follow `nextCursor` (for CSV and NDJSON, the `next-cursor` header). `Accept-Encoding: gzip` gzips the answer.',
        content: {
          'application/json': { schema: QueryResultSchema },
          'text/csv': { schema: z.string().meta({ description: 'A header row, then one row per point.' }) },
          'application/x-ndjson': { schema: z.string().meta({ description: 'One JSON point per line.' }) },
        },
      },
      '400': problem('A bad parameter, with its name as path.'), ...notFound },
  },
  'GET /v1/streams/{id}/schema.proto': {
    operationId: 'getSchemaProto',
    summary: 'The stream’s schema as proto3, for `application/x-protobuf` bodies; field numbers never change',
    requestParams: byId,
    responses: { '200': { description: 'The `.proto` file.', content: { 'text/plain': { schema: z.string() } } }, ...notFound },
  },
  'GET /v1/streams/{id}/latest': {
    operationId: 'latest',
    requestParams: { ...byId, query: z.looseObject({ fields: z.string().optional() }) },
    responses: { ...ok('200', 'The newest record of each series.', LatestResultSchema), '400': problem('A bad parameter.'), ...notFound },
  },
  'GET /v1/streams/{id}/export': {
    operationId: 'exportData',
    summary: 'The whole range as a file (CSV, NDJSON or Parquet), read page by page; inline up to 4 MiB, else a 303 to a presigned URL valid for an hour',
    requestParams: {
      ...byId,
      query: z.looseObject({
        format: z.enum(['csv', 'ndjson', 'parquet']).optional().meta({ description: '`csv` (default; text cells starting with = + - @ tab or CR get a leading `\'`), `ndjson` (one query point a line) or `parquet` (a row group per 10 000 rows).' }),
        start: z.string().optional().meta({ description: 'RFC 3339 or epoch ms, inclusive; 24 hours before `end` unless given.' }),
        end: z.string().optional().meta({ description: 'RFC 3339 or epoch ms, exclusive; now unless given.' }),
        fields: z.string().optional(),
        granularity: z.string().optional().meta({ description: 'As for `GET …/data`: raw (default) or a bin width.' }),
        downsamplers: z.string().optional(),
        groupBy: z.string().optional(),
      }),
    },
    responses: {
      '200': {
        description: 'The file, `Content-Disposition: attachment; filename="<stream>_<start>_<end>.<ext>"`.',
        content: {
          'text/csv': { schema: z.string().meta({ description: 'A header row, then one row per point, as `GET …/data` writes CSV.' }) },
          'application/x-ndjson': { schema: z.string().meta({ description: 'One JSON point per line.' }) },
          'application/vnd.apache.parquet': { schema: z.string().meta({ format: 'binary', description: 'time (TIMESTAMP ms), the dimensions, the fields in their schema types.' }) },
        },
      },
      '303': {
        description: 'Larger than 4 MiB: the file was written to the export store; `Location` is a presigned GET URL (an hour).',
        ...json(z.object({ streamId: z.string(), format: z.enum(['csv', 'ndjson', 'parquet']), filename: z.string(), bytes: z.number().int(), url: z.string(), expiresAt: z.string() })),
      },
      '400': problem('A bad parameter, with its name as path.'),
      ...notFound,
    },
  },
  'GET /v1/streams/{id}/events': {
    operationId: 'listEvents',
    summary: 'An event stream’s events with their metadata, event time and valid time; on either time axis, as of an event time',
    requestParams: {
      ...byId,
      query: z.looseObject({
        start: z.string().optional().meta({ description: 'RFC 3339 or epoch ms, inclusive, on the time axis; 24 hours before `end` unless given.' }),
        end: z.string().optional().meta({ description: 'RFC 3339 or epoch ms, exclusive; now unless given.' }),
        timeAxis: z.enum(['event', 'valid']).optional().meta({ description: '`event` (when ingested; default) or `valid` (when it holds from): what the range and the order are on.' }),
        asOf: z.string().optional().meta({ description: 'Only events ingested at or before this time: what was known then.' }),
        limit: z.string().optional().meta({ description: '1-1000, 100 unless given.' }),
        order: z.enum(['asc', 'desc']).optional(),
        cursor: z.string().optional().meta({ description: 'The `nextCursor` of the page before.' }),
        type: z.string().optional().meta({ description: 'Only events of these types (their `eventType`), comma-separated.' }),
      }),
    },
    responses: {
      ...ok(
        '200',
        '`{streamId, timeAxis, asOf?, events: [{id, eventTime, validTime, metadata?, data}], nextCursor?}`.',
        z.looseObject({ streamId: z.string(), timeAxis: z.enum(['event', 'valid']), events: z.array(z.looseObject({ id: z.string(), eventTime: z.string(), validTime: z.string(), data: z.looseObject({}) })), nextCursor: z.string().optional() }),
      ),
      '400': problem('A bad parameter, with its name as path, or a stream that is not an event_stream.'),
      ...notFound,
    },
  },
  'GET /v1/streams/{id}/receipts': {
    operationId: 'listReceipts',
    summary: 'The stream’s receipts, oldest first: one per stored batch, each chained to the one before',
    requestParams: {
      ...byId,
      query: z.looseObject({
        after: z.string().optional().meta({ description: 'Receipts after this number (the `nextCursor` of the page before).' }),
        limit: z.string().optional().meta({ description: '1-1000, 100 unless given.' }),
      }),
    },
    responses: {
      ...ok('200', '`{streamId, receipts, head?, nextCursor?}`: each receipt’s number, time, record count and range, batch hash, and the chain hashes.', ReceiptPageSchema),
      '400': problem('A bad parameter, with its name as path.'),
      ...notFound,
    },
  },
  'GET /v1/streams/{id}/verify': {
    operationId: 'verifyStream',
    summary: 'Checks the receipt chain and every record the stores return for the window against it; names each altered, dropped or inserted record and its batch',
    requestParams: {
      ...byId,
      query: z.looseObject({
        start: z.string().optional().meta({ description: 'RFC 3339 or epoch ms, inclusive; the stream’s first record unless given.' }),
        end: z.string().optional().meta({ description: 'RFC 3339 or epoch ms, exclusive; past its last record (or now) unless given.' }),
      }),
    },
    responses: {
      ...ok('200', 'What verification found: `verified` is false when any problem is listed.', VerificationSchema),
      '400': problem('A bad parameter, with its name as path.'),
      ...notFound,
    },
  },
  'POST /v1/streams/{id}/pull': {
    operationId: 'pullNow',
    requestParams: byId,
    responses: { ...ok('200', 'What the pull did (a failure at the source is `status: failed`).', PullResultSchema), ...notFound, '409': problem('The stream does not pull, is paused, or is being pulled.') },
  },
  'GET /v1/streams/{id}/alerts': { operationId: 'listStreamAlerts', requestParams: { ...byId, query: AlertsQuerySchema }, responses: { ...ok('200', 'A page of alerts.', AlertPageSchema), ...notFound } },
  'POST /v1/streams/{id}/alert-secret': { operationId: 'rotateAlertSecret', requestParams: byId, responses: { ...ok('200', 'The new signing secret, shown once.', AlertSecretSchema), ...notFound } },
  'GET /v1/alerts': { operationId: 'listAlerts', requestParams: { query: AllAlertsQuerySchema }, responses: { ...ok('200', 'A page of alerts.', AlertPageSchema), '400': problem('A bad parameter.') } },
  'POST /v1/alerts/{id}/ack': { operationId: 'acknowledgeAlert', requestParams: { path: AlertIdParams }, responses: { ...ok('200', 'The alert.', AlertSchema), '404': problem('No such alert.') } },
  'GET /v1/openapi.json': { operationId: 'openapi', summary: 'This document', security: [], responses: { '200': { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: z.looseObject({ openapi: z.string() }) } } } } },
  'POST /write': influxWrite('influxWriteV1', 'InfluxDB 1.x /write: line protocol; the measurement names the stream (`db` any name)'),
  'POST /api/v2/write': influxWrite('influxWriteV2', 'InfluxDB 2.x /api/v2/write: line protocol; the measurement names the stream (`bucket` any name)'),
  'GET /query': influxOperation('influxQuery'),
  'POST /query': influxOperation('influxQueryPost'),
};

function influxOperation(operationId: string): ZodOpenApiOperationObject {
  return {
    operationId,
    summary: 'InfluxDB 1.x /query (InfluxQL subset), for Grafana’s InfluxDB data source',
    security: [{ bearer: [] }, { basic: [] }, { influxPassword: [] }],
    requestParams: { query: InfluxQuerySchema },
    responses: { ...ok('200', 'InfluxDB’s JSON answer.', InfluxResultSchema), '400': { description: 'A statement Tributary does not answer.', ...json(InfluxErrorSchema) } },
  };
}

function influxWrite(operationId: string, summary: string): ZodOpenApiOperationObject {
  return {
    operationId,
    summary,
    security: [{ bearer: [] }, { basic: [] }, { influxPassword: [] }],
    requestParams: { query: z.looseObject({ precision: z.string().optional().meta({ description: 'ns (default), us, ms, s; 1.x also n, u, h, m' }) }) },
    requestBody: { required: true, description: 'Line protocol, optionally gzipped (Telegraf’s default).', content: { 'text/plain': { schema: z.string() } } },
    responses: {
      '204': { description: 'Every point is queued.' },
      '400': { description: 'A bad line (named), or a partial write (1.x).', ...json(InfluxWriteErrorSchema) },
      '413': { description: 'More than the line or byte limit.', ...json(InfluxWriteErrorSchema) },
      '422': { description: 'A partial write (2.x): the valid points were queued.', ...json(InfluxWriteErrorSchema) },
    },
  };
}

/** Answers any authenticated route may give, besides its own. */
const COMMON: ZodOpenApiResponsesObject = {
  '401': problem('No token, or an unknown one.'),
  '403': problem('The token lacks the scope.'),
  '500': problem('Failed on our side; safe to retry.'),
  '503': problem('A store or the queue is unavailable: retry after `Retry-After` seconds.'),
};

/** Routes of the route table that the document has no operation for, and operations for no route (empty when in step). */
export function undocumented(): { routes: string[]; operations: string[] } {
  const keys = new Set(DOCUMENTED_ROUTES.map(routeKey));
  return { routes: [...keys].filter((k) => !OPERATIONS[k]), operations: Object.keys(OPERATIONS).filter((k) => !keys.has(k)) };
}

let built: ReturnType<typeof createDocument> | undefined;

/**
 * The OpenAPI 3.1 document of the API, generated from the handlers' zod schemas and the route table
 * (built once per process).
 *
 * @example
 * jsonResponse(200, openApiDocument());
 */
export function openApiDocument(): ReturnType<typeof createDocument> {
  if (built) return built;
  const paths: Record<string, Record<string, ZodOpenApiOperationObject>> = {};
  for (const route of DOCUMENTED_ROUTES) {
    const op = OPERATIONS[routeKey(route)];
    if (!op) throw new Error(`no OpenAPI operation for ${routeKey(route)}`);
    const tag = route.influxAuth ? 'influxdb' : route.path.startsWith('/v1/alerts') || route.fn === 'alerts' ? 'alerts' : route.fn === 'streams' ? 'streams' : route.fn;
    (paths[route.path] ??= {})[route.method.toLowerCase()] = { tags: [tag], ...op, responses: route.scope === 'public' ? op.responses : { ...op.responses, ...COMMON } };
  }
  built = createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Tributary',
      version: '1',
      description:
        'Serverless data streams: validated ingest, downsampled queries, alerts. Every `/v1/…` route also answers without its `/v1` prefix ' +
        '(`POST /streams`, `/streams/{id}/data`), as the Data Streams document writes them. Errors are RFC 9457 problem+json. ' +
        'Scopes: `admin`; `ingest:<streamId>`; `read:<streamId>` (admin may call every route).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <token> (admin, ingest or read token).' },
        basic: { type: 'http', scheme: 'basic', description: 'InfluxDB clients: any user, the read token as password.' },
        influxPassword: { type: 'apiKey', in: 'query', name: 'p', description: 'InfluxDB 1.x: the read token as `p`.' },
        standardWebhooks: { type: 'apiKey', in: 'header', name: 'webhook-signature', description: 'Standard Webhooks: `webhook-id`, `webhook-timestamp` (within 5 min) and `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the stream’s webhook secret.' },
        xSignature: { type: 'apiKey', in: 'header', name: 'X-Signature', description: '`sha256=<hex HMAC-SHA256 of the raw body>` with the stream’s webhook secret (also `X-Hub-Signature-256`).' },
      },
    },
    paths,
  });
  return built;
}
