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

/** Checks the content type is JSON (415 otherwise). */
export function requireJson(contentType: string | undefined): void {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json' && !type?.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(`Send the body as application/json${contentType ? `, not ${contentType}` : ' (no content type was given)'}.`);
  }
}

/**
 * Parses a JSON body under size and depth caps. Malformed JSON is a 400 naming where it broke.
 *
 * @example
 * const value = parseJsonBody('{"a":1}', DEFAULT_LIMITS);
 */
export function parseJsonBody(text: string, limits: BodyLimits = DEFAULT_LIMITS): unknown {
  // string length bounds the byte length from below; the exact count only matters near the limit
  if (text.length > limits.maxBytes || (text.length * 3 > limits.maxBytes && Buffer.byteLength(text) > limits.maxBytes)) {
    throw new PayloadTooLargeError(`The body exceeds ${limits.maxBytes} bytes; split it into several requests.`);
  }
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
