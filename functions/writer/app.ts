import { StoreUnavailableError, StreamConflictError, TributaryError } from '../../shared/domain/errors';
import type { Datapoint } from '../../shared/domain/validate-record';
import { applyPatch, type FieldSpec, type Stream } from '../../shared/domain/stream-definition';
import { storedEvents, type StoredEvent } from '../../shared/domain/events';
import type { AlertEvaluator, Clock, EventSink, IngestEnvelope, LiveFanout, PointStore, ReceiptLedger, ReceiptSigner, RejectedPoint, StatsDelta, StreamRegistry } from '../../shared/ports';
import { DEFAULT_LIMITS } from '../commons/body';
import { compiledStreams } from '../commons/compiled';
import { latencyBins } from '../../shared/domain/stream-health';
import { decodeMqttPayload } from '../commons/formats/mqtt-payload';
import { batchContent, formNames, nextReceipt } from '../commons/receipt-hash';
import type { Logger } from '../commons/http';
import { deriveAfterWrite } from './derive';

/** A queue message, decoded; `envelope` is missing when the body could not be read. */
export interface QueueMessage {
  id: string;
  envelope?: IngestEnvelope;
  /** Why the body could not be decoded (counted on the stream when its id is known). */
  invalid?: { streamId?: string; reason: string };
}

export interface WriterDeps {
  registry: StreamRegistry;
  store: PointStore;
  clock: Clock;
  log: Logger;
  /**
   * Alert rules, evaluated once per stream and batch after every stream of the batch is written; a failure
   * there is logged, never retried.
   */
  alerts?: AlertEvaluator;
  /** Where an `event_stream`'s events are kept whole (metadata, both times), before their points are written. */
  events?: EventSink;
  /**
   * Where each stream's part of a batch gets its receipt once stored (points and events alike), chained to
   * the stream's previous one; a failure there sends the batch back (its records are written again, the
   * same, and receipted then).
   */
  receipts?: ReceiptLedger;
  /** What signs each receipt's chain hash (KMS in AWS, the data dir's key locally); unsigned without it. */
  signer?: ReceiptSigner;
  /**
   * Live subscriptions: each stream's stored points once the batch is stored, before its alert rules. The
   * fan-out bounds its own time and never throws; a failure there is logged, never retried.
   */
  live?: LiveFanout;
}

export interface WriteSummary {
  /** Messages to deliver again (the store was unavailable for their stream). */
  failedIds: string[];
  written: number;
  invalid: number;
  rejected: number;
  /** The same counts per stream, and how long the oldest of its records waited from receipt to stored. */
  streams: Record<string, StreamSummary>;
}

export interface StreamSummary {
  written: number;
  invalid: number;
  rejected: number;
  latencyMs?: number;
}

/** A stream's part of a batch once stored: what its alert rules see. */
interface Written {
  stream: Stream;
  points: Datapoint[];
  rejected: RejectedPoint[];
}

/** Samples of refused records kept per batch and stream (the counts are exact). */
const MAX_SAMPLES = 20;

/**
 * Writes a batch of queue messages: per stream, one registry read, one validation pass over every record
 * of the batch, one store write (the store chunks and parallelizes it), one receipt, and one stats update; then, once
 * all streams are written, their alert rules.
 * Records that fail validation here (MQTT in AWS is only validated now) are counted, not retried.
 *
 * @example
 * const writeBatch = makeWriter({ registry, store, clock: systemClock, log: jsonLogger });
 * const { failedIds } = await writeBatch(messages);
 */
export function makeWriter(deps: WriterDeps) {
  const { registry, store, clock, log } = deps;
  const compiled = compiledStreams();

  return async function writeBatch(messages: QueueMessage[]): Promise<WriteSummary> {
    const summary: WriteSummary = { failedIds: [], written: 0, invalid: 0, rejected: 0, streams: {} };
    const byStream = new Map<string, QueueMessage[]>();
    for (const m of messages) {
      const streamId = m.envelope?.streamId ?? m.invalid?.streamId;
      if (streamId === undefined) {
        summary.invalid++;
        log.error('unreadable queue message dropped', { messageId: m.id, reason: m.invalid?.reason });
        continue;
      }
      const list = byStream.get(streamId);
      if (list) list.push(m);
      else byStream.set(streamId, [m]);
    }
    const written: Written[] = [];
    await Promise.all(
      [...byStream].map(async ([streamId, group]) => {
        try {
          const w = await writeStream(streamId, group, summary, written);
          if (w) written.push(w);
        } catch (err) {
          if (!(err instanceof StoreUnavailableError)) log.error('write failed', { streamId, error: (err as Error).name, reason: (err as Error).message });
          for (const m of group) summary.failedIds.push(m.id);
        }
      }),
    );
    if (deps.live) await Promise.all(written.map((w) => publishLive(deps.live!, w)));
    // rules only once every stream of the batch is stored: one stream's rules never hold up another's write
    if (deps.alerts) await Promise.all(written.map((w) => evaluateAlerts(deps.alerts!, w.stream, w.points, w.rejected)));
    return summary;
  };

  /** Writes one stream's part of the batch; what its derived and window streams got is added to `derived`. */
  async function writeStream(streamId: string, group: QueueMessage[], summary: WriteSummary, derived: Written[]): Promise<Written | undefined> {
    const stream = await registry.get(streamId);
    if (!stream) {
      log.info('records for a deleted stream dropped', { streamId, messages: group.length });
      return undefined;
    }
    const now = clock.now();
    const validator = compiled.for(stream);
    // a stream that learns its schema: the fields this batch's records add, typed once for the whole batch
    const learned: Record<string, FieldSpec> | undefined = stream.learnSchema ? Object.create(null) : undefined;
    const points: Datapoint[] = [];
    const events: StoredEvent[] = [];
    let invalid = 0;
    let filtered = 0;
    let oldest = Infinity;
    /** Each message's receipt time and how many of its records became points: the batch's latency bins. */
    const waits: { receivedAt: number; points: number }[] = [];
    const samples: StatsDelta['samples'] = [];
    for (const m of group) {
      if (!m.envelope) {
        invalid++;
        if (samples.length < MAX_SAMPLES) samples.push({ reason: m.invalid?.reason ?? 'unreadable message' });
        continue;
      }
      if (m.envelope.files && m.envelope.event && deps.events) {
        // a file's parts: events only, as the ingest function made them (their bytes are in the part store)
        const records = m.envelope.records as Record<string, unknown>[];
        for (const ev of storedEvents(records, records.map((_, i) => i), m.envelope.event, m.envelope.receivedAt).events) events.push(ev);
        continue;
      }
      // only an IoT rule message of a stream in another mqttFormat has bytes left to decode: no await otherwise
      const e = m.envelope.payload === undefined ? m.envelope : await readPayload(m.envelope, stream);
      if (e.payloadProblem !== undefined) {
        invalid++;
        if (samples.length < MAX_SAMPLES) samples.push({ reason: e.payloadProblem });
        continue;
      }
      filtered += e.filtered ?? 0;
      if (e.receivedAt < oldest) oldest = e.receivedAt;
      const ctx = { now, receivedAt: e.receivedAt, ...(e.deviceId !== undefined && { deviceId: e.deviceId }), ...(learned && { learned }) };
      // the processing stage runs once per record: at ingest, or here for what reached the queue without it
      const prepared = e.unprocessed && validator.pipeline ? await validator.prepare(e.records, ctx) : undefined;
      const result = prepared?.result ?? validator.validate(e.records, ctx);
      if (prepared) filtered += prepared.filtered;
      for (const p of result.points) points.push(p);
      if (result.points.length) waits.push({ receivedAt: e.receivedAt, points: result.points.length });
      if (e.event && deps.events) {
        // the valid records, whole, with the ids their request positions give (the same on a redelivery)
        const records = (prepared?.records ?? e.records) as Record<string, unknown>[];
        for (const ev of storedEvents(result.indexes.map((i) => records[i]!), result.indexes, e.event, e.receivedAt).events) events.push(ev);
      }
      invalid += result.invalid;
      for (const issue of result.issues) {
        if (samples.length >= MAX_SAMPLES) break;
        samples.push({ reason: `${issue.path.join('.') || 'record'}: ${issue.message}`, record: e.records[issue.index ?? 0] });
      }
    }
    if (events.length) await deps.events!.put(streamId, events);
    const target = learned && points.length && Object.keys(learned).length ? await addLearnedFields(stream, learned, now) : stream;
    const result = points.length ? await store.write(target, points) : { written: 0, rejected: [] };
    // derived and window streams get their live messages and alert rules like the stream they come from
    if (result.written > 0) for (const d of await deriveAfterWrite(deps, target, points)) derived.push({ ...d, rejected: [] });
    for (const r of result.rejected) {
      if (samples.length >= MAX_SAMPLES) break;
      samples.push({ reason: r.reason, record: points[r.index] });
    }
    const newest = newestWritten(points, result.rejected);
    const storedAt = clock.now();
    // the store's refusals are spread over the batch's messages: the waits count what was taken, in proportion
    const taken = points.length ? result.written / points.length : 0;
    const health = latencyBins(waits.map((w) => ({ ms: storedAt - w.receivedAt, points: w.points * taken })));
    await registry.addStats(streamId, { at: now, points: result.written, invalid, rejected: result.rejected.length, ...(filtered > 0 && { filtered }), samples, ...(newest !== undefined && { newestPointAt: newest }), health });
    // the receipt last, once the counters are in (they are at least once, as every counter: a batch sent back
    // because its receipt could not be kept counts again), before the message is acknowledged
    if (deps.receipts && (events.length || result.written > 0)) {
      const refused = new Set(result.rejected.map((r) => r.index));
      const content = batchContent(refused.size ? points.filter((_, i) => !refused.has(i)) : points, events, formNames(target));
      await deps.receipts.append(streamId, content, async (head) => {
        const receipt = nextReceipt(head, content, clock.now());
        return deps.signer ? { ...receipt, ...(await deps.signer.sign(receipt.chain)) } : receipt;
      });
    }
    summary.written += result.written;
    summary.invalid += invalid;
    summary.rejected += result.rejected.length;
    summary.streams[streamId] = {
      written: result.written,
      invalid,
      rejected: result.rejected.length,
      ...(result.written > 0 && Number.isFinite(oldest) && { latencyMs: Math.max(0, clock.now() - oldest) }),
    };
    return result.written > 0 ? { stream: target, points, rejected: result.rejected } : undefined;
  }

  /**
   * Adds the fields a batch's records brought to a learning stream before its points are stored (the store
   * makes their columns from the schema). Another writer adding fields at the same moment wins the race:
   * this batch is delivered again and validated against what that one stored.
   */
  async function addLearnedFields(stream: Stream, learned: Record<string, FieldSpec>, now: number): Promise<Stream> {
    const next = applyPatch(stream, { schema: { ...learned } }, new Date(now));
    try {
      await registry.update(next);
    } catch (err) {
      if (err instanceof StreamConflictError) throw new StoreUnavailableError(`Stream '${stream.id}' changed while this batch added fields to it; the batch is delivered again.`, { cause: err });
      throw err;
    }
    log.info('stream learned fields', { streamId: stream.id, fields: Object.keys(learned), version: next.version });
    return next;
  }

  /**
   * An IoT rule message's records in the stream's `mqttFormat`: JSON was read when the message was; any other
   * format is decoded here, where the stream is known. A payload that does not decode is one invalid message.
   */
  async function readPayload(e: IngestEnvelope, stream: Stream): Promise<IngestEnvelope> {
    const format = stream.mqttFormat ?? 'json';
    if (e.payload === undefined || format === 'json') return e;
    try {
      const { payloadProblem: _json, ...rest } = e;
      return { ...rest, records: (await decodeMqttPayload(e.payload, stream, DEFAULT_LIMITS)).records };
    } catch (err) {
      if (!(err instanceof TributaryError)) throw err;
      return { ...e, records: [], payloadProblem: `the MQTT payload is not ${format}: ${err.message}` };
    }
  }

  /** The stored points only, as the alert rules see them; a fan-out failure must not send the batch back. */
  async function publishLive(live: LiveFanout, w: Written): Promise<void> {
    const refused = new Set(w.rejected.map((r) => r.index));
    try {
      await live.publishPoints(w.stream, refused.size ? w.points.filter((_, i) => !refused.has(i)) : w.points);
    } catch (err) {
      log.error('live fan-out failed', { streamId: w.stream.id, error: (err as Error).name, reason: (err as Error).message });
    }
  }

  /** The written points only; an alert failure must not send the batch back (it is written). */
  async function evaluateAlerts(alerts: AlertEvaluator, stream: Stream, points: Datapoint[], rejected: RejectedPoint[]): Promise<void> {
    const refused = new Set(rejected.map((r) => r.index));
    const written = refused.size ? points.filter((_, i) => !refused.has(i)) : points;
    try {
      await alerts.evaluate(stream, written);
    } catch (err) {
      log.error('alert evaluation failed', { streamId: stream.id, error: (err as Error).name, reason: (err as Error).message });
    }
  }
}

/** The time of the newest point the store took, for the stream's newest (`check_timestamp`). */
function newestWritten(points: readonly Datapoint[], rejected: readonly { index: number }[]): number | undefined {
  const refused = new Set(rejected.map((r) => r.index));
  let newest: number | undefined;
  points.forEach((p, i) => {
    if (!refused.has(i) && (newest === undefined || p.time > newest)) newest = p.time;
  });
  return newest;
}
