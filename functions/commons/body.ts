import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../../shared/domain/errors';

/** Bodies above this are refused before parsing (a Lambda request payload tops out at 6 MB). */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;
/** Records in one request; more must be sent in several requests. */
export const MAX_RECORDS = 10_000;
/** Nesting allowed in a body; checked before `JSON.parse` so a deep body costs a scan, not a stall. */
export const MAX_JSON_DEPTH = 32;

export interface BodyLimits {
  maxBytes: number;
  maxRecords: number;
  maxDepth: number;
}

export const DEFAULT_LIMITS: BodyLimits = { maxBytes: MAX_BODY_BYTES, maxRecords: MAX_RECORDS, maxDepth: MAX_JSON_DEPTH };

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes UTF-8 bytes exactly, or refuses them with a 400 naming the byte offset of the first bad sequence:
 * never a lenient decode that turns bad bytes into U+FFFD (which would acknowledge a value other than the
 * one sent). A byte order mark is kept, as JSON text does not allow one.
 *
 * @example
 * decodeUtf8(Buffer.from('{"t":1}')); // '{"t":1}'
 * decodeUtf8(Buffer.from([0x7b, 0xff, 0x7d])); // throws BadRequestError: … at byte offset 1 …
 */
export function decodeUtf8(bytes: Uint8Array, what = 'The body'): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const shown = Array.from(bytes.subarray(at, at + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new BadRequestError(`${what} is not valid UTF-8: the byte sequence at byte offset ${at} (${shown}) is not UTF-8; send the text encoded as UTF-8.`, [
      { path: [], message: `invalid UTF-8 at byte offset ${at}` },
    ]);
  }
}

/**
 * Byte offset of the first ill-formed UTF-8 sequence (as the WHATWG decoder finds it: overlong forms,
 * surrogates, code points above U+10FFFF and truncated sequences included), or -1.
 *
 * @example
 * firstInvalidUtf8(Buffer.from([0x61, 0xc3, 0x28])); // 1
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let trailing: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) trailing = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      trailing = 2;
      if (lead === 0xe0) low = 0xa0; // overlong
      if (lead === 0xed) high = 0x9f; // UTF-16 surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      trailing = 3;
      if (lead === 0xf0) low = 0x90; // overlong
      if (lead === 0xf4) high = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= trailing; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < (k === 1 ? low : 0x80) || next > (k === 1 ? high : 0xbf)) return i;
    }
    i += trailing + 1;
  }
  return -1;
}

/** Checks the content type is JSON (415 otherwise). */
export function requireJson(contentType: string | undefined): void {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json' && !type?.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(`Send the body as application/json${contentType ? `, not ${contentType}` : ' (no content type was given)'}.`);
  }
}

/**
 * Refuses a body text longer than `limits.maxBytes` in UTF-8 with a 413.
 *
 * @example
 * requireWithinSize(text, DEFAULT_LIMITS);
 */
export function requireWithinSize(text: string, limits: BodyLimits): void {
  // string length bounds the byte length from below; the exact count only matters near the limit
  if (text.length > limits.maxBytes || (text.length * 3 > limits.maxBytes && Buffer.byteLength(text) > limits.maxBytes)) {
    throw new PayloadTooLargeError(`The body exceeds ${limits.maxBytes} bytes; split it into several requests.`);
  }
}

/**
 * Parses a JSON body under size and depth caps. Malformed JSON is a 400 naming where it broke.
 *
 * @example
 * const value = parseJsonBody('{"a":1}', DEFAULT_LIMITS);
 */
export function parseJsonBody(text: string, limits: BodyLimits = DEFAULT_LIMITS): unknown {
  requireWithinSize(text, limits);
  if (text.length === 0) throw new BadRequestError('The body is empty; send a JSON record or an array of records.');
  const deep = depthExceeds(text, limits.maxDepth);
  if (deep >= 0) throw new BadRequestError(`The JSON is nested deeper than ${limits.maxDepth} levels (at character ${deep}).`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`The body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Parses an ingest body into records: one object or an array of 1..maxRecords. `json` is the records as
 * the text of a JSON array (the body itself, or the one object in brackets), to queue without re-encoding.
 *
 * @example
 * const { records, json } = parseRecordsText('{"t":1}'); // records [{ t: 1 }], json '[{"t":1}]'
 */
export function parseRecordsText(text: string, limits: BodyLimits = DEFAULT_LIMITS): { records: unknown[]; json: string } {
  const records = parseRecords(text, limits);
  return { records, json: text.trimStart().startsWith('[') ? text : `[${text}]` };
}

/** Parses an ingest body into records: one object or an array of 1..maxRecords. */
export function parseRecords(text: string, limits: BodyLimits = DEFAULT_LIMITS): unknown[] {
  const value = parseJsonBody(text, limits);
  const records = Array.isArray(value) ? value : [value];
  if (records.length === 0) throw new BadRequestError('The array is empty; send at least one record.');
  if (records.length > limits.maxRecords) {
    throw new PayloadTooLargeError(`${records.length} records in one request; send at most ${limits.maxRecords} per request.`);
  }
  return records;
}

/** Index of the first character past the allowed depth, or -1. Skips string contents. */
export function depthExceeds(text: string, maxDepth: number): number {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // jump to the closing quote, skipping escaped ones
      for (i = text.indexOf('"', i + 1); i !== -1; i = text.indexOf('"', i + 1)) {
        let backslashes = 0;
        for (let j = i - 1; text.charCodeAt(j) === 92; j--) backslashes++;
        if (backslashes % 2 === 0) break;
      }
      if (i === -1) return -1; // unterminated string: JSON.parse reports it
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > maxDepth) return i;
    } else if (c === 93 /* ] */ || c === 125 /* } */) {
      depth--;
    }
  }
  return -1;
}
