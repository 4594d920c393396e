import { RecordTooLargeError } from './errors';
import type { DataRecord } from './types';

/** The server's limits on one ingest request (`functions/commons/body.ts`; a test keeps them equal). */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;
export const MAX_RECORDS = 10_000;

export interface BatchLimits {
  /** Bytes of JSON per request; the server's limit unless given. */
  maxBytes?: number;
  /** Records per request; the server's limit unless given. */
  maxRecords?: number;
}

/** One request's worth: its JSON text, how many records, and the index of its first record in the input. */
export interface Batch {
  body: string;
  count: number;
  first: number;
}

/** UTF-8 length of a string without encoding it (surrogate pairs count 4 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Splits records into JSON array bodies that each fit the body and record limits, in order. Each record is
 * serialized once; a record that alone is over the byte limit is a `RecordTooLargeError` (with its index).
 *
 * @example
 * [...splitBatches(records, { maxRecords: 2 })].map((b) => b.count); // [2, 2, 1] for five records
 */
export function* splitBatches(records: Iterable<DataRecord>, limits: BatchLimits = {}): Generator<Batch> {
  const maxBytes = limits.maxBytes ?? MAX_BODY_BYTES;
  const maxRecords = Math.min(limits.maxRecords ?? MAX_RECORDS, MAX_RECORDS);
  let parts: string[] = [];
  let bytes = 2; // the brackets
  let first = 0;
  let index = 0;
  const flush = (): Batch => {
    const batch = { body: `[${parts.join(',')}]`, count: parts.length, first };
    first += parts.length;
    parts = [];
    bytes = 2;
    return batch;
  };
  for (const record of records) {
    const json = JSON.stringify(record);
    const size = utf8Length(json);
    if (size + 2 > maxBytes) throw new RecordTooLargeError(index, size, maxBytes);
    const extra = size + (parts.length > 0 ? 1 : 0);
    if (parts.length > 0 && (parts.length >= maxRecords || bytes + extra > maxBytes)) yield flush();
    bytes += size + (parts.length > 0 ? 1 : 0);
    parts.push(json);
    index++;
  }
  if (parts.length > 0) yield flush();
}
