import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, inflateRaw, type ZlibOptions } from 'node:zlib';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../../../shared/domain/errors';

/** The content codings a request body may carry (RFC 9110 §8.4), in `Content-Encoding`'s spelling. */
export const CONTENT_CODINGS = ['gzip', 'x-gzip', 'deflate', 'br', 'identity'] as const;

/** Codings one body may stack (`Content-Encoding: gzip, gzip`): each layer is bounded, and so is their number. */
export const MAX_CODINGS = 2;

const run = {
  gzip: promisify<Buffer, ZlibOptions, Buffer>(gunzip),
  zlib: promisify<Buffer, ZlibOptions, Buffer>(inflate),
  raw: promisify<Buffer, ZlibOptions, Buffer>(inflateRaw),
  br: promisify<Buffer, ZlibOptions, Buffer>(brotliDecompress),
};

/**
 * The codings named by a `Content-Encoding` header, in the order they were applied; `identity` and an absent
 * header are none. An unknown coding is a 415 listing the supported ones.
 *
 * @example
 * contentCodings('gzip'); // ['gzip']
 * contentCodings(undefined); // []
 */
export function contentCodings(header: string | undefined): string[] {
  if (header === undefined) return [];
  const codings = header
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  for (const c of codings) {
    if (!(CONTENT_CODINGS as readonly string[]).includes(c)) {
      throw new UnsupportedMediaTypeError(
        `Content-Encoding '${header.slice(0, 64)}' is not supported; send the body uncompressed or as ${CONTENT_CODINGS.filter((x) => x !== 'identity' && x !== 'x-gzip').join(', ')}.`,
      );
    }
  }
  if (codings.length > MAX_CODINGS) throw new UnsupportedMediaTypeError(`Content-Encoding names ${codings.length} codings; at most ${MAX_CODINGS} are undone.`);
  return codings;
}

/**
 * Undoes a body's content codings under a cap on the inflated size. zlib stops as soon as its output passes
 * `maxBytes` (`maxOutputLength`), so a body that would inflate to gigabytes costs at most `maxBytes` of
 * inflating and of memory before it is a 413; a truncated or corrupt stream is a 400. `deflate` is taken both
 * as RFC 9110 means it (zlib-wrapped, RFC 1950) and as many clients send it (raw RFC 1951).
 *
 * @example
 * const bytes = await decodeContent(body, ['gzip'], 5 * 1024 * 1024);
 */
export async function decodeContent(bytes: Buffer, codings: readonly string[], maxBytes: number): Promise<Buffer> {
  let out = bytes;
  for (const coding of [...codings].reverse()) out = await undo(out, coding, maxBytes);
  return out;
}

async function undo(bytes: Buffer, coding: string, maxBytes: number): Promise<Buffer> {
  const kind = coding === 'gzip' || coding === 'x-gzip' ? 'gzip' : coding === 'br' ? 'br' : isZlibHeader(bytes) ? 'zlib' : 'raw';
  try {
    // zlib's default finish flush refuses a stream that stops early ("unexpected end of file")
    return await run[kind](bytes, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new PayloadTooLargeError(`The body inflates to more than ${maxBytes} bytes; split it into several requests.`);
    }
    throw new BadRequestError(`The body is not a valid ${coding} stream (${e.message}); compress the whole body with ${coding}, or send it uncompressed.`, [
      { path: ['headers', 'content-encoding'], message: `not a complete ${coding} stream: ${e.message}` },
    ]);
  }
}

/** A zlib (RFC 1950) header: method 8 (deflate), a window of at most 32 KB, and the check bits. */
function isZlibHeader(b: Buffer): boolean {
  return b.length >= 2 && (b[0]! & 0x0f) === 8 && b[0]! >> 4 <= 7 && ((b[0]! << 8) | b[1]!) % 31 === 0;
}
