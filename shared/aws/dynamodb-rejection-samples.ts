import type { StreamStats } from '../ports';

/**
 * The refused records a stream's `REJECTIONS` item keeps (`DynamoDbRegistry.addStats`), as stored and as
 * read back.
 *
 * @example
 * const kept = toSample(new Date().toISOString(), { reason: 'temperature: must be a number', record });
 */

/**
 * A refused record is kept as JSON text cut to this many UTF-8 bytes; a cut one reads back as that text.
 *
 * @example
 * const { record } = stats.recentRejections[0]; // a string of at most SAMPLE_RECORD_BYTES bytes if it was cut
 */
export const SAMPLE_RECORD_BYTES = 1024;
const SAMPLE_REASON_CHARS = 512;

export interface Sample {
  at: string;
  reason: string;
  record?: string;
  recordTruncated?: boolean;
}


/** A refused record as kept: its reason cut to 512 characters, its JSON to `SAMPLE_RECORD_BYTES`. */
export function toSample(at: string, s: { reason: string; record?: unknown }): Sample {
  const sample: Sample = { at, reason: s.reason.length > SAMPLE_REASON_CHARS ? `${s.reason.slice(0, SAMPLE_REASON_CHARS - 1)}…` : s.reason };
  let json: string | undefined;
  try {
    json = s.record === undefined ? undefined : JSON.stringify(s.record);
  } catch {
    json = undefined; // a record JSON cannot hold (a cycle, a BigInt) is kept without its content
  }
  if (json === undefined) return sample;
  const cut = truncateUtf8(json, SAMPLE_RECORD_BYTES);
  return cut === json ? { ...sample, record: json } : { ...sample, record: cut, recordTruncated: true };
}

/** A whole record comes back as its value; a cut one as the text it was cut to. */
export function fromSample(s: Sample): StreamStats['recentRejections'][number] {
  if (s.record === undefined) return { at: s.at, reason: s.reason };
  if (s.recordTruncated) return { at: s.at, reason: s.reason, record: s.record };
  try {
    return { at: s.at, reason: s.reason, record: JSON.parse(s.record) };
  } catch {
    return { at: s.at, reason: s.reason, record: s.record };
  }
}

/** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that ends on a character boundary. */
function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back off continuation bytes
  return bytes.subarray(0, end).toString('utf8');
}
