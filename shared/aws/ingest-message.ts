import * as z from 'zod';
import { BadRequestError, PayloadTooLargeError } from '../domain/errors';
import { STREAM_ID, toIssues } from '../domain/stream-names';
import type { EventAttributes } from '../domain/events';
import type { IngestEnvelope } from '../ports';

/**
 * The bodies of ingest-queue messages, in both shapes the writer receives from SQS:
 *
 * - an `IngestEnvelope` as JSON, sent by `SqsIngestQueue` (HTTP ingest, pulls);
 * - the message of the AWS IoT topic rule
 *   `SELECT encode(*, 'base64') AS payload, topic(2) AS streamId, clientid() AS deviceId, timestamp() AS receivedAt FROM 'tributary/+/data'`,
 *   whose payload is the device's MQTT payload in base64 (so a payload that is not JSON still reaches the
 *   writer and is counted, instead of being dropped by the rule).
 *
 * Decoding never throws: a body that cannot be read comes back as `{ ok: false, reason }`, with the
 * stream id when it could be read, so the writer can count it against the stream.
 *
 * @example
 * const body = encodeEnvelope({ streamId: 'freezers', receivedAt: 1767225600000, source: 'http', records: [{ t: 1 }] });
 * decodeQueueMessage(body); // { ok: true, envelope: { streamId: 'freezers', … } }
 */

/**
 * A decoded queue message: its envelope, or why it could not be read.
 *
 * @example
 * const m: DecodedQueueMessage = { ok: false, streamId: 'freezers', reason: 'the MQTT payload is not JSON' };
 */
export type DecodedQueueMessage = { ok: true; envelope: IngestEnvelope } | { ok: false; streamId?: string; reason: string };

const MAX_TIME_MS = 8.64e15;

const EnvelopeSchema = z.strictObject({
  streamId: z.string().regex(STREAM_ID, 'must be a stream id'),
  receivedAt: z.number().int().min(0).max(MAX_TIME_MS),
  source: z.enum(['http', 'mqtt', 'pull']),
  deviceId: z.string().min(1).max(256).optional(),
  filtered: z.number().int().min(1).max(1e9).optional(),
  event: z
    .strictObject({
      requestId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
      offset: z.number().int().min(0),
      metadata: z.record(z.string(), z.unknown()).optional(),
      eventTime: z.number().int().min(0).max(MAX_TIME_MS).optional(),
      validTime: z.number().int().min(0).max(MAX_TIME_MS).optional(),
      eventTimeKey: z.string().min(1).max(128).optional(),
      validTimeKey: z.string().min(1).max(128).optional(),
      ttlMs: z.number().int().min(1),
      archive: z.boolean(),
    })
    .optional(),
  files: z.literal(true).optional(),
  records: z.array(z.unknown()),
});

const IotRuleMessageSchema = z.object({
  payload: z.string(),
  streamId: z.string().regex(STREAM_ID, 'must be a stream id'),
  deviceId: z.string().max(256).optional(),
  receivedAt: z.number().int().min(0).max(MAX_TIME_MS),
});

/** SQS takes only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF (SendMessageBatch
 * API reference). `JSON.stringify` escapes controls and lone surrogates but leaves U+FFFE and U+FFFF. */
const NOT_FOR_SQS = /[\uFFFE\uFFFF]/;
const NOT_FOR_SQS_ALL = /[\uFFFE\uFFFF]/g;
const sqsSafe = (json: string): string =>
  NOT_FOR_SQS.test(json) ? json.replace(NOT_FOR_SQS_ALL, (c) => `\\u${c.charCodeAt(0).toString(16)}`) : json;

function header(e: IngestEnvelope, offset = 0): string {
  const head = {
    streamId: e.streamId,
    receivedAt: e.receivedAt,
    source: e.source,
    ...(e.deviceId !== undefined && { deviceId: e.deviceId }),
    ...(e.filtered !== undefined && e.filtered > 0 && { filtered: e.filtered }),
    // a message's events know their place in the request: their ids stay the request's positions
    ...(e.event !== undefined && { event: { ...e.event, offset: e.event.offset + offset } }),
    ...(e.files && { files: true }),
    records: [] as unknown[],
  };
  return sqsSafe(JSON.stringify(head));
}

const recordJson = (r: unknown): string => sqsSafe(JSON.stringify(r) ?? 'null');

/**
 * One envelope as one message body (JSON), whatever its size.
 *
 * @example
 * encodeEnvelope({ streamId: 'freezers', receivedAt: 1767225600000, source: 'http', records: [{ t: -18.5 }] });
 * // '{"streamId":"freezers","receivedAt":1767225600000,"source":"http","records":[{"t":-18.5}]}'
 */
export function encodeEnvelope(envelope: IngestEnvelope): string {
  const head = header(envelope);
  return `${head.slice(0, -2)}${envelope.records.map(recordJson).join(',')}]}`;
}

/**
 * One envelope as message bodies of at most `maxBytes` UTF-8 bytes each: the records are split in order
 * across envelopes that repeat the stream, receive time, source and device. Throws a
 * `PayloadTooLargeError` if a single record cannot fit in a message (ingest validation caps records far
 * below that, so this is a guard, not a path).
 *
 * @example
 * const bodies = encodeEnvelopeMessages(envelope, 256 * 1024);
 * bodies.flatMap((b) => decodeEnvelopeBody(b).records); // envelope.records, in order
 */
export function encodeEnvelopeMessages(envelope: IngestEnvelope, maxBytes: number): string[] {
  const head = header(envelope);
  // the filtered count travels in the first message only, so that it is counted once
  const { filtered: _once, ...rest } = envelope;
  const nextPrefix = (offset: number) => header(rest, offset).slice(0, -2);
  let prefix = head.slice(0, -2);
  const overhead = Buffer.byteLength(head);
  const parts = envelope.records.map(recordJson);
  const bodies: string[] = [];
  let batch: string[] = [];
  let size = overhead;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const bytes = Buffer.byteLength(part);
    if (overhead + bytes > maxBytes) {
      throw new PayloadTooLargeError(`Record ${i} is ${bytes} bytes as JSON; one queue message holds at most ${maxBytes - overhead} bytes of records.`);
    }
    const cost = bytes + (batch.length ? 1 : 0);
    if (size + cost > maxBytes) {
      bodies.push(`${prefix}${batch.join(',')}]}`);
      prefix = nextPrefix(i);
      batch = [];
      size = overhead;
    }
    size += bytes + (batch.length ? 1 : 0);
    batch.push(part);
  }
  if (batch.length || bodies.length === 0) bodies.push(`${prefix}${batch.join(',')}]}`);
  return bodies;
}

/**
 * Reads a body written by `encodeEnvelope`; throws a `BadRequestError` naming each problem.
 *
 * @example
 * decodeEnvelopeBody('{"streamId":"freezers","receivedAt":1767225600000,"source":"http","records":[]}').streamId; // 'freezers'
 */
export function decodeEnvelopeBody(body: string): IngestEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new BadRequestError('The queue message is not JSON.');
  }
  return parseEnvelope(value);
}

function parseEnvelope(value: unknown): IngestEnvelope {
  const r = EnvelopeSchema.safeParse(value);
  if (!r.success) throw new BadRequestError('The queue message is not an ingest envelope.', toIssues(r.error));
  return toEnvelope(r.data);
}

function toEnvelope(data: z.output<typeof EnvelopeSchema>): IngestEnvelope {
  const { deviceId, filtered, event, files, ...rest } = data;
  return { ...rest, ...(deviceId !== undefined && { deviceId }), ...(filtered !== undefined && { filtered }), ...(event !== undefined && { event: eventOf(event) }), ...(files && { files }) };
}

function eventOf(e: NonNullable<z.output<typeof EnvelopeSchema>['event']>): EventAttributes {
  const { metadata, eventTime, validTime, eventTimeKey, validTimeKey, ...rest } = e;
  return {
    ...rest,
    ...(metadata !== undefined && { metadata }),
    ...(eventTime !== undefined && { eventTime }),
    ...(validTime !== undefined && { validTime }),
    ...(eventTimeKey !== undefined && { eventTimeKey }),
    ...(validTimeKey !== undefined && { validTimeKey }),
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the IoT topic rule's message: the base64 payload becomes the records (an object is one record,
 * an array is its elements, any other JSON value is one record the writer's validation refuses), the
 * topic's stream id, the MQTT client id as device id, the rule's timestamp as receive time.
 *
 * @example
 * decodeIotRuleMessage({ payload: 'eyJ0IjotMTh9', streamId: 'freezers', deviceId: 'f1', receivedAt: 1767225600000 });
 * // { ok: true, envelope: { streamId: 'freezers', receivedAt: 1767225600000, source: 'mqtt', deviceId: 'f1', records: [{ t: -18 }] } }
 */
export function decodeIotRuleMessage(value: unknown): DecodedQueueMessage {
  const r = IotRuleMessageSchema.safeParse(value);
  if (!r.success) return { ok: false, ...streamIdOf(value), reason: `not an IoT rule message: ${summary(r.error)}` };
  const { payload, streamId, deviceId, receivedAt } = r.data;
  const fail = (reason: string): DecodedQueueMessage => ({ ok: false, streamId, reason });
  if (!BASE64.test(payload)) return fail('the MQTT payload is not valid base64');
  const bytes = Buffer.from(payload, 'base64');
  // read as JSON here (most streams' format); a stream of another `mqttFormat` has the writer decode `payload`
  const { records, problem } = jsonRecords(bytes);
  return {
    ok: true,
    envelope: { streamId, receivedAt, source: 'mqtt', ...(deviceId && { deviceId }), records, unprocessed: true, payload: bytes, ...(problem !== undefined && { payloadProblem: problem }) },
  };
}

function jsonRecords(bytes: Buffer): { records: unknown[]; problem?: string } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { records: [], problem: 'the MQTT payload is not UTF-8 text' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { records: [], problem: `the MQTT payload is not JSON (${text.length} characters)` };
  }
  return { records: Array.isArray(parsed) ? parsed : [parsed] };
}

/**
 * Reads any ingest-queue body: an envelope from `SqsIngestQueue` or an IoT topic rule message.
 *
 * @example
 * const decoded = decodeQueueMessage(record.body);
 * if (!decoded.ok) log.info('unreadable message', { streamId: decoded.streamId, reason: decoded.reason });
 */
export function decodeQueueMessage(body: string): DecodedQueueMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'the message body is not JSON' };
  }
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, 'payload')) return decodeIotRuleMessage(value);
  const r = EnvelopeSchema.safeParse(value);
  return r.success ? { ok: true, envelope: toEnvelope(r.data) } : { ok: false, ...streamIdOf(value), reason: `not an ingest envelope: ${summary(r.error)}` };
}

function streamIdOf(value: unknown): { streamId?: string } {
  const id = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).streamId : undefined;
  return typeof id === 'string' && STREAM_ID.test(id) ? { streamId: id } : {};
}

function summary(error: z.ZodError): string {
  return toIssues(error)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
