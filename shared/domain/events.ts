import { parseTimestamp } from './datetime';
import { BadRequestError, RecordValidationError, type Issue } from './errors';
import { parseDuration } from './durations';
import { EVENT_TYPE_FIELD } from './stream-sections';

/**
 * Events as webhook senders send them (the Flowcore ingestion document): besides its data, an event has
 * metadata (`x-flowcore-metadata-json`, base64 of a JSON object; also `x-tributary-metadata`), an event time
 * (when Tributary ingested it, unless `x-flowcore-event-time` says otherwise) and a valid time (when it
 * holds from: the event time unless `x-flowcore-valid-time` says otherwise). In a batch,
 * `x-flowcore-event-time-key` / `x-flowcore-valid-time-key` name the field of each event that holds it.
 * The metadata's `ttl-on/stored-event` (`30s`, `2h`, `7d`; at most 7 days) says how long the event stays in
 * hot storage, and `do-not-archive-on/stored-event: true` that it is not archived after.
 *
 * @example
 * const attrs = eventAttributes((name) => event.headers[name], { requestId: 'r1', receivedAt: now });
 * const events = storedEvents('orders', records, attrs, now); // [{ id: 'r1.0', eventTime, validTime, … }]
 */

/** The headers a webhook sender may set on a request (lower case, as HTTP/2 and API Gateway give them). */
export const EVENT_HEADERS = {
  metadata: 'x-flowcore-metadata-json',
  metadataAlias: 'x-tributary-metadata',
  eventTime: 'x-flowcore-event-time',
  validTime: 'x-flowcore-valid-time',
  eventTimeKey: 'x-flowcore-event-time-key',
  validTimeKey: 'x-flowcore-valid-time-key',
  /** The event type of every event of the request, as a Flowcore webhook URL is for one event type. */
  eventType: 'x-tributary-event-type',
} as const;

export const TTL_KEY = 'ttl-on/stored-event';
export const NO_ARCHIVE_KEY = 'do-not-archive-on/stored-event';
/** Hot storage keeps an event at most this long (the document's limit). */
export const MAX_HOT_TTL_MS = 7 * 86_400_000;
/** Without a `ttl-on/stored-event`, an event stays hot this long. */
export const DEFAULT_HOT_TTL_MS = MAX_HOT_TTL_MS;
/** The largest metadata object a request may carry, as JSON. */
export const MAX_METADATA_BYTES = 16_384;

/** What one request says of its events; it travels with them through the queue. */
export interface EventAttributes {
  /** Unique per accepted request: event ids are `<requestId>.<position>`, the same on every redelivery. */
  requestId: string;
  /** The position in the request of the first of these records (a request split into several messages). */
  offset: number;
  metadata?: Record<string, unknown>;
  eventTime?: number;
  validTime?: number;
  eventTimeKey?: string;
  validTimeKey?: string;
  /** How long the events stay in hot storage. */
  ttlMs: number;
  /** `false`: ephemeral, gone for good after the TTL. */
  archive: boolean;
}

/** An event as the event store keeps it. */
export interface StoredEvent {
  id: string;
  /** Epoch ms: when Tributary ingested it (or the sender said so). */
  eventTime: number;
  /** Epoch ms: when it holds from. */
  validTime: number;
  metadata?: Record<string, unknown>;
  data: Record<string, unknown>;
  /** Epoch ms: when it leaves hot storage. */
  hotUntil: number;
  archive: boolean;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const FIELD_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/**
 * A request's event attributes from its headers; throws a `BadRequestError` naming each bad header.
 *
 * @example
 * eventAttributes((h) => ({ 'x-flowcore-valid-time': '2026-01-01T00:00:00Z' })[h], { requestId: 'r1', receivedAt: Date.now() });
 */
export function eventAttributes(header: (name: string) => string | undefined, at: { requestId: string; receivedAt: number }): EventAttributes {
  const issues: Issue[] = [];
  const issue = (name: string, message: string) => issues.push({ path: ['headers', name], message });
  const metadataName = header(EVENT_HEADERS.metadata) !== undefined ? EVENT_HEADERS.metadata : EVENT_HEADERS.metadataAlias;
  const metadata = metadataOf(header(metadataName), (m) => issue(metadataName, m));
  const time = (name: string): number | undefined => {
    const text = header(name);
    if (text === undefined) return undefined;
    const t = /^\d{4}-\d{2}-\d{2}T/.test(text.trim()) ? parseTimestamp(text.trim()) : undefined;
    if (t === undefined) issue(name, 'must be an ISO 8601 timestamp with a time zone, such as 2026-12-04T10:00:00Z');
    return t;
  };
  const key = (name: string): string | undefined => {
    const text = header(name)?.trim();
    if (text !== undefined && !FIELD_KEY.test(text)) issue(name, 'must name a field of the events (letters, digits, _ . -)');
    return text;
  };
  const eventTime = time(EVENT_HEADERS.eventTime);
  const validTime = time(EVENT_HEADERS.validTime);
  const eventTimeKey = key(EVENT_HEADERS.eventTimeKey);
  const validTimeKey = key(EVENT_HEADERS.validTimeKey);
  if (eventTime !== undefined && eventTimeKey !== undefined) issue(EVENT_HEADERS.eventTimeKey, `give ${EVENT_HEADERS.eventTime} or ${EVENT_HEADERS.eventTimeKey}, not both`);
  if (validTime !== undefined && validTimeKey !== undefined) issue(EVENT_HEADERS.validTimeKey, `give ${EVENT_HEADERS.validTime} or ${EVENT_HEADERS.validTimeKey}, not both`);
  let ttlMs = DEFAULT_HOT_TTL_MS;
  let archive = true;
  if (metadata) {
    const ttl = metadata[TTL_KEY];
    if (ttl !== undefined) {
      const ms = typeof ttl === 'string' && /^\d+[smhd]$/.test(ttl) ? parseDuration(ttl) : undefined;
      if (ms === undefined || ms <= 0 || ms > MAX_HOT_TTL_MS) issue(metadataName, `'${TTL_KEY}' must be a duration of s, m, h or d above 0 and at most 7d, such as "30s", "2h" or "7d"`);
      else ttlMs = ms;
    }
    const noArchive = metadata[NO_ARCHIVE_KEY];
    if (noArchive !== undefined && typeof noArchive !== 'boolean') issue(metadataName, `'${NO_ARCHIVE_KEY}' must be true or false`);
    archive = noArchive !== true;
  }
  if (issues.length) throw new BadRequestError('Invalid event headers.', issues);
  return {
    requestId: at.requestId,
    offset: 0,
    ...(metadata && { metadata }),
    ...(eventTime !== undefined && { eventTime }),
    ...(validTime !== undefined && { validTime }),
    ...(eventTimeKey !== undefined && { eventTimeKey }),
    ...(validTimeKey !== undefined && { validTimeKey }),
    ttlMs,
    archive,
  };
}

function metadataOf(text: string | undefined, issue: (message: string) => void): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  const b64 = text.trim();
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64) || b64.length === 0) {
    issue('must be base64 of a JSON object');
    return undefined;
  }
  const json = Buffer.from(b64, b64.includes('-') || b64.includes('_') ? 'base64url' : 'base64').toString('utf8');
  if (Buffer.byteLength(json) > MAX_METADATA_BYTES) {
    issue(`must be at most ${MAX_METADATA_BYTES} bytes of JSON once decoded`);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    issue('must be base64 of a JSON object; it decodes to text that is not JSON');
    return undefined;
  }
  if (!isObj(value)) {
    issue('must be base64 of a JSON object, not of an array or a single value');
    return undefined;
  }
  return value;
}

/**
 * A request's records with the event type its `x-tributary-event-type` header names (as a Flowcore webhook
 * URL is for one event type): set on each record without an `eventType`; a record naming another type, a
 * type the stream does not have, or a stream without event types is a `BadRequestError` (the header) or a
 * `RecordValidationError` (the records at their index) saying which.
 *
 * @example
 * typedRecords([{ orderId: 'o-1' }], 'placed', ['placed', 'shipped']); // [{ orderId: 'o-1', eventType: 'placed' }]
 */
export function typedRecords(records: readonly unknown[], type: string | undefined, types: readonly string[] | undefined): readonly unknown[] {
  if (type === undefined) return records;
  const header = EVENT_HEADERS.eventType;
  if (!types) throw new BadRequestError('Invalid event headers.', [{ path: ['headers', header], message: 'the stream has no eventTypes: send its records without this header' }]);
  const name = type.trim();
  if (!types.includes(name)) throw new BadRequestError('Invalid event headers.', [{ path: ['headers', header], message: `must be one of the stream's event types: ${types.join(', ')}` }]);
  const issues: Issue[] = [];
  const typed = records.map((r, index) => {
    if (!isObj(r)) return r;
    const own = r[EVENT_TYPE_FIELD];
    if (own === undefined) return { ...r, [EVENT_TYPE_FIELD]: name };
    if (own !== name) issues.push({ index, path: [EVENT_TYPE_FIELD], message: `is ${JSON.stringify(own)} but the ${header} header says '${name}'` });
    return r;
  });
  if (issues.length) throw new RecordValidationError(issues);
  return typed;
}

/**
 * The events of a batch: each record with its id, its two times (from the request's headers, or the fields
 * its keys name, or the receive time) and how long it stays hot. A record whose time field cannot be read
 * is reported at its position with the field's path.
 *
 * @example
 * const { events, issues } = storedEvents(records, attrs, receivedAt);
 */
export function storedEvents(records: readonly Record<string, unknown>[], positions: readonly number[], attrs: EventAttributes, receivedAt: number): { events: StoredEvent[]; issues: Issue[] } {
  const events: StoredEvent[] = [];
  const issues: Issue[] = [];
  records.forEach((data, i) => {
    const index = positions[i] ?? i;
    const fieldTime = (key: string | undefined): number | undefined | null => {
      if (key === undefined) return undefined;
      const raw = data[key];
      if (raw === undefined || raw === null) return undefined;
      const t = parseTimestamp(raw);
      if (t === undefined) {
        issues.push({ index, path: [key], message: `names the event's time (${key === attrs.eventTimeKey ? EVENT_HEADERS.eventTimeKey : EVENT_HEADERS.validTimeKey}) but is not an ISO 8601 timestamp` });
        return null;
      }
      return t;
    };
    const fromEventKey = fieldTime(attrs.eventTimeKey);
    const fromValidKey = fieldTime(attrs.validTimeKey);
    if (fromEventKey === null || fromValidKey === null) return;
    const eventTime = attrs.eventTime ?? fromEventKey ?? receivedAt;
    const validTime = attrs.validTime ?? fromValidKey ?? eventTime;
    events.push({
      id: `${attrs.requestId}.${attrs.offset + index}`,
      eventTime,
      validTime,
      ...(attrs.metadata && { metadata: attrs.metadata }),
      data,
      hotUntil: receivedAt + attrs.ttlMs,
      archive: attrs.archive,
    });
  });
  return { events, issues };
}

/** Which time a query ranges over and orders by. */
export type TimeAxis = 'event' | 'valid';

/** A query of a stream's events. */
export interface EventQuery {
  /** Half-open [start, end) on `timeAxis`. */
  start: number;
  end: number;
  timeAxis: TimeAxis;
  /** Only events ingested (event time) at or before this: what was known then. */
  asOf?: number;
  limit: number;
  order: 'asc' | 'desc';
  /** Resume after this event (its time on the axis and id), from `nextCursor`. */
  after?: { time: number; id: string };
  /** Only events of these types (their `eventType` field), when given. */
  types?: string[];
}

export const MAX_EVENT_LIMIT = 1000;
const EVENT_QUERY_PARAMS = new Set(['start', 'end', 'timeAxis', 'asOf', 'limit', 'order', 'cursor', 'type']);

/**
 * Parses `GET …/events` parameters; a bad or unknown one is a `BadRequestError` naming it.
 *
 * @example
 * parseEventQuery({ timeAxis: 'valid', asOf: '2026-12-04T10:00:00Z' }, Date.now());
 */
export function parseEventQuery(params: Record<string, string | undefined>, now: number): EventQuery {
  const issues: Issue[] = [];
  const issue = (name: string, message: string) => issues.push({ path: ['query', name], message });
  for (const name of Object.keys(params)) if (!EVENT_QUERY_PARAMS.has(name)) issue(name, `is not a parameter of this route (${[...EVENT_QUERY_PARAMS].join(', ')})`);
  const time = (name: string, fallback: number): number => {
    const text = params[name];
    if (text === undefined) return fallback;
    const t = parseTimestamp(/^\d+$/.test(text) ? Number(text) : text);
    if (t === undefined) issue(name, 'must be an RFC 3339 time or epoch milliseconds');
    return t ?? fallback;
  };
  const end = time('end', now + 1);
  const start = time('start', end - 86_400_000);
  if (start >= end) issue('start', 'must be before end');
  const asOf = params.asOf === undefined ? undefined : time('asOf', now);
  const axis = params.timeAxis ?? 'event';
  if (axis !== 'event' && axis !== 'valid') issue('timeAxis', 'must be event or valid');
  const limit = params.limit === undefined ? 100 : Number(params.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENT_LIMIT) issue('limit', `must be an integer from 1 to ${MAX_EVENT_LIMIT}`);
  const order = params.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') issue('order', 'must be asc or desc');
  let after: EventQuery['after'];
  if (params.cursor !== undefined) {
    try {
      const c = JSON.parse(Buffer.from(params.cursor, 'base64url').toString('utf8')) as { t?: unknown; i?: unknown };
      if (typeof c.t !== 'number' || typeof c.i !== 'string') throw new Error('shape');
      after = { time: c.t, id: c.i };
    } catch {
      issue('cursor', 'is not a cursor this route gave');
    }
  }
  const types = params.type === undefined ? undefined : params.type.split(',').map((t) => t.trim());
  if (types && (types.length === 0 || types.some((t) => t.length === 0 || t.length > 128))) issue('type', 'must be one or more event types, comma-separated');
  if (issues.length) throw new BadRequestError('Invalid event query.', issues);
  return { start, end, timeAxis: axis as TimeAxis, ...(asOf !== undefined && { asOf }), limit, order: order as 'asc' | 'desc', ...(after && { after }), ...(types && { types }) };
}

/**
 * The cursor of the page that follows `last`.
 *
 * @example
 * eventCursor({ time: 1767225600000, id: 'r1.0' }); // 'eyJ0Ijox…'
 */
export function eventCursor(last: { time: number; id: string }): string {
  return Buffer.from(JSON.stringify({ t: last.time, i: last.id }), 'utf8').toString('base64url');
}

/**
 * An event as the API answers it, with the tier it was read from (hot until its TTL, cold after).
 *
 * @example
 * eventAnswer(event, Date.now()); // { id, eventTime: '2026-…Z', validTime: '2026-…Z', metadata, data, storage: 'hot' }
 */
export function eventAnswer(e: StoredEvent, now: number): Record<string, unknown> {
  return {
    id: e.id,
    eventTime: new Date(e.eventTime).toISOString(),
    validTime: new Date(e.validTime).toISOString(),
    ...(e.metadata && { metadata: e.metadata }),
    data: e.data,
    storage: now < e.hotUntil ? 'hot' : 'cold',
  };
}

/**
 * A container of events as both tiers keep them (a DynamoDB item hot, an S3 object cold): the events of one
 * request that share a UTC day of event time and a UTC day of valid time, so a container spans less than a
 * day on either axis, which is what lets a page stop reading early.
 */
export interface EventContainer {
  /** The least and greatest time on each axis of its events. */
  minE: number;
  maxE: number;
  minV: number;
  maxV: number;
  events(): Promise<StoredEvent[]>;
}

const DAY_MS = 86_400_000;
/** The start of the UTC day of `t`. */
export const dayStart = (t: number): number => Math.floor(t / DAY_MS) * DAY_MS;

/**
 * Splits a request's events into containers: one per (UTC day of event time, UTC day of valid time).
 *
 * @example
 * containersOf(events).forEach((group) => writeContainer(group));
 */
export function containersOf(events: readonly StoredEvent[]): StoredEvent[][] {
  const groups = new Map<string, StoredEvent[]>();
  for (const e of events) {
    const key = `${dayStart(e.eventTime)}:${dayStart(e.validTime)}`;
    const list = groups.get(key);
    if (list) list.push(e);
    else groups.set(key, [e]);
  }
  return [...groups.values()];
}

/**
 * One page of a query over containers that come in the order of their least time on the query's axis
 * (greatest first for `desc`): the events of the range, as of, after the cursor and kept by `keep`, in
 * order, at most `q.limit + 1` of them (the extra one says another page follows). It stops reading
 * containers once no later one can hold an event of the page: every container spans less than a day.
 *
 * @example
 * const page = await pageOfContainers(containersInKeyOrder(), q, (e) => e.hotUntil > now);
 */
export async function pageOfContainers(containers: AsyncIterable<EventContainer>, q: EventQuery, keep: (e: StoredEvent) => boolean): Promise<StoredEvent[]> {
  const valid = q.timeAxis === 'valid';
  const time = (e: StoredEvent) => (valid ? e.validTime : e.eventTime);
  const sign = q.order === 'asc' ? 1 : -1;
  const compare = (a: StoredEvent, b: StoredEvent) => sign * (time(a) - time(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const after = q.after;
  const past = (e: StoredEvent) => !after || sign * (time(e) - after.time || (e.id < after.id ? -1 : e.id > after.id ? 1 : 0)) > 0;
  const want = q.limit + 1;
  let found: StoredEvent[] = [];
  for await (const c of containers) {
    if (found.length >= want) {
      const edge = time(found[want - 1]!);
      // asc: later containers start at or after c.minE; desc: every later one ends before the end of c's first day
      const start = valid ? c.minV : c.minE;
      if (q.order === 'asc' ? start > edge : dayStart(start) + DAY_MS <= edge) break;
    }
    for (const e of await c.events()) {
      const t = time(e);
      if (t < q.start || t >= q.end || (q.asOf !== undefined && e.eventTime > q.asOf) || !past(e) || !keep(e)) continue;
      if (q.types && !q.types.includes(String(e.data[EVENT_TYPE_FIELD]))) continue;
      found.push(e);
    }
    found.sort(compare);
    if (found.length > want) found = found.slice(0, want);
  }
  return found;
}
