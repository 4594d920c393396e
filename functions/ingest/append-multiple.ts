import { admitBatch } from '../../shared/domain/admission';
import { checkTimestampParam } from '../../shared/domain/check-timestamp';
import { AppendToDerivedStreamNotAllowedError, BadRequestError, ForbiddenError, PayloadTooLargeError, RecordValidationError, StreamNotFoundError, StreamPausedError, TributaryError, type Issue } from '../../shared/domain/errors';
import { findUnsafeJson } from '../../shared/domain/json-safety';
import { STREAM_ID } from '../../shared/domain/stream-names';
import type { Clock, IngestEnvelope, IngestQueue, StreamRegistry } from '../../shared/ports';
import { allows, callerScopes } from '../commons/auth';
import { parseJsonBody, requireJson, type BodyLimits } from '../commons/body';
import type { compiledStreams } from '../commons/compiled';
import { decodedBodyText } from '../commons/formats/decode-records';
import { header, type HttpEvent, type HttpResult } from '../commons/http';
import type { Meter } from '../commons/meter';
import { jsonResponse, toProblem } from '../commons/problem';
import { claimTimestamps, releaseClaims, type TimestampClaim } from './timestamps';

export interface AppendMultipleDeps {
  registry: StreamRegistry;
  queue: IngestQueue;
  clock: Clock;
  limits: BodyLimits;
  compiled: ReturnType<typeof compiledStreams>;
  meter: Meter;
}

/** One stream's part of the request: its records in the order they came, each entry's `checkTimestamp` or'ed. */
interface Group {
  streamId: string;
  records: unknown[];
  checkTimestamp: boolean;
}

type StreamResult = { streamId: string; status: 202; accepted: number; filtered?: number; rejected?: Issue[] } | { streamId: string; status: number; problem: ReturnType<typeof toProblem>['problem'] };

/** Streams one request may name. */
export const MAX_STREAMS_PER_REQUEST = 100;

/**
 * `POST /v1/streams/data`, the datastream document's `append_multiple`: records of several streams in one
 * request, `[{streamId, records, checkTimestamp?}]` (`records` one record or an array; a stream named twice
 * gets both entries' records, in order). Each stream is taken or refused on its own, as
 * `POST /v1/streams/{id}/data` would: its token scope, its schema and validation mode, its pause, its
 * `checkTimestamp`. The taken ones are queued together, and the answer comes once they are durable: 202
 * when every stream was taken, else 207; `results` has one entry per stream, in the order first named, with
 * its own `status` and `accepted`/`rejected` or `problem`. A queue failure refuses the whole request
 * (503/429, nothing acknowledged); a retry stores nothing twice (points are idempotent by series and time).
 *
 * @example
 * const appendMultiple = makeAppendMultiple({ registry, queue, clock, limits, compiled, meter });
 * return appendMultiple(event);
 */
export function makeAppendMultiple(deps: AppendMultipleDeps) {
  const { registry, queue, clock, limits, compiled, meter } = deps;

  return async function appendMultiple(event: HttpEvent): Promise<HttpResult> {
    requireJson(header(event, 'content-type'));
    const groups = parse(parseJsonBody(await decodedBodyText(event, limits.maxBytes), limits), limits);
    const scopes = callerScopes(event) ?? [];
    const now = clock.now();
    const results: StreamResult[] = [];
    const envelopes: IngestEnvelope[] = [];
    const claims: (TimestampClaim | undefined)[] = [];
    const refused = (streamId: string, err: unknown): StreamResult => {
      const { problem, internal } = toProblem(err);
      if (internal) throw err; // a store failure fails the request: nothing is acknowledged
      return { streamId, status: problem.status, problem };
    };
    try {
      for (const group of groups) {
        try {
          if (!allows(scopes, `ingest:${group.streamId}`)) throw new ForbiddenError(`ingest:${group.streamId}`);
          const stream = await registry.get(group.streamId);
          if (!stream) throw new StreamNotFoundError(group.streamId);
          if (stream.state === 'paused') throw new StreamPausedError(stream.id);
          if (stream.deriveOp) throw new AppendToDerivedStreamNotAllowedError(stream.id);
          // an event's metadata and times come from its request's headers: one event stream per request
          if (stream.type === 'event_stream') throw new BadRequestError(`Stream '${stream.id}' is an event_stream: send its events to its own data or webhook URL, with their headers.`);
          const prepared = await compiled.for(stream).prepare(group.records, { now, receivedAt: now });
          const admission = admitBatch(stream.validation, prepared.records, prepared.result);
          if (!admission.admitted) throw new RecordValidationError(admission.issues);
          if (group.checkTimestamp) claims.push(await claimTimestamps(registry, stream, prepared.result.points, prepared.result.indexes, (i) => i));
          envelopes.push({ streamId: stream.id, receivedAt: now, source: 'http', records: admission.records, ...(prepared.filtered > 0 && { filtered: prepared.filtered }) });
          meter.count('AcceptedRecords', admission.records.length, stream.id);
          results.push({
            streamId: stream.id,
            status: 202,
            accepted: admission.records.length,
            ...(prepared.filtered > 0 && { filtered: prepared.filtered }),
            ...(!admission.whole && { rejected: admission.issues }),
          });
        } catch (err) {
          if (!(err instanceof TributaryError)) throw err;
          meter.count('RefusedRecords', group.records.length, group.streamId);
          results.push(refused(group.streamId, err));
        }
      }
      if (envelopes.length > 0) await queue.send(envelopes);
    } catch (err) {
      await releaseClaims(registry, claims);
      throw err;
    }
    return jsonResponse(results.every((r) => r.status === 202) ? 202 : 207, { results });
  };
}

/** The body as groups of one stream each; a body of another shape is a 400 listing each problem. */
function parse(body: unknown, limits: BodyLimits): Group[] {
  const unsafe = findUnsafeJson(body);
  if (unsafe) throw new BadRequestError('Invalid body.', [unsafe]);
  if (!Array.isArray(body) || body.length === 0) throw new BadRequestError('Invalid body.', [{ path: [], message: 'must be a non-empty array of {streamId, records}' }]);
  const groups = new Map<string, Group>();
  const issues: Issue[] = [];
  let total = 0;
  body.forEach((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return void issues.push({ path: [i], message: 'must be an object {streamId, records, checkTimestamp?}' });
    const { streamId, records, checkTimestamp, ...rest } = entry as Record<string, unknown>;
    for (const key of Object.keys(rest)) issues.push({ path: [i, key], message: 'is not a member of an entry: streamId, records, checkTimestamp' });
    if (typeof streamId !== 'string' || !STREAM_ID.test(streamId)) issues.push({ path: [i, 'streamId'], message: 'must be a stream id' });
    if (typeof records !== 'object' || records === null) issues.push({ path: [i, 'records'], message: 'must be a record or an array of records' });
    let check = false;
    try {
      check = checkTimestampParam(checkTimestamp, [i, 'checkTimestamp']);
    } catch (err) {
      issues.push(...(err as BadRequestError).issues);
    }
    if (issues.length > 0 || typeof streamId !== 'string') return;
    const list = Array.isArray(records) ? records : [records];
    total += list.length;
    const group = groups.get(streamId) ?? { streamId, records: [], checkTimestamp: false };
    group.records.push(...list);
    group.checkTimestamp ||= check;
    groups.set(streamId, group);
  });
  if (issues.length > 0) throw new BadRequestError('Invalid body.', issues);
  if (groups.size > MAX_STREAMS_PER_REQUEST) throw new BadRequestError('Invalid body.', [{ path: [], message: `names ${groups.size} streams; at most ${MAX_STREAMS_PER_REQUEST} a request` }]);
  if (total > limits.maxRecords) throw new PayloadTooLargeError(`The body holds ${total} records; a request carries at most ${limits.maxRecords}.`);
  return [...groups.values()];
}
