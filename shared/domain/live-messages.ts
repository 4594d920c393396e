import { BadRequestError, type Issue } from './errors';
import { GRANULARITIES, parseLatestQuery, type Granularity } from './query';
import type { Stream } from './stream-definition';
import type { Datapoint, Value } from './validate-record';

/**
 * Live subscriptions (`GET /v1/streams/{id}/live`): the messages a subscriber receives, named as the Real-Time
 * Data Streaming document names its WebSocket events, what a subscriber asks for (fields, series, a bin), and
 * how a stored batch becomes the `data_update` each subscriber sees. The same frames go over a WebSocket and as
 * Server-Sent Events (`event:` is the `type`).
 *
 * @example
 * const filter = parseLiveFilter(stream, { fields: 'temperature', 'dim.deviceId': 'f1', granularity: '1s' });
 * const update = dataUpdate(stream, points, filter); // { type: 'data_update', streamId, granularity: '1s', points: [...] }
 */

/** Close code for a subscriber whose buffer passed its bound (4000-4999 are the application's). */
export const CLOSE_TOO_SLOW = 4008;
/** Close code for a refused subprotocol token or ticket (after the handshake: before it, a 401). */
export const CLOSE_UNAUTHORIZED = 4401;
/** Close code for a stream deleted while subscribed. */
export const CLOSE_STREAM_GONE = 4404;
/** The subprotocol a server answers with; `bearer.<token>` beside it carries the read token. */
export const LIVE_SUBPROTOCOL = 'tributary.v1';
export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';
/** API Gateway's WebSocket frame cap is 128 KB: each message is kept below it, with room to spare. */
export const MAX_MESSAGE_BYTES = 120 * 1024;

/** A raw point as the query API shapes it, or a bin's `{mean, min, max, count, last}` per field. */
export interface LivePoint {
  time: string;
  dimensions?: Record<string, string>;
  values: Record<string, Value | BinValue>;
}

export interface BinValue {
  mean?: number;
  min?: number;
  max?: number;
  count: number;
  last: Value;
}

/** The subscriber-facing alert, without its actions' outcomes or the breaching record's data. */
export interface LiveAlert {
  id: string;
  rule: string;
  severity: string;
  series: string;
  dimensions: Record<string, string>;
  value: Value | null;
  time: string;
  firedAt: string;
  resolvedAt?: string;
}

export type LiveMessage =
  /** The records of a stored batch (or its bins). A batch over 120 KB comes in `part`s, each whole JSON. */
  | { type: 'data_update'; streamId: string; granularity: Granularity; points: LivePoint[]; part?: { index: number; count: number } }
  /** The stream's state and freshness: on subscribing, then with each `metrics_update`. */
  | { type: 'stream_status'; streamId: string; status: 'active' | 'paused' | 'deleted'; lastDataAt?: string; pointsTotal?: number; health?: { status: 'healthy' | 'degraded' | 'down'; reason: string }; at: string }
  /** An alert firing or resolving. */
  | { type: 'error_alert'; streamId: string; state: 'firing' | 'resolved'; alert: LiveAlert }
  /** Throughput: points stored per second over the last window, and when the stream last stored one. */
  | { type: 'metrics_update'; streamId: string; at: string; windowSeconds: number; points: number; pointsPerSecond: number; lastProcessed?: string }
  /** Messages this subscriber missed: its buffer passed `limitBytes`. It is closed next (code 4008). */
  | { type: 'dropped'; streamId: string; dropped: number; limitBytes: number; reason: string }
  /** A keep-alive, and the answer to a client's `{"type":"ping"}`. */
  | { type: 'ping' | 'pong'; at: string };

/** What one subscriber asked for: its fields (all when empty), its series, raw records or bins of `binMs`. */
export interface LiveFilter {
  fields: string[];
  filters: Record<string, string[]>;
  granularity: Granularity;
  binMs: number;
}

/** The query parameters a subscription takes, as the query API writes them. */
export const LIVE_PARAMS = ['fields', 'granularity'] as const;

/**
 * Reads a subscription's parameters against the stream: `fields=a,b`, `dim.NAME=v1,v2` (as `/latest` reads
 * them) and `granularity` (`raw`, the default, or a bin of the query API: `1s`, `10s`, `1m`…). Throws a
 * `BadRequestError` naming each bad parameter; other parameters (`ticket`) are not this function's.
 *
 * @example
 * parseLiveFilter(stream, { 'dim.deviceId': 'f1', granularity: '10s' });
 */
export function parseLiveFilter(stream: Stream, params: Record<string, string | undefined>): LiveFilter {
  const granularity = params.granularity ?? 'raw';
  const binMs = granularity === 'raw' ? 0 : (GRANULARITIES as Record<string, number>)[granularity];
  const issues: Issue[] = binMs === undefined ? [{ path: ['granularity'], message: `must be raw or one of ${Object.keys(GRANULARITIES).join(', ')}` }] : [];
  let latest: { fields: string[]; filters: Record<string, string[]> } = { fields: [], filters: {} };
  try {
    latest = parseLatestQuery(stream, params);
  } catch (err) {
    if (!(err instanceof BadRequestError)) throw err;
    issues.push(...err.issues);
  }
  if (issues.length) throw new BadRequestError('Invalid subscription parameters.', issues);
  const fields = params.fields === undefined ? [] : latest.fields;
  return { fields, filters: latest.filters, granularity: granularity as Granularity, binMs: binMs! };
}

/**
 * A stable key of a filter: subscribers with the same key get the same rendered frames.
 *
 * @example
 * filterKey(parseLiveFilter(stream, {})); // 'raw||'
 */
export function filterKey(f: LiveFilter): string {
  const dims = Object.keys(f.filters).sort().map((d) => `${d}=${[...f.filters[d]!].sort().join(',')}`);
  return `${f.granularity}|${[...f.fields].sort().join(',')}|${dims.join('&')}`;
}

/**
 * The `data_update` one subscriber sees of a stored batch: its series and fields only, raw or binned per
 * series (each bin: `mean`/`min`/`max` of numbers, `count` and `last` of every field); `undefined` when
 * nothing of the batch is for it.
 *
 * @example
 * dataUpdate(stream, [{ time: 0, dimensions: { deviceId: 'f1' }, values: { t: 1 } }], filter);
 */
export function dataUpdate(stream: Stream, points: readonly Datapoint[], f: LiveFilter): Extract<LiveMessage, { type: 'data_update' }> | undefined {
  const dims = Object.entries(f.filters);
  const kept = points.filter((p) => dims.every(([d, values]) => values.includes(p.dimensions[d] ?? '')));
  const project = (values: Record<string, Value>) => {
    if (!f.fields.length) return values;
    const out: Record<string, Value> = {};
    for (const field of f.fields) if (field in values) out[field] = values[field]!;
    return out;
  };
  const shaped: LivePoint[] = [];
  if (f.binMs === 0) {
    for (const p of kept) {
      const values = project(p.values);
      if (Object.keys(values).length) shaped.push({ time: new Date(p.time).toISOString(), ...(stream.dimensions.length && { dimensions: p.dimensions }), values });
    }
  } else {
    shaped.push(...bins(stream, kept, f, project));
  }
  return shaped.length ? { type: 'data_update', streamId: stream.id, granularity: f.granularity, points: shaped } : undefined;
}

function bins(stream: Stream, points: readonly Datapoint[], f: LiveFilter, project: (v: Record<string, Value>) => Record<string, Value>): LivePoint[] {
  const byBin = new Map<string, { time: number; dimensions: Record<string, string>; values: Record<string, BinValue & { sum?: number }> }>();
  for (const p of [...points].sort((a, b) => a.time - b.time)) {
    const time = Math.floor(p.time / f.binMs) * f.binMs;
    const key = `${time}|${JSON.stringify(stream.dimensions.map((d) => p.dimensions[d] ?? ''))}`;
    let bin = byBin.get(key);
    if (!bin) byBin.set(key, (bin = { time, dimensions: p.dimensions, values: {} }));
    for (const [field, v] of Object.entries(project(p.values))) {
      const acc = (bin.values[field] ??= { count: 0, last: v });
      acc.count++;
      acc.last = v;
      if (typeof v === 'number') {
        acc.sum = (acc.sum ?? 0) + v;
        acc.min = acc.min === undefined ? v : Math.min(acc.min, v);
        acc.max = acc.max === undefined ? v : Math.max(acc.max, v);
      }
    }
  }
  return [...byBin.values()]
    .filter((b) => Object.keys(b.values).length)
    .map((b) => ({
      time: new Date(b.time).toISOString(),
      ...(stream.dimensions.length && { dimensions: b.dimensions }),
      values: Object.fromEntries(
        Object.entries(b.values).map(([field, { sum, ...acc }]) => [field, sum === undefined ? acc : { ...acc, mean: sum / acc.count }]),
      ),
    }));
}

/**
 * A message as the frames that carry it, each under `maxBytes` of UTF-8: a `data_update` too large is cut into
 * `part`s of whole points; any other message is one frame.
 *
 * @example
 * const frames = framesOf(update); // ['{"type":"data_update",…}', …]
 */
export function framesOf(message: LiveMessage, maxBytes = MAX_MESSAGE_BYTES): string[] {
  const whole = JSON.stringify(message);
  if (message.type !== 'data_update' || byteLength(whole) <= maxBytes || message.points.length <= 1) return [whole];
  const chunks: LivePoint[][] = [];
  let chunk: LivePoint[] = [];
  let size = 0;
  const overhead = byteLength(JSON.stringify({ ...message, points: [], part: { index: 99999, count: 99999 } }));
  for (const p of message.points) {
    const n = byteLength(JSON.stringify(p)) + 1;
    if (chunk.length && size + n + overhead > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(p);
    size += n;
  }
  if (chunk.length) chunks.push(chunk);
  return chunks.map((points, index) => JSON.stringify({ ...message, points, part: { index, count: chunks.length } }));
}

/** UTF-8 length without a Buffer (the domain has no node API). */
export function byteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * The alert as a subscriber sees it.
 *
 * @example
 * liveAlert(alert); // { id, rule, severity, series, dimensions, value, time, firedAt }
 */
export function liveAlert(a: { id: string; rule: string; severity: string; series: string; dimensions: Record<string, string>; value: Value | null; time: string; firedAt: string; resolvedAt?: string }): LiveAlert {
  return { id: a.id, rule: a.rule, severity: a.severity, series: a.series, dimensions: a.dimensions, value: a.value, time: a.time, firedAt: a.firedAt, ...(a.resolvedAt !== undefined && { resolvedAt: a.resolvedAt }) };
}

/**
 * The read token in a WebSocket's `Sec-WebSocket-Protocol` offer (`tributary.v1, bearer.<token>`), if any.
 *
 * @example
 * subprotocolToken('tributary.v1, bearer.trb_abc'); // 'trb_abc'
 */
export function subprotocolToken(offer: string | undefined): string | undefined {
  if (!offer) return undefined;
  const found = offer.split(',').map((p) => p.trim()).find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  const token = found?.slice(BEARER_SUBPROTOCOL_PREFIX.length);
  return token ? token : undefined;
}
