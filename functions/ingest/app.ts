import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { admitBatch } from '../../shared/domain/admission';
import { RecordValidationError, StreamNotFoundError, StreamPausedError } from '../../shared/domain/errors';
import type { Clock, IdempotencyStore, IngestQueue, StreamRegistry } from '../../shared/ports';
import { requireScope } from '../commons/auth';
import { DEFAULT_LIMITS, parseRecordsText, requireJson, type BodyLimits } from '../commons/body';
import { BINARY_DECODERS, bodyBytes, type BinaryDecoder } from '../commons/binary-records';
import { compiledStreams } from '../commons/compiled';
import { bodyText, header, pathId, problemErrors, type HttpEvent, type HttpResult, type Logger } from '../commons/http';
import { jsonResponse } from '../commons/problem';
import { makeInfluxWrite } from './influx-write';
import { bodyFingerprint, IDEMPOTENCY_KEY_HEADER, idempotencyKeyOf, REPLAYED_HEADER } from './idempotency-key';

export interface IngestDeps {
  registry: StreamRegistry;
  queue: IngestQueue;
  clock: Clock;
  log: Logger;
  /** Where `Idempotency-Key`s are claimed and their answers kept. */
  idempotency: IdempotencyStore;
  limits?: BodyLimits;
}

/**
 * `POST /v1/streams/{id}/data` (and InfluxDB's `/write` and `/api/v2/write`, see `influx-write.ts`): checks the token's scope, parses under caps, validates every record
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
  const compiled = compiledStreams();
  const influxWrite = makeInfluxWrite({ registry, queue, clock, limits, compiled });

  async function accept(event: HttpEvent, id: string, binary: BinaryDecoder | undefined): Promise<HttpResult> {
    const text = binary ? undefined : parseRecordsText(bodyText(event), limits);
    const stream = await registry.get(id);
    if (!stream) throw new StreamNotFoundError(id);
    if (stream.state === 'paused') throw new StreamPausedError(id);
    // a binary body is decoded once the stream is known: protobuf's message is the stream's own
    const { records, json } = text ?? { records: binary!(bodyBytes(event), limits, stream), json: undefined };
    const now = clock.now();
    const prepared = await compiled.for(stream).prepare(records, { now, receivedAt: now });
    const admission = admitBatch(stream.validation, prepared.records, prepared.result);
    if (!admission.admitted) throw new RecordValidationError(admission.issues);
    const { records: accepted, whole } = admission;
    // the batch's own text is queued only when it is what is stored: valid throughout and not processed
    await queue.send([
      { streamId: id, receivedAt: now, source: 'http', records: accepted, ...(whole && !prepared.processed && json !== undefined && { recordsJson: json }), ...(prepared.filtered > 0 && { filtered: prepared.filtered }) },
    ]);
    return jsonResponse(202, { accepted: accepted.length, ...(prepared.filtered > 0 && { filtered: prepared.filtered }), ...(!whole && { rejected: admission.issues }) });
  }

  async function app(event: HttpEvent, context: Context): Promise<HttpResult> {
    if (event.routeKey.endsWith('/write')) return influxWrite(event);
    const id = pathId(event);
    requireScope(event, `ingest:${id}`);
    const key = idempotencyKeyOf(header(event, IDEMPOTENCY_KEY_HEADER.toLowerCase()));
    const binary = binaryDecoderOf(header(event, 'content-type'));
    if (!binary) requireJson(header(event, 'content-type'));
    if (key === undefined) return accept(event, id, binary);
    // the claim holds while this invocation may still run: past it, a retry may take the key over
    const holdMs = Math.max(1_000, context.getRemainingTimeInMillis());
    const outcome = await idempotency.once({ scope: id, key, fingerprint: bodyFingerprint(event) }, () => accept(event, id, binary), { holdMs });
    if (!outcome.recorded) log.error('idempotency key not recorded', { requestId: context.awsRequestId, streamId: id });
    return outcome.replayed ? { ...outcome.value, headers: { ...outcome.value.headers, [REPLAYED_HEADER]: 'true' } } : outcome.value;
  }

  return middy<HttpEvent, HttpResult>().use(problemErrors(deps.log)).handler(app);
}

/** The decoder of a binary media type (MessagePack, CBOR), or `undefined` for any other (JSON's check applies). */
function binaryDecoderOf(contentType: string | undefined): BinaryDecoder | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type && Object.hasOwn(BINARY_DECODERS, type) ? BINARY_DECODERS[type] : undefined;
}
