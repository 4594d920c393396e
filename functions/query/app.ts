import middy from '@middy/core';
import { BadRequestError, StreamNotFoundError } from '../../shared/domain/errors';
import { eventAnswer, eventCursor, parseEventQuery, type StoredEvent } from '../../shared/domain/events';
import { nextCursor, parseDataQuery, parseLatestQuery, type Row } from '../../shared/domain/query';
import { canonicalQueryParams } from '../../shared/domain/query-dialect';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Clock, EventSource, ExportStore, PartStore, PointStore, ReceiptLedger, ReceiptSigner, RollupReader, StreamRegistry } from '../../shared/ports';
import { requireScope } from '../commons/auth';
import { header, pathId, problemErrors, type HttpEvent, type HttpResult, type Logger } from '../commons/http';
import { acceptsGzip, answerType, encodedAnswer, NEXT_CURSOR_HEADER, shapeRow, toCsv, toNdjson } from './answer-format';
import { makeAnalyze } from './analyze';
import { makeExport } from './export';
import { makeDownsample } from './downsample';
import { makeInfluxQuery } from './influx';
import { makeSummary } from './summary';
import { makeDocumentDownsampling } from './document-downsample';
import { shortKeys } from '../../shared/domain/value-downsamplers';
import { makeVerify } from './verify';

/** File parts per page of `GET …/events`: 4 × 512 KB is about 2.8 MB of base64. */
export const MAX_PARTS_PER_PAGE = 4;

export interface QueryDeps {
  registry: StreamRegistry;
  store: PointStore;
  clock: Clock;
  log: Logger;
  /** An `event_stream`'s events, whole (`GET …/events`); that route answers 404 without it. */
  events?: EventSource;
  /** File events' parts, answered as their `data`. */
  parts?: PartStore;
  /** Each stored batch's receipt (`GET …/receipts`, `GET …/verify`); those routes answer 404 without it. */
  receipts?: ReceiptLedger;
  /** The receipt key's public half, to check each receipt's signature with. */
  receiptKeys?: Pick<ReceiptSigner, 'publicKey'>;
  /** Where an export too large to answer inline is written (`GET …/export`); without it such an export is a 413. */
  exports?: ExportStore;
  /** The largest export answered inline; default {@link EXPORT_INLINE_BYTES}. */
  exportInlineBytes?: number;
  /** The stored rollups (`POST /v1/streams/downsample` closes their bins); that route answers 400 without them. */
  rollups?: RollupReader;
}

/**
 * `GET /v1/streams/{id}/data`, `/latest` and `/export` (see `export.ts`; and InfluxDB's `/query`, see `influx.ts`): parameters are parsed against the stream's schema into the
 * query model; the store answers; rows are shaped for the client (ISO times, typed values). `/data` answers in
 * JSON, CSV or NDJSON as `Accept` asks, and every answer is gzipped when `Accept-Encoding` takes gzip.
 *
 * @example
 * export const handler = makeQueryHandler({ registry, store, clock: systemClock, log: jsonLogger });
 */
export function makeQueryHandler(deps: QueryDeps) {
  const { registry, store, clock } = deps;
  const influxQuery = makeInfluxQuery(deps);
  const analyzeRoute = makeAnalyze(deps);
  const exportRoute = makeExport({ store, clock, ...(deps.exports && { exports: deps.exports }), ...(deps.exportInlineBytes !== undefined && { inlineBytes: deps.exportInlineBytes }) });
  const summary = makeSummary({ store, clock, shape: (stream, row) => shapeRow(stream, row, true) });
  const documentDownsampled = makeDocumentDownsampling({ store, clock });
  const verification = deps.receipts && makeVerify({ store, clock, receipts: deps.receipts, ...(deps.events && { events: deps.events }), ...(deps.receiptKeys && { keys: deps.receiptKeys }) });

  const downsample = deps.rollups && makeDownsample({ registry, rollups: deps.rollups, clock });

  async function app(event: HttpEvent): Promise<HttpResult> {
    if (event.routeKey.endsWith(' /query')) return influxQuery(event);
    if (event.routeKey.endsWith(' /v1/streams/downsample')) {
      if (!downsample) throw new BadRequestError('This deployment keeps no stored rollups.', [{ path: [], message: 'downsample needs a point store that keeps rollups' }]);
      return downsample(event);
    }
    const id = pathId(event);
    requireScope(event, `read:${id}`);
    const stream = await registry.get(id);
    if (!stream) throw new StreamNotFoundError(id);
    if (event.routeKey.endsWith('/analyze')) return analyzeRoute(stream, event);
    if (event.routeKey.endsWith('/events')) return eventsRoute(stream, event);
    if (event.routeKey.endsWith('/export')) return exportRoute(stream, event);
    if (event.routeKey.endsWith('/receipts') || event.routeKey.endsWith('/verify')) {
      if (!verification) throw new StreamNotFoundError(id);
      return event.routeKey.endsWith('/receipts') ? verification.receiptsRoute(stream, event) : verification.verifyRoute(stream, event);
    }
    let params = event.queryStringParameters ?? {};
    const gzipped = acceptsGzip(header(event, 'accept-encoding'));
    if (event.routeKey.endsWith('/latest')) {
      const rows = await store.latest(stream, parseLatestQuery(stream, params));
      return encodedAnswer(gzipped, 'application/json', JSON.stringify({ streamId: id, points: rows.map((r) => shapeRow(stream, r, true)) }));
    }
    const summarized = await summary(stream, params);
    if (summarized) return summarized;
    const downsampled = await documentDownsampled(stream, params);
    if (downsampled && 'answer' in downsampled) return downsampled.answer;
    if (downsampled) params = downsampled.params;
    const q = parseDataQuery(stream, canonicalQueryParams(stream, params, clock.now()), clock.now());
    const rows = await store.query(stream, { ...q, limit: q.limit + 1 });
    const cursor = nextCursor(q, rows);
    const shaped = rows.slice(0, q.limit).map((r) => shapeRow(stream, r, q.granularity === 'raw'));
    // the document's one-letter keys (`keys=short`) for Tributary's downsamplers that have one
    const points = params.keys === 'short' && q.granularity !== 'raw' ? shaped.map((p) => ({ ...p, values: shortKeys(p.values) })) : shaped;
    const type = answerType(header(event, 'accept'));
    if (type === 'application/json') {
      // which the store read: its stored rollups, or the raw points (`rollup-plan.ts` says when a level answers exactly)
      const source = q.granularity === 'raw' ? 'raw' : (store.sourceOf?.(stream, q) ?? 'raw');
      return encodedAnswer(gzipped, type, JSON.stringify({ streamId: id, granularity: q.granularity, source, points, ...(cursor && { nextCursor: cursor }) }));
    }
    // CSV and NDJSON have no envelope: the next page's cursor travels in a header, as `cursor=` takes it
    return encodedAnswer(gzipped, type, type === 'text/csv' ? toCsv(q, points) : toNdjson(points), cursor ? { [NEXT_CURSOR_HEADER]: cursor } : {});
  }

  /** `GET …/events`: an event stream's events with their metadata and both times, on the axis asked for. */
  async function eventsRoute(stream: Stream, event: HttpEvent): Promise<HttpResult> {
    if (stream.type !== 'event_stream' || !deps.events) {
      throw new BadRequestError('Invalid event query.', [{ path: ['streamId'], message: `'${stream.id}' is a ${stream.type} stream: only event_stream streams keep events (read its points with GET …/data)` }]);
    }
    const now = clock.now();
    const q = parseEventQuery(event.queryStringParameters ?? {}, now);
    const found = await deps.events.query(stream.id, q, now);
    const { events, next } = await withPartData(found, q.timeAxis);
    const body = { streamId: stream.id, timeAxis: q.timeAxis, ...(q.asOf !== undefined && { asOf: new Date(q.asOf).toISOString() }), events: events.map((e) => eventAnswer(e, now)), ...(next && { nextCursor: eventCursor(next) }) };
    return encodedAnswer(acceptsGzip(header(event, 'accept-encoding')), 'application/json', JSON.stringify(body));
  }

  /**
   * File parts answered with their bytes (`data`, base64), read from the part store; a page holds at most
   * `MAX_PARTS_PER_PAGE` of them (an answer stays under Lambda's 6 MB), the rest on the next page.
   */
  async function withPartData(page: { events: StoredEvent[]; next?: { time: number; id: string } }, axis: 'event' | 'valid') {
    const out: StoredEvent[] = [];
    let parts = 0;
    for (const e of page.events) {
      const ref = e.data.dataRef;
      if (typeof ref !== 'string' || !deps.parts) {
        out.push(e);
        continue;
      }
      if (parts === MAX_PARTS_PER_PAGE) {
        const last = out[out.length - 1]!;
        return { events: out, next: { time: axis === 'valid' ? last.validTime : last.eventTime, id: last.id } };
      }
      parts++;
      const { dataRef: _ref, ...rest } = e.data;
      out.push({ ...e, data: { ...rest, data: (await deps.parts.getPart(ref)).toString('base64') } });
    }
    return { events: out, ...(page.next && { next: page.next }) };
  }

  return middy<HttpEvent, HttpResult>().use(problemErrors(deps.log)).handler(app);
}
