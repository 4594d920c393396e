import { randomUUID } from 'node:crypto';
import { PayloadTooLargeError } from '../../shared/domain/errors';
import { contentDisposition, EXPORT_PAGE_ROWS, EXPORTS_PREFIX, EXPORT_TYPES, parseExportQuery } from '../../shared/domain/exports';
import type { DataQuery } from '../../shared/domain/query';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Clock, ExportStore, PointStore } from '../../shared/ports';
import type { HttpEvent, HttpResult } from '../commons/http';
import { shapeRow } from './answer-format';
import { exportEncoder } from './export-formats';

/**
 * The largest export answered in the HTTP response itself: 4 MiB of file, 5.6 MB once base64-encoded, under
 * the 6 MB a Lambda response may carry behind API Gateway. A larger one goes to the export store.
 */
export const EXPORT_INLINE_BYTES = 4 * 1024 * 1024;

export interface ExportDeps {
  store: PointStore;
  clock: Clock;
  /** Where an export past `inlineBytes` is written; without one, such an export is a 413. */
  exports?: ExportStore;
  /** Default {@link EXPORT_INLINE_BYTES}. */
  inlineBytes?: number;
}

/**
 * `GET /v1/streams/{id}/export?format=csv|ndjson|parquet&start&end`: the whole range, read from the store
 * page by page (10 000 rows at a time, in time order) and encoded as it comes, so memory holds one page and at
 * most `inlineBytes` of file. Up to `inlineBytes` the file is the answer (200, `Content-Disposition: attachment`);
 * past that what was held and every further page are written to the export store in parts, and the answer is
 * `303 See Other` to a presigned GET URL (also in the JSON body, with its expiry).
 *
 * @example
 * const exportRoute = makeExport({ store, clock, exports });
 * return exportRoute(stream, event);
 */
export function makeExport(deps: ExportDeps) {
  const inlineBytes = deps.inlineBytes ?? EXPORT_INLINE_BYTES;
  return async function exportRoute(stream: Stream, event: HttpEvent): Promise<HttpResult> {
    const { format, query, filename } = parseExportQuery(stream, event.queryStringParameters ?? {}, deps.clock.now());
    const { contentType } = EXPORT_TYPES[format];
    const encoder = exportEncoder(format, stream, query);
    let held: Uint8Array[] = [];
    let heldBytes = 0;
    let upload: Awaited<ReturnType<ExportStore['begin']>> | undefined;
    const emit = async (bytes: Uint8Array) => {
      if (bytes.length === 0) return;
      if (upload) return upload.push(bytes);
      held.push(bytes);
      heldBytes += bytes.length;
      if (heldBytes <= inlineBytes) return;
      if (!deps.exports) throw new PayloadTooLargeError(`The export is larger than ${inlineBytes} bytes and this deployment keeps no export files; narrow the range.`);
      upload = await deps.exports.begin({ key: `${EXPORTS_PREFIX}${stream.id}/${randomUUID()}.${EXPORT_TYPES[format].ext}`, contentType, filename });
      for (const chunk of held) await upload.push(chunk);
      held = [];
    };
    try {
      for await (const points of pages(deps.store, stream, query)) await emit(encoder.page(points));
      await emit(encoder.end());
    } catch (err) {
      await upload?.abort();
      throw err;
    }
    if (upload) {
      const { url, expiresAt, bytes } = await upload.finish();
      return {
        statusCode: 303,
        headers: { location: url, 'content-type': 'application/json', 'cache-control': 'no-store' },
        body: JSON.stringify({ streamId: stream.id, format, filename, bytes, url, expiresAt: new Date(expiresAt).toISOString() }),
      };
    }
    const file = Buffer.concat(held, heldBytes);
    const headers = { 'content-type': contentType, 'content-disposition': contentDisposition(filename), 'cache-control': 'no-store' };
    return format === 'parquet'
      ? { statusCode: 200, headers, body: file.toString('base64'), isBase64Encoded: true }
      : { statusCode: 200, headers, body: file.toString('utf8') };
  };
}

/** The query's answer page by page: the store is asked for one row past a page to know whether another follows. */
async function* pages(store: PointStore, stream: Stream, first: DataQuery) {
  let q: DataQuery = { ...first, limit: EXPORT_PAGE_ROWS, order: 'asc' };
  for (;;) {
    const rows = await store.query(stream, { ...q, limit: EXPORT_PAGE_ROWS + 1 });
    const page = rows.slice(0, EXPORT_PAGE_ROWS);
    yield page.map((r) => shapeRow(stream, r, q.granularity === 'raw'));
    if (rows.length <= EXPORT_PAGE_ROWS) return;
    const last = page[page.length - 1]!;
    q = { ...q, after: { time: last.time, key: q.keyDimensions.map((d) => last.dimensions[d] ?? '') } };
  }
}
