import middy from '@middy/core';
import { admitBatch } from '../../shared/domain/admission';
import { RecordValidationError, StreamNotFoundError, StreamPausedError } from '../../shared/domain/errors';
import type { Clock, IngestQueue, StreamRegistry } from '../../shared/ports';
import { requireScope } from '../commons/auth';
import { DEFAULT_LIMITS, parseRecordsText, requireJson, type BodyLimits } from '../commons/body';
import { compiledStreams } from '../commons/compiled';
import { bodyText, header, pathId, problemErrors, type HttpEvent, type HttpResult, type Logger } from '../commons/http';
import { jsonResponse } from '../commons/problem';

export interface IngestDeps {
  registry: StreamRegistry;
  queue: IngestQueue;
  clock: Clock;
  log: Logger;
  limits?: BodyLimits;
}

/**
 * `POST /v1/streams/{id}/data`: checks the token's scope, parses under caps, validates every record
 * against the stream's schema, and answers 202 only once the valid records are on the queue.
 * Strict streams refuse a batch with any invalid record (400 listing each); lenient ones queue the valid
 * records and list the invalid ones in the 202.
 *
 * @example
 * export const handler = makeIngestHandler({ registry, queue, clock: systemClock, log: jsonLogger });
 */
export function makeIngestHandler(deps: IngestDeps) {
  const { registry, queue, clock } = deps;
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const compiled = compiledStreams();

  async function app(event: HttpEvent): Promise<HttpResult> {
    const id = pathId(event);
    requireScope(event, `ingest:${id}`);
    requireJson(header(event, 'content-type'));
    const { records, json } = parseRecordsText(bodyText(event), limits);
    const stream = await registry.get(id);
    if (!stream) throw new StreamNotFoundError(id);
    if (stream.state === 'paused') throw new StreamPausedError(id);
    const now = clock.now();
    const prepared = await compiled.for(stream).prepare(records, { now, receivedAt: now });
    const admission = admitBatch(stream.validation, prepared.records, prepared.result);
    if (!admission.admitted) throw new RecordValidationError(admission.issues);
    const { records: accepted, whole } = admission;
    // the batch's own text is queued only when it is what is stored: valid throughout and not processed
    await queue.send([
      { streamId: id, receivedAt: now, source: 'http', records: accepted, ...(whole && !prepared.processed && { recordsJson: json }), ...(prepared.filtered > 0 && { filtered: prepared.filtered }) },
    ]);
    return jsonResponse(202, { accepted: accepted.length, ...(prepared.filtered > 0 && { filtered: prepared.filtered }), ...(!whole && { rejected: admission.issues }) });
  }

  return middy<HttpEvent, HttpResult>().use(problemErrors(deps.log)).handler(app);
}
