import { createHash, randomBytes } from 'node:crypto';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { admitBatch } from '../../shared/domain/admission';
import { AppendToDerivedStreamNotAllowedError, BadRequestError, PayloadTooLargeError, RecordValidationError, StreamNotFoundError, StreamPausedError } from '../../shared/domain/errors';
import { EVENT_HEADERS, eventAttributes, storedEvents, typedRecords, type EventAttributes } from '../../shared/domain/events';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Clock, IdempotencyStore, IngestQueue, PartStore, SecretSource, StreamRegistry, TokenStore, UploadStore } from '../../shared/ports';
import { callerScopes, requireScope } from '../commons/auth';
import { DEFAULT_LIMITS, type BodyLimits } from '../commons/body';
import { compiledStreams } from '../commons/compiled';
import { atPositions, decodeRecords, recordsDecoder } from '../commons/formats/decode-records';
import { contentCodings } from '../commons/formats/content-encoding';
import { header, pathId, problemErrors, type HttpEvent, type HttpResult, type Logger } from '../commons/http';
import { noMeter, type Meter } from '../commons/meter';
import { jsonResponse } from '../commons/problem';
import { fileEvents, fileTooLarge } from './file-events';
import { makeAppendMultiple } from './append-multiple';
import { findRoute } from '../commons/routes';
import { claimTimestamps, releaseClaims } from './timestamps';
import { checkTimestampParam } from '../../shared/domain/check-timestamp';
import { makeInfluxWrite } from './influx-write';
import { bodyFingerprint, IDEMPOTENCY_KEY_HEADER, idempotencyKeyOf, REPLAYED_HEADER } from './idempotency-key';
import { makeUploads } from './uploads';
import { makeWebhookIngest, WEBHOOK_BATCH_PATH, WEBHOOK_PATH } from './webhook';

/** The document's `append_multiple`: records of several streams in one request. */
export const APPEND_MULTIPLE_PATH = '/v1/streams/data';

export interface IngestDeps {
  registry: StreamRegistry;
  queue: IngestQueue;
  clock: Clock;
  log: Logger;
  /** Where `Idempotency-Key`s are claimed and their answers kept. */
  idempotency: IdempotencyStore;
  limits?: BodyLimits;
  /** Counts AcceptedRecords and RefusedRecords per stream (CloudWatch in AWS). */
  meter?: Meter;
  /** The webhook routes' token look-up and `webhook.secret` reads; without them those routes take nothing. */
  tokens?: TokenStore;
  secrets?: SecretSource;
  /** Where file events' parts are kept; without it a multipart body is refused as any unknown type is. */
  parts?: PartStore;
  /** Where presigned uploads are kept (with `parts`): without it the uploads routes answer 404 as an unknown route would. */
  uploads?: UploadStore;
  /** The scheme of the URLs answers give (an upload's completeUrl): `https` unless told (the local runtime's `http`). */
  scheme?: 'https' | 'http';
}

/**
 * `POST /v1/streams/{id}/data`: checks the token's scope, decodes the body (its `Content-Encoding` undone, then
 * JSON, NDJSON or CSV by its `Content-Type`, see `commons/formats`) under caps, validates every record
 * against the stream's schema, and answers 202 only once the valid records are on the queue.
 * Strict streams refuse a batch with any invalid record (400 listing each); lenient ones queue the valid
 * records and list the invalid ones in the 202.
 *
 * With an `Idempotency-Key` header, the request runs once per key and stream within the store's window: a
 * retry with the same body gets the first 202 again (`Idempotent-Replayed: true`) and queues nothing; the
 * key with another body is a 422, while its first request is still running a 409. Only a 202 is kept, and
 * only once its records are queued; a refused request leaves the key free for a corrected retry.
 *
 * @example
 * export const handler = makeIngestHandler({ registry, queue, clock: systemClock, log: jsonLogger, idempotency });
 */
export function makeIngestHandler(deps: IngestDeps) {
  const { registry, queue, clock, idempotency, log } = deps;
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const meter = deps.meter ?? noMeter;
  const compiled = compiledStreams();
  const influxWrite = makeInfluxWrite({ registry, queue, clock, limits, compiled, meter });
  const appendMultiple = makeAppendMultiple({ registry, queue, clock, limits, compiled, meter });

  /** `known`: the stream as the caller already read it (the webhook routes), so it is not read twice. */
  async function accept(event: HttpEvent, id: string, known?: Stream): Promise<HttpResult> {
    let found: Promise<Stream> | undefined;
    const streamOnce = () => (found ??= known ? Promise.resolve(active(known)) : activeStream(id));
    if (isFile(event)) {
      const stream = await streamOnce();
      if (stream.type === 'event_stream') return acceptFile(event, stream);
      recordsDecoder(header(event, 'content-type')); // a file for any other stream: the 415 every unknown type gets
    }
    const check = checkTimestampParam(event.queryStringParameters?.checkTimestamp, ['checkTimestamp']);
    const decoded = await decodeRecords(event, { limits, stream: streamOnce });
    const { positions } = decoded;
    const stream = await streamOnce();
    const typeHeader = header(event, EVENT_HEADERS.eventType);
    const records = typeHeader === undefined ? decoded.records : typedRecordsAt(decoded.records, typeHeader, stream, positions);
    // records given their type by the header are not the body's text any more
    const json = typeHeader === undefined ? decoded.json : undefined;
    const now = clock.now();
    const prepared = await compiled.for(stream).prepare(records, { now, receivedAt: now });
    const admission = admitBatch(stream.validation, prepared.records, prepared.result);
    if (!admission.admitted) {
      meter.count('RefusedRecords', prepared.records.length, id);
      throw new RecordValidationError(atPositions(admission.issues, positions));
    }
    const { records: accepted, whole } = admission;
    const attrs = stream.type === 'event_stream' ? eventAttributesOf(event, accepted, now) : undefined;
    const claim = check ? await claimTimestamps(registry, stream, prepared.result.points, prepared.result.indexes, (issues) => atPositions(issues, positions)) : undefined;
    // the batch's own text is queued only when it is what is stored: valid throughout and not processed
    await queue
      .send([
        {
          streamId: id,
          receivedAt: now,
          source: 'http',
          records: accepted,
          ...(whole && !prepared.processed && json !== undefined && { recordsJson: json }),
          ...(prepared.filtered > 0 && { filtered: prepared.filtered }),
          ...(attrs && { event: attrs }),
        },
      ])
      .catch(async (err: unknown) => {
        await releaseClaims(registry, [claim]);
        throw err;
      });
    meter.count('AcceptedRecords', accepted.length, id);
    meter.count('RefusedRecords', prepared.records.length - accepted.length, id);
    return jsonResponse(202, { accepted: accepted.length, ...(prepared.filtered > 0 && { filtered: prepared.filtered }), ...(!whole && { rejected: atPositions(admission.issues, positions) }) });
  }

  /**
   * A file for an event stream (`multipart/form-data`): its 512 KB parts stored first, then their events
   * queued; 202 once both are durable, so an acknowledged part is never lost.
   */
  async function acceptFile(event: HttpEvent, stream: Stream): Promise<HttpResult> {
    const bytes = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    if (bytes.length > limits.maxBytes) throw new PayloadTooLargeError(fileTooLarge(stream.id, `The body is ${bytes.length} bytes; a request carries at most ${limits.maxBytes}.`));
    const now = clock.now();
    const attrs = eventAttributesOf(event, [], now);
    const records = await fileEvents(bytes, header(event, 'content-type')!, { streamId: stream.id, requestId: attrs.requestId, parts: deps.parts!, maxBytes: limits.maxBytes });
    await queue.send([{ streamId: stream.id, receivedAt: now, source: 'http', records, event: attrs, files: true }]);
    meter.count('AcceptedRecords', records.length, stream.id);
    return jsonResponse(202, { accepted: records.length, parts: records.length, checksum: records[0]!.checksum });
  }

  /**
   * An event stream's request: its events' metadata, times and TTL from the headers (`events.ts`), checked
   * against the records whose fields the time keys name before anything is queued.
   */
  function eventAttributesOf(event: HttpEvent, records: readonly unknown[], now: number): EventAttributes {
    const attrs = eventAttributes((name) => header(event, name), { requestId: randomBytes(12).toString('base64url'), receivedAt: now });
    if (attrs.eventTimeKey !== undefined || attrs.validTimeKey !== undefined) {
      const { issues } = storedEvents(records as Record<string, unknown>[], records.map((_, i) => i), attrs, now);
      if (issues.length) throw new RecordValidationError(issues);
    }
    return attrs;
  }

  /** The records with the type `x-tributary-event-type` names (`typedRecords`), a refusal naming each record's position. */
  function typedRecordsAt(records: unknown[], type: string, stream: Stream, positions: Parameters<typeof atPositions>[1]): unknown[] {
    try {
      return [...typedRecords(records, type, stream.eventTypes && Object.keys(stream.eventTypes))];
    } catch (err) {
      if (err instanceof RecordValidationError) throw new RecordValidationError(atPositions(err.issues, positions));
      throw err;
    }
  }

  async function activeStream(id: string): Promise<Stream> {
    const stream = await registry.get(id);
    if (!stream) throw new StreamNotFoundError(id);
    return active(stream);
  }

  function active(stream: Stream): Stream {
    if (stream.state === 'paused') throw new StreamPausedError(stream.id);
    if (stream.deriveOp) throw new AppendToDerivedStreamNotAllowedError(stream.id);
    return stream;
  }

  const webhook = makeWebhookIngest({ registry, idempotency, log, accept: (event, stream) => checked(event, stream.id, stream), ...(deps.tokens && { tokens: deps.tokens }), ...(deps.secrets && { secrets: deps.secrets }) });

  /** The format checks, then the records: what every ingest route does once its caller is known. */
  function checked(event: HttpEvent, id: string, known?: Stream): Promise<HttpResult> {
    if (!isFile(event)) recordsDecoder(header(event, 'content-type'));
    contentCodings(header(event, 'content-encoding'));
    return accept(event, id, known);
  }

  /** A `multipart/form-data` body: a file, which an event stream takes as part events (`acceptFile`). */
  function isFile(event: HttpEvent): boolean {
    return deps.parts !== undefined && /^multipart\/form-data\b/i.test(header(event, 'content-type') ?? '');
  }

  const uploads = deps.uploads && deps.parts ? makeUploads({ registry, queue, clock, log, idempotency, uploads: deps.uploads, parts: deps.parts, limits, meter, ...(deps.scheme && { scheme: deps.scheme }) }) : undefined;

  async function app(event: HttpEvent, context: Context): Promise<HttpResult> {
    if (event.routeKey.endsWith('/write')) return influxWrite(event);
    if (event.routeKey.endsWith('/uploads') || event.routeKey.endsWith('/uploads/{uploadId}')) {
      requireScope(event, `ingest:${pathId(event)}`);
      if (!uploads) throw new BadRequestError('This deployment takes no uploads.');
      return event.routeKey.endsWith('/uploads') ? uploads.create(event) : uploads.complete(event, context);
    }
    if (findRoute(event.routeKey)?.path === APPEND_MULTIPLE_PATH) {
      // keyed per caller (its scopes): another token's request under the same key is another request
      const scopes = [...(callerScopes(event) ?? [])].sort().join(',');
      return keyed(event, context, `streams-data:${createHash('sha256').update(scopes).digest('hex').slice(0, 32)}`, () => appendMultiple(event));
    }
    if (event.routeKey.endsWith(WEBHOOK_PATH) || event.routeKey.endsWith(WEBHOOK_BATCH_PATH)) return webhook(event, context);
    const id = pathId(event);
    requireScope(event, `ingest:${id}`);
    idempotencyKeyOf(header(event, IDEMPOTENCY_KEY_HEADER.toLowerCase())); // a malformed key is a 400 first
    // an unsupported type or coding is refused before a key is claimed
    if (!isFile(event)) recordsDecoder(header(event, 'content-type'));
    contentCodings(header(event, 'content-encoding'));
    return keyed(event, context, id, () => accept(event, id));
  }

  /**
   * A request under its `Idempotency-Key`, when it has one: answered once within `scope` (a stream, or a
   * caller of the multi-stream route), the first answer again for a retry with the same body.
   */
  async function keyed(event: HttpEvent, context: Context, scope: string, run: () => Promise<HttpResult>): Promise<HttpResult> {
    const key = idempotencyKeyOf(header(event, IDEMPOTENCY_KEY_HEADER.toLowerCase()));
    if (key === undefined) return run();
    // the claim holds while this invocation may still run: past it, a retry may take the key over
    const holdMs = Math.max(1_000, context.getRemainingTimeInMillis());
    const outcome = await idempotency.once({ scope, key, fingerprint: bodyFingerprint(event) }, run, { holdMs });
    if (!outcome.recorded) log.error('idempotency key not recorded', { requestId: context.awsRequestId, scope });
    return outcome.replayed ? { ...outcome.value, headers: { ...outcome.value.headers, [REPLAYED_HEADER]: 'true' } } : outcome.value;
  }

  return middy<HttpEvent, HttpResult>().use(problemErrors(deps.log)).handler(app);
}

