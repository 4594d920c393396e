import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { AppendToDerivedStreamNotAllowedError, BadRequestError, IdempotencyKeyInFlightError, StreamNotFoundError, StreamPausedError, UploadNotFoundError } from '../../shared/domain/errors';
import { eventAttributes } from '../../shared/domain/events';
import { checkUploaded, parseUploadRequest, partCount, UPLOAD_ID, uploadIntent } from '../../shared/domain/file-uploads';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Clock, IdempotencyStore, IngestQueue, PartStore, StreamRegistry, UploadStore } from '../../shared/ports';
import { parseJsonBody, requireJson, type BodyLimits } from '../commons/body';
import { bodyText, header, pathId, type HttpEvent, type HttpResult, type Logger } from '../commons/http';
import type { Meter } from '../commons/meter';
import { jsonResponse } from '../commons/problem';
import { fileParts, uploadsPath } from './file-events';
import { REPLAYED_HEADER } from './idempotency-key';

export interface UploadDeps {
  registry: StreamRegistry;
  queue: IngestQueue;
  clock: Clock;
  log: Logger;
  idempotency: IdempotencyStore;
  uploads: UploadStore;
  parts: PartStore;
  limits: BodyLimits;
  meter: Meter;
  /** The scheme of the completeUrl: `https` (API Gateway) unless told (the local runtime's `http`). */
  scheme?: 'https' | 'http';
}

/**
 * The presigned uploads of files larger than a request may be (API Gateway takes 10 MB, Lambda 6 MB):
 *
 * - `POST /v1/streams/{id}/uploads` `{fileName, fileSize, checksum, type, fileType?, fields?}` keeps the intent and
 *   answers 201 `{uploadId, uploadUrl, method: 'PUT', headers, expiresAt, completeUrl, parts}`: the client PUTs the
 *   file to `uploadUrl` with `headers` (S3 refuses any other length or bytes);
 * - `POST /v1/streams/{id}/uploads/{uploadId}` reads the file back, cuts it into the same 512 KB part events as a
 *   multipart request (`fileParts`) and answers 202 once they are queued. It runs once per upload (the
 *   idempotency store, keyed by upload): a second completion gets the first 202 again and queues nothing, one
 *   racing the first a 409, for the store's window (24 hours, as long as an upload is kept). The part events'
 *   ids come from the upload id (`<uploadId>.<n>`), the same on a redelivery of the queued batch.
 *
 * @example
 * const uploads = makeUploads({ registry, queue, clock, log, idempotency, uploads: store, parts, limits, meter });
 * await uploads.create(event); // 201
 */
export function makeUploads(deps: UploadDeps) {
  async function eventStream(id: string): Promise<Stream> {
    const stream = await deps.registry.get(id);
    if (!stream) throw new StreamNotFoundError(id);
    if (stream.state === 'paused') throw new StreamPausedError(id);
    if (stream.deriveOp) throw new AppendToDerivedStreamNotAllowedError(id);
    if (stream.type !== 'event_stream') throw new BadRequestError(`Stream '${id}' is a ${stream.type}; files become part events of an event_stream only.`);
    return stream;
  }

  async function create(event: HttpEvent): Promise<HttpResult> {
    const id = pathId(event);
    requireJson(header(event, 'content-type'));
    const request = parseUploadRequest(parseJsonBody(bodyText(event), deps.limits));
    await eventStream(id);
    const intent = uploadIntent(request, { streamId: id, uploadId: randomBytes(12).toString('base64url'), now: deps.clock.now() });
    const put = await deps.uploads.create(intent);
    const completeUrl = `${deps.scheme ?? 'https'}://${event.requestContext.domainName}${uploadsPath(id)}/${intent.uploadId}`;
    return {
      ...jsonResponse(201, {
        uploadId: intent.uploadId,
        uploadUrl: put.url,
        method: put.method,
        headers: put.headers,
        expiresAt: new Date(intent.urlExpiresAt).toISOString(),
        completeUrl,
        parts: partCount(intent.fileSize),
      }),
      headers: { 'content-type': 'application/json', location: completeUrl },
    };
  }

  async function complete(event: HttpEvent, context: Context): Promise<HttpResult> {
    const id = pathId(event);
    const uploadId = event.pathParameters?.uploadId ?? '';
    if (!UPLOAD_ID.test(uploadId)) throw new UploadNotFoundError(uploadId.slice(0, 80));
    const stream = await eventStream(id);
    const holdMs = Math.max(1_000, context.getRemainingTimeInMillis());
    try {
      const outcome = await deps.idempotency.once({ scope: id, key: `upload:${uploadId}`, fingerprint: uploadId }, () => completeOnce(event, stream, uploadId), { holdMs });
      if (!outcome.recorded) deps.log.error('upload completion not recorded', { requestId: context.awsRequestId, streamId: id, uploadId });
      return outcome.replayed ? { ...outcome.value, headers: { ...outcome.value.headers, [REPLAYED_HEADER]: 'true' } } : outcome.value;
    } catch (err) {
      if (err instanceof IdempotencyKeyInFlightError) throw new IdempotencyKeyInFlightError(`Upload '${uploadId}' is being completed by another request; retry once that one is answered.`, { cause: err });
      throw err;
    }
  }

  async function completeOnce(event: HttpEvent, stream: Stream, uploadId: string): Promise<HttpResult> {
    const found = await deps.uploads.open(stream.id, uploadId);
    if (!found) throw new UploadNotFoundError(uploadId);
    const { intent } = found;
    checkUploaded(intent, found.uploaded);
    const bytes = await found.uploaded!.read();
    const checksum = createHash('sha256').update(bytes).digest('hex');
    checkUploaded(intent, { size: bytes.length, checksum });
    const records = await fileParts(bytes, { fileName: intent.fileName, fileType: intent.type, fields: intent.fields, keyPrefix: `parts/${stream.id}/${uploadId}`, parts: deps.parts, checksum });
    const now = deps.clock.now();
    // the upload id is the request id: the part events' ids are the same whenever this runs
    const attrs = eventAttributes((name) => header(event, name), { requestId: uploadId, receivedAt: now });
    await deps.queue.send([{ streamId: stream.id, receivedAt: now, source: 'http', records, event: attrs, files: true }]);
    deps.meter.count('AcceptedRecords', records.length, stream.id);
    return jsonResponse(202, { accepted: records.length, parts: records.length, checksum, uploadId });
  }

  return { create, complete };
}
