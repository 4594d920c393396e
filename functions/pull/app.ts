import middy from '@middy/core';
import { admitBatch } from '../../shared/domain/admission';
import { AppendToDerivedStreamNotAllowedError, BackPressureError, QueueUnavailableError, StreamConflictError, StreamNotFoundError, StreamPausedError, type Issue } from '../../shared/domain/errors';
import { PullFailedError, SecretUnavailableError, type PullErrorCode } from '../../shared/domain/pull-errors';
import { redactSecrets, secretNames, type PullSource, type TargetPolicy } from '../../shared/domain/pull-source';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Clock, IngestQueue, PullErrorInfo, PullOutcome, PullState, PullStateStore, SecretSource, StreamRegistry } from '../../shared/ports';
import { requireScope } from '../commons/auth';
import { compiledStreams } from '../commons/compiled';
import { noMeter, type Meter } from '../commons/meter';
import { pathId, problemErrors, type HttpEvent, type HttpResult, type Logger } from '../commons/http';
import { jsonResponse } from '../commons/problem';
import { pullApi, type Pulled } from './api-source';
import { BacnetReader } from './bacnet-source';
import { pullDatabase } from './database-source';
import { pullModbus } from './modbus-source';
import { dedupe } from './dedupe';

export interface PullRunnerDeps {
  registry: StreamRegistry;
  queue: IngestQueue;
  state: PullStateStore;
  secrets: SecretSource;
  clock: Clock;
  log: Logger;
  /** Counts PullRuns, PullFailures, AcceptedRecords and RefusedRecords per stream. */
  meter?: Meter;
  /** A runtime option, never a stream field: lets pulls reach 127.0.0.0/8 and ::1 (the local runtime sets it). */
  allowLoopback?: boolean;
  /** Reads `bacnet` sources: the process's one BACnet/IP client (default one on port 47808, opened on first use). */
  bacnet?: BacnetReader;
}

export type PullTrigger = 'schedule' | 'manual';

/** What one run did: the answer of `POST /v1/streams/{id}/pull`, and a log line. */
export interface PullResult {
  streamId: string;
  trigger: PullTrigger;
  status: 'succeeded' | 'failed' | 'skipped';
  startedAt: string;
  durationMs: number;
  /** Records the source gave (after the transform). */
  pulled: number;
  /** Records put on the ingest queue. */
  enqueued: number;
  /** Records dropped as already sent. */
  deduped: number;
  /** Records that failed the schema (lenient streams send the rest). */
  invalid: number;
  cursorBefore?: string | number | null;
  cursorAfter?: string | number | null;
  error?: { code: string; message: string };
  /** The first schema problems of pulled records. */
  issues?: Issue[];
}

type Counts = Pick<PullResult, 'pulled' | 'enqueued' | 'deduped' | 'invalid'>;

const MAX_LISTED_ISSUES = 20;
/** How long a run may hold its stream's lease beyond its own timeouts (a crashed run frees it then). */
const LEASE_MARGIN_MS = 30_000;

/**
 * Runs pulls: reads the stream and its pull state, resolves secrets, asks the source (HTTP with paging,
 * PostgreSQL with `$1` = the cursor, or a device polled over Modbus TCP or BACnet/IP), transforms, validates against the schema, drops records already sent,
 * and queues the rest (`source: 'pull'`). Only then does the state move: cursor, dedupe memory, counters.
 * A failure at any step writes nothing and keeps the cursor, so a crash re-pulls and never skips; its code
 * and message go to the stream's status. One run per stream at a time (a lease in the state).
 *
 * @example
 * const runPull = makePullRunner({ registry, queue, state, secrets, clock: systemClock, log: jsonLogger });
 * const result = await runPull('vendor-readings', 'manual');
 */
export function makePullRunner(deps: PullRunnerDeps) {
  const { registry, queue, state, secrets, clock, log } = deps;
  const meter = deps.meter ?? noMeter;
  const compiled = compiledStreams();
  let bacnet = deps.bacnet;

  return async function runPull(streamId: string, trigger: PullTrigger): Promise<PullResult> {
    const stream = await registry.get(streamId);
    if (!stream) throw new StreamNotFoundError(streamId);
    const source = stream.source;
    if (!source) throw new StreamConflictError(`Stream '${streamId}' is of type ${stream.type} and has no source; only api_pull and database streams, and iot_sensor streams polled from a device, pull.`);
    if (stream.state === 'paused') throw new StreamPausedError(streamId);
    if (stream.deriveOp) throw new AppendToDerivedStreamNotAllowedError(streamId);
    const started = clock.now();
    const base = { streamId, trigger, startedAt: new Date(started).toISOString() };
    const pages = source.kind === 'api_pull' ? (source.paging?.maxPages ?? 1) : 1;
    if (!(await state.acquire(streamId, started, started + source.timeoutMs * (pages + 1) + LEASE_MARGIN_MS))) {
      return { ...base, status: 'skipped', durationMs: 0, pulled: 0, enqueued: 0, deduped: 0, invalid: 0, error: { code: 'pull.running', message: 'another pull of this stream is running' } };
    }
    const previous = await state.get(streamId);
    const cursorBefore = source.kind === 'database' ? (previous?.cursor !== undefined ? previous.cursor : source.initialCursor) : undefined;
    const counts: Counts = { pulled: 0, enqueued: 0, deduped: 0, invalid: 0 };
    const resolved: Record<string, string> = {};
    let outcome: PullOutcome;
    let result: PullResult;
    try {
      const pulled = await pull(stream, source, cursorBefore, resolved, started);
      counts.pulled = pulled.records.length;
      const sent = await validateAndSend(stream, pulled.records, previous, started, counts);
      const cursorAfter = pulled.cursor === undefined ? cursorBefore : pulled.cursor;
      outcome = { ok: true, at: clock.now(), ...(source.kind === 'database' && { cursor: cursorAfter }), seen: sent.seen, ...counts };
      result = { ...base, status: 'succeeded', durationMs: clock.now() - started, ...counts, ...(source.kind === 'database' && { cursorBefore, cursorAfter }), ...(sent.issues.length > 0 && { issues: sent.issues }) };
    } catch (err) {
      // the status and the logs keep the message: no secret the run resolved may stand in it
      const error = toErrorInfo(err, clock.now());
      error.message = redactSecrets(error.message, resolved);
      if (error.code === 'internal') log.error('pull failed', { streamId, error: (err as Error)?.name, reason: redactSecrets(String((err as Error)?.message), resolved) });
      outcome = { ok: false, at: clock.now(), error, pulled: counts.pulled, invalid: counts.invalid };
      const issues = err instanceof PullFailedError && err.issues.length > 0 ? err.issues : undefined;
      result = {
        ...base,
        status: 'failed',
        durationMs: clock.now() - started,
        ...counts,
        ...(source.kind === 'database' && { cursorBefore, cursorAfter: cursorBefore }),
        error: { code: error.code, message: error.message },
        ...(issues && { issues }),
      };
    }
    await state.finish(streamId, outcome);
    meter.count('PullRuns', 1, streamId);
    if (result.status === 'failed') meter.count('PullFailures', 1, streamId);
    meter.count('AcceptedRecords', result.enqueued, streamId);
    meter.count('RefusedRecords', result.invalid, streamId);
    log.info('pull finished', { streamId, trigger, status: result.status, pulled: result.pulled, enqueued: result.enqueued, deduped: result.deduped, code: result.error?.code });
    return result;
  };

  /** Fills `resolved` with the secrets it reads, so a failure's message can be cleaned of them. */
  async function pull(stream: Stream, source: PullSource, cursor: string | number | null | undefined, resolved: Record<string, string>, now: number): Promise<Pulled> {
    const values = await readSecrets(source);
    Object.assign(resolved, values);
    const policy: TargetPolicy = { allowPrivate: source.allowPrivateTargets, allowLoopback: deps.allowLoopback === true };
    switch (source.kind) {
      case 'api_pull':
        return pullApi(source, values, policy);
      case 'database':
        return pullDatabase(source, values, policy, cursor ?? null);
      case 'modbus_tcp':
        return pullModbus(source, stream, policy, now);
      case 'bacnet':
        bacnet ??= new BacnetReader();
        return bacnet.pull(source, stream, policy, now);
    }
  }

  async function readSecrets(source: PullSource): Promise<Record<string, string>> {
    const names = secretNames(source);
    if (names.length === 0) return {};
    try {
      return await secrets.get(names);
    } catch (err) {
      if (err instanceof SecretUnavailableError) throw new PullFailedError('secret.unavailable', err.message, { cause: err });
      throw err;
    }
  }

  /**
   * Validates, dedupes and queues. Strict streams refuse the run when any record is invalid; lenient ones
   * send the valid records, and refuse it when none is valid (`admitBatch`). Returns the dedupe memory to store.
   */
  async function validateAndSend(stream: Stream, records: unknown[], previous: PullState | undefined, now: number, c: Counts) {
    const prepared = await compiled.for(stream).prepare(records, { now, receivedAt: now });
    const checked = prepared.result;
    const issues = checked.issues.slice(0, MAX_LISTED_ISSUES);
    c.invalid = checked.invalid;
    const admission = admitBatch(stream.validation, prepared.records, checked);
    if (!admission.admitted) {
      const first = admission.issues[0]!;
      const why = stream.validation === 'strict' ? 'strict stream' : 'none is valid';
      throw new PullFailedError('records.invalid', `${checked.invalid} pulled records fail the schema (${why}, nothing sent); record ${first.index}: ${first.path.join('.') || '(root)'}: ${first.message}`, { issues });
    }
    const valid = admission.records;
    const times = checked.points.map((p) => p.time);
    const keyFields = stream.source?.dedupe?.key;
    const kept = keyFields ? dedupe(valid, times, keyFields, previous?.seen ?? {}) : { keep: valid.map((_, i) => i), deduped: 0, seen: previous?.seen ?? {} };
    const toSend = kept.keep.map((i) => valid[i]);
    c.deduped = kept.deduped;
    if (toSend.length > 0 || prepared.filtered > 0) {
      try {
        await queue.send([{ streamId: stream.id, receivedAt: now, source: 'pull', records: toSend, ...(prepared.filtered > 0 && { filtered: prepared.filtered }) }]);
      } catch (err) {
        if (err instanceof QueueUnavailableError || err instanceof BackPressureError) {
          throw new PullFailedError('queue.unavailable', `the records could not be queued (${err.message}); the next run pulls them again`, { cause: err });
        }
        throw err;
      }
    }
    c.enqueued = toSend.length;
    return { seen: kept.seen, issues };
  }
}

function toErrorInfo(err: unknown, at: number): PullErrorInfo {
  const iso = new Date(at).toISOString();
  if (err instanceof PullFailedError) return { at: iso, code: err.code, message: err.message };
  const code: PullErrorCode | 'internal' = 'internal';
  return { at: iso, code, message: 'the pull failed on our side; it is retried on the next run' };
}

export interface PullHttpDeps {
  runPull: ReturnType<typeof makePullRunner>;
  log: Logger;
}

/**
 * `POST /v1/streams/{id}/pull` (admin): runs a pull now and answers what it did. A pull that fails at the
 * source still answers 200, with `status: "failed"` and the error; 409 when the stream does not pull, is
 * paused, or is being pulled right now.
 *
 * @example
 * export const handler = makePullHttpHandler({ runPull, log: jsonLogger });
 */
export function makePullHttpHandler(deps: PullHttpDeps) {
  async function app(event: HttpEvent): Promise<HttpResult> {
    const id = pathId(event);
    requireScope(event, 'admin');
    const result = await deps.runPull(id, 'manual');
    if (result.status === 'skipped') throw new StreamConflictError(`A pull of stream '${id}' is running; try again when it has finished.`);
    return jsonResponse(200, result);
  }
  return middy<HttpEvent, HttpResult>().use(problemErrors(deps.log)).handler(app);
}
