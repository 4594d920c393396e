/**
 * The queue's frames, as the segment files and the dead-letter file hold them.
 *
 * A frame is `u32 LE length | u32 LE crc32(length bytes ‖ body) | body`, and a body is `u8 kind | …`:
 * - 1 message: `u48 LE seq | envelope JSON`; written by `send`, fdatasync'ed before `send` resolves.
 * - 2 received: JSON array of seqs, written as a batch is handed to the handler (for `receiveCount`).
 * - 3 acknowledged: JSON array of seqs the handler processed, or that went to the dead-letter file.
 * - 4 state: `{base, pending: [[seq, receiveCount]…]}`: every message of segment `base` not listed is done.
 *   Written before a segment is deleted ahead of older ones, so their acks are not lost with it.
 * - 5 dead letter (dead-letters.log only): `{id, envelope, receiveCount, deadAt}` JSON.
 */
import { crc32 } from 'node:zlib';
import type { IngestEnvelope } from '../../ports';

/** Bytes before a frame's body: its length and its checksum. */
export const HEADER = 8;
const MESSAGE_PREFIX = 7;

/**
 * The kinds of frame body.
 *
 * @example
 * const head = frameHead(KIND.acked, payload);
 */
export const KIND = { message: 1, received: 2, acked: 3, state: 4, dead: 5 } as const;

/**
 * An envelope as stored: its records' own JSON text when the sender gave it, else encoded here.
 *
 * @example
 * const payload = Buffer.from(envelopeJson({ streamId: 's', receivedAt: 0, source: 'http', records, recordsJson }));
 */
export function envelopeJson(envelope: IngestEnvelope): string {
  const { recordsJson, records, ...head } = envelope;
  if (recordsJson === undefined) return JSON.stringify({ ...head, records });
  return `${JSON.stringify(head).slice(0, -1)},"records":${recordsJson}}`;
}

/**
 * The head of a frame whose body ends with `payload`: length, checksum, kind and (for a message) its seq.
 * The frame is the head followed by the payload, written as two buffers.
 *
 * @example
 * await handle.writev([frameHead(KIND.message, payload, 42), payload]);
 */
export function frameHead(kind: number, payload: Buffer, seq?: number): Buffer {
  const fixed = seq === undefined ? 1 : MESSAGE_PREFIX;
  const head = Buffer.allocUnsafe(HEADER + fixed);
  head.writeUInt32LE(fixed + payload.length, 0);
  head.writeUInt8(kind, HEADER);
  if (seq !== undefined) head.writeUIntLE(seq, HEADER + 1, 6);
  head.writeUInt32LE(crc32(payload, crc32(head.subarray(HEADER), crc32(head.subarray(0, 4)))), 4);
  return head;
}

/**
 * Calls `visit` for each valid frame; returns where the valid frames end (a torn or corrupt frame stops it).
 * `seq` is 0 for frames other than messages.
 *
 * @example
 * const end = readFrames(await readFile(path), (kind, seq, payload) => kind === KIND.message && seen.add(seq));
 */
export function readFrames(buf: Buffer, visit: (kind: number, seq: number, payload: Buffer) => void): number {
  let offset = 0;
  while (offset + HEADER < buf.length) {
    const length = buf.readUInt32LE(offset);
    const end = offset + HEADER + length;
    if (length < 1 || end > buf.length) break;
    const body = buf.subarray(offset + HEADER, end);
    if (crc32(body, crc32(buf.subarray(offset, offset + 4))) !== buf.readUInt32LE(offset + 4)) break;
    const kind = body[0]!;
    if (kind === KIND.message) {
      if (length < MESSAGE_PREFIX) break;
      visit(kind, body.readUIntLE(1, 6), body.subarray(MESSAGE_PREFIX));
    } else if (kind >= KIND.received && kind <= KIND.dead) {
      visit(kind, 0, body.subarray(1));
    } else break;
    offset = end;
  }
  return offset;
}
