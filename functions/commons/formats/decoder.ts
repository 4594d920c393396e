import type { Stream } from '../../../shared/domain/stream-definition';
import { decodeUtf8, type BodyLimits } from '../body';

/**
 * A request body (or MQTT payload) once its content codings are undone: its bytes, and its text decoded
 * strictly as UTF-8 (a 400 naming the byte offset otherwise). Each is computed once, on first use.
 */
export interface RawBody {
  bytes(): Buffer;
  text(): string;
}

/** What a decoder may use besides the body. */
export interface DecodeContext {
  limits: BodyLimits;
  /** The stream the records are for (404 or 409 if there is none or it is paused); fetched once, on first call. */
  stream(): Promise<Stream>;
  /** How errors name the input: `The body` or `The payload`. */
  what: string;
  /** The media type's parameters (`charset`, `header`…), names lowercased. */
  params: Readonly<Record<string, string>>;
}

/**
 * The records of a body. `json` is those records as the text of a JSON array, when the decoder has it for
 * free (the JSON body itself), to queue without re-encoding. `positions[i]` is where record `i` sits in the
 * body when that is not `i` (NDJSON's line, blank lines counted): issues are reported at that index.
 */
export interface Decoded {
  records: unknown[];
  json?: string;
  positions?: number[];
}

/** Turns a body of one media type into records; throws `BadRequestError` (400) or `PayloadTooLargeError` (413). */
export type RecordsDecoder = (body: RawBody, ctx: DecodeContext) => Decoded | Promise<Decoded>;

/**
 * A body over text the event already holds: no copy for the JSON fast path.
 *
 * @example
 * textBody('{"t":1}').text(); // '{"t":1}'
 */
export function textBody(text: string): RawBody {
  let bytes: Buffer | undefined;
  return { text: () => text, bytes: () => (bytes ??= Buffer.from(text, 'utf8')) };
}

/**
 * A body over bytes; its text is decoded strictly on first use.
 *
 * @example
 * bytesBody(Buffer.from('{"t":1}'), 'The body').text(); // '{"t":1}'
 */
export function bytesBody(bytes: Buffer, what: string): RawBody {
  let text: string | undefined;
  return { bytes: () => bytes, text: () => (text ??= decodeUtf8(bytes, what)) };
}
