import { UnsupportedMediaTypeError } from '../../../shared/domain/errors';
import { decodeUtf8, type BodyLimits } from '../body';
import { bodyText, type HttpEvent } from '../http';
import { contentCodings, decodeContent } from './content-encoding';
import { bytesBody, textBody, type DecodeContext, type Decoded, type RawBody, type RecordsDecoder } from './decoder';
import { DECODERS } from './decoders';

/** A `Content-Type` split into its lowercased type and its parameters. */
export interface MediaType {
  type: string;
  params: Record<string, string>;
}

/**
 * Parses a `Content-Type` header (RFC 9110 §8.3): `text/csv; charset=utf-8` → `{type: 'text/csv', params: {charset: 'utf-8'}}`.
 *
 * @example
 * mediaTypeOf('application/x-ndjson').type; // 'application/x-ndjson'
 */
export function mediaTypeOf(header: string | undefined): MediaType | undefined {
  if (!header) return undefined;
  const [type, ...rest] = header.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return { type: type!.trim().toLowerCase(), params };
}

/**
 * The decoder for a `Content-Type`, or a 415 listing the supported types. Checked before anything else of
 * the request is done, as `requireJson` was.
 *
 * @example
 * recordsDecoder('text/csv'); // decodeCsv
 */
export function recordsDecoder(contentType: string | undefined): { decoder: RecordsDecoder; params: Record<string, string> } {
  const media = mediaTypeOf(contentType);
  const decoder = media && (DECODERS[media.type] ?? (media.type.endsWith('+json') ? DECODERS['application/json'] : undefined));
  if (!media || !decoder) {
    throw new UnsupportedMediaTypeError(
      `Send the body as one of ${Object.keys(DECODERS).join(', ')}${contentType ? `, not ${contentType.slice(0, 100)}` : ' (no content type was given)'}.`,
    );
  }
  return { decoder, params: media.params };
}

export interface DecodeOptions {
  limits: BodyLimits;
  stream: DecodeContext['stream'];
  what?: string;
}

/**
 * An HTTP ingest request's records: the body's bytes (base64 when API Gateway passed it so), its
 * `Content-Encoding` undone under the size limit, then the decoder of its `Content-Type`. An uncompressed
 * text body goes to its decoder as the event's own string, so the JSON fast path copies nothing.
 *
 * @example
 * const { records, json } = await decodeRecords(event, { limits, stream: () => streamOnce(id) });
 */
export async function decodeRecords(event: HttpEvent, opts: DecodeOptions): Promise<Decoded> {
  const headers = event.headers ?? {};
  const { decoder, params } = recordsDecoder(headers['content-type']);
  const codings = contentCodings(headers['content-encoding']);
  const what = opts.what ?? 'The body';
  const raw = event.body ?? '';
  const body = !event.isBase64Encoded && codings.length === 0 ? textBody(raw) : bytesBody(Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8'), what);
  return decodeWith(decoder, body, codings, { limits: opts.limits, stream: opts.stream, what, params });
}

/**
 * An MQTT payload's records, by the same decoders: the content type and codings come from the topic or
 * the stream instead of headers.
 *
 * @example
 * const { records } = await decodePayload(packet.payload, 'application/json', [], { limits, stream });
 */
export async function decodePayload(payload: Buffer | string, contentType: string, codings: readonly string[], opts: DecodeOptions): Promise<Decoded> {
  const { decoder, params } = recordsDecoder(contentType);
  const what = opts.what ?? 'The payload';
  const body = typeof payload === 'string' && codings.length === 0 ? textBody(payload) : bytesBody(Buffer.from(payload), what);
  return decodeWith(decoder, body, codings, { limits: opts.limits, stream: opts.stream, what, params });
}

async function decodeWith(decoder: RecordsDecoder, body: RawBody, codings: readonly string[], ctx: DecodeContext): Promise<Decoded> {
  if (codings.length === 0) return decoder(body, ctx);
  return decoder(bytesBody(await decodeContent(body.bytes(), codings, ctx.limits.maxBytes), ctx.what), ctx);
}

/**
 * An issue list with each record index moved to where the record sat in the body (see `Decoded.positions`).
 *
 * @example
 * atPositions(admission.issues, decoded.positions);
 */
export function atPositions<T extends { index?: number }>(issues: T[], positions: readonly number[] | undefined): T[] {
  if (!positions) return issues;
  return issues.map((i) => (i.index === undefined ? i : { ...i, index: positions[i.index] ?? i.index }));
}

/**
 * A request body as text, its `Content-Encoding` (gzip, deflate, br) undone under `maxBytes` first (413 past
 * it, 415 for another coding, 400 for a corrupt stream or bytes that are not UTF-8). For routes whose body
 * has one format (the streams routes' JSON, line protocol).
 *
 * @example
 * const text = await decodedBodyText(event, limits.maxBytes);
 */
export async function decodedBodyText(event: HttpEvent, maxBytes: number, what = 'The body'): Promise<string> {
  const codings = contentCodings(event.headers?.['content-encoding']);
  if (codings.length === 0) return bodyText(event);
  const bytes = await decodeContent(Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'), codings, maxBytes);
  return decodeUtf8(bytes, what);
}
