import { decode as decodeMsgpack } from '@msgpack/msgpack';
import { decode as decodeCbor, Tokenizer, Type } from 'cborg';
import { BadRequestError, PayloadTooLargeError } from '../../../shared/domain/errors';
import { isWellFormedText, loneSurrogateMessage } from '../../../shared/domain/json-safety';
import type { BodyLimits } from '../body';

/**
 * `application/msgpack` (and `application/x-msgpack`, `application/vnd.msgpack`): the records as JSON would
 * carry them, in MessagePack. The bytes are first walked without building anything, so that nesting past
 * `limits.maxDepth`, a length the body does not hold or trailing bytes are a 400 naming the byte offset
 * before the decoder allocates; then `@msgpack/msgpack` decodes.
 *
 * @example
 * decodeMsgpackRecords(encode([{ deviceId: 'f1', temperature: -18.5 }]), DEFAULT_LIMITS); // [{ deviceId: 'f1', temperature: -18.5 }]
 */
export function decodeMsgpackRecords(bytes: Uint8Array, limits: BodyLimits): unknown[] {
  checkSize(bytes, limits);
  scanMsgpack(bytes, limits.maxDepth);
  let value: unknown;
  try {
    value = decodeMsgpack(bytes, { useBigInt64: true });
  } catch (err) {
    throw new BadRequestError(`The body is not valid MessagePack: ${(err as Error).message}`);
  }
  return asRecords(plain(value, [], 'MessagePack'), limits);
}

/**
 * `application/cbor`: the records in CBOR (RFC 8949), decoded by `cborg` in strict mode: no indefinite
 * lengths, no `undefined`, NaN or Infinity, no duplicate map keys, no tags, map keys strings only. Nesting is
 * counted on cborg's token stream first (its decoder recurses), so a map nested 10,000 deep is a 400.
 *
 * @example
 * decodeCborRecords(cborg.encode({ deviceId: 'f1' }), DEFAULT_LIMITS); // [{ deviceId: 'f1' }]
 */
export function decodeCborRecords(bytes: Uint8Array, limits: BodyLimits): unknown[] {
  checkSize(bytes, limits);
  const options = { strict: true, allowIndefinite: false, allowUndefined: false, allowNaN: false, allowInfinity: false, rejectDuplicateMapKeys: true, useMaps: true } as const;
  try {
    scanCbor(bytes, limits.maxDepth, options);
    return asRecords(plain(decodeCbor(bytes, options), [], 'CBOR'), limits);
  } catch (err) {
    if (err instanceof BadRequestError || err instanceof PayloadTooLargeError) throw err;
    throw new BadRequestError(`The body is not valid CBOR: ${(err as Error).message}`);
  }
}

function checkSize(bytes: Uint8Array, limits: BodyLimits): void {
  if (bytes.length > limits.maxBytes) throw new PayloadTooLargeError(`The body exceeds ${limits.maxBytes} bytes; split it into several requests.`);
  if (bytes.length === 0) throw new BadRequestError('The body is empty; send a record or an array of records.');
}

function asRecords(value: unknown, limits: BodyLimits): unknown[] {
  const records = Array.isArray(value) ? value : [value];
  if (records.length === 0) throw new BadRequestError('The array is empty; send at least one record.');
  if (records.length > limits.maxRecords) throw new PayloadTooLargeError(`${records.length} records in one request; send at most ${limits.maxRecords} per request.`);
  return records;
}

/**
 * The decoded value as JSON would have given it: objects with string keys, numbers, strings, booleans,
 * null. Timestamps become RFC 3339 strings; integers beyond 2^53 and byte strings are refused at their path.
 */
function plain(value: unknown, path: (string | number)[], format: string): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw refusal(path, `${value} is not a number JSON can hold`);
    return value;
  }
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw refusal(path, `${value} is beyond ±${Number.MAX_SAFE_INTEGER}, the largest integer kept exactly`);
    return Number(value);
  }
  if (typeof value === 'string') {
    if (!isWellFormedText(value)) throw refusal(path, loneSurrogateMessage(value));
    return value;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw refusal(path, 'the timestamp is out of range');
    return value.toISOString();
  }
  if (Array.isArray(value)) return value.map((v, i) => plain(v, [...path, i], format));
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) {
      if (typeof k !== 'string') throw refusal(path, `a map key is ${typeof k === 'number' ? 'a number' : 'not a string'}; keys are field names`);
      if (k === '__proto__') throw refusal([...path, k], "'__proto__' cannot be a key");
      out[k] = plain(v, [...path, k], format);
    }
    return out;
  }
  if (value instanceof Uint8Array) throw refusal(path, `${format} byte strings are not taken; send text or numbers`);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = plain(v, [...path, k], format);
    return out;
  }
  throw refusal(path, `a ${format} value of type ${typeof value} is not taken`);
}

function refusal(path: (string | number)[], message: string): BadRequestError {
  return new BadRequestError(`The body holds a value JSON cannot: ${path.join('.') || '(root)'}: ${message}`, [{ path, message }]);
}

/** Bytes a MessagePack header takes after its first byte, and how many items its payload is, by first byte. */
function msgpackItem(bytes: Uint8Array, at: number): { size: number; items: number } | undefined {
  const b = bytes[at]!;
  const u8 = () => bytes[at + 1]!;
  const u16 = () => (bytes[at + 1]! << 8) | bytes[at + 2]!;
  const u32 = () => ((bytes[at + 1]! << 24) >>> 0) + ((bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!);
  if (b <= 0x7f || b >= 0xe0) return { size: 1, items: 0 };
  if (b <= 0x8f) return { size: 1, items: 2 * (b & 0x0f) };
  if (b <= 0x9f) return { size: 1, items: b & 0x0f };
  if (b <= 0xbf) return { size: 1 + (b & 0x1f), items: 0 };
  switch (b) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return { size: 1, items: 0 };
    case 0xc4:
    case 0xd9:
      return { size: 2 + u8(), items: 0 };
    case 0xc5:
    case 0xda:
      return { size: 3 + u16(), items: 0 };
    case 0xc6:
    case 0xdb:
      return { size: 5 + u32(), items: 0 };
    case 0xc7:
      return { size: 3 + u8(), items: 0 };
    case 0xc8:
      return { size: 4 + u16(), items: 0 };
    case 0xc9:
      return { size: 6 + u32(), items: 0 };
    case 0xca:
    case 0xd2:
    case 0xce:
      return { size: 5, items: 0 };
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return { size: 9, items: 0 };
    case 0xcc:
    case 0xd0:
      return { size: 2, items: 0 };
    case 0xcd:
    case 0xd1:
      return { size: 3, items: 0 };
    case 0xd4:
      return { size: 3, items: 0 };
    case 0xd5:
      return { size: 4, items: 0 };
    case 0xd6:
      return { size: 6, items: 0 };
    case 0xd7:
      return { size: 10, items: 0 };
    case 0xd8:
      return { size: 18, items: 0 };
    case 0xdc:
      return { size: 3, items: u16() };
    case 0xdd:
      return { size: 5, items: u32() };
    case 0xde:
      return { size: 3, items: 2 * u16() };
    case 0xdf:
      return { size: 5, items: 2 * u32() };
    default:
      return undefined; // 0xc1: never used
  }
}

/** Walks one MessagePack value without decoding it: depth, truncation and trailing bytes, each a 400. */
function scanMsgpack(bytes: Uint8Array, maxDepth: number): void {
  const pending: number[] = [];
  let at = 0;
  do {
    if (at >= bytes.length) throw new BadRequestError(`The MessagePack body ends at byte ${bytes.length}, inside a value.`);
    const item = msgpackItem(bytes, at);
    if (!item) throw new BadRequestError(`The body is not valid MessagePack: byte 0x${bytes[at]!.toString(16)} at offset ${at} starts no value.`);
    // `!(… <= …)`: a length byte past the end makes the size NaN, which is a truncation too
    if (!(at + item.size <= bytes.length)) throw new BadRequestError(`The MessagePack body ends at byte ${bytes.length}, inside the value at offset ${at}.`);
    at += item.size;
    if (pending.length > 0) pending[pending.length - 1]!--;
    if (item.items > 0) {
      if (item.items > bytes.length - at) throw new BadRequestError(`The MessagePack container at offset ${at - item.size} claims ${item.items} items; the body holds fewer bytes.`);
      pending.push(item.items);
      if (pending.length > maxDepth) throw new BadRequestError(`The MessagePack is nested deeper than ${maxDepth} levels (at byte offset ${at - item.size}).`);
    }
    while (pending.length > 0 && pending[pending.length - 1] === 0) pending.pop();
  } while (pending.length > 0);
  if (at !== bytes.length) throw new BadRequestError(`The body holds bytes after its MessagePack value (from offset ${at}); send one value, a record or an array.`);
}

/** Counts nesting on cborg's token stream (which does not recurse): deeper than `maxDepth` is a 400. */
function scanCbor(bytes: Uint8Array, maxDepth: number, options: object): void {
  const tokens = new Tokenizer(bytes, options);
  const pending: number[] = [];
  do {
    if (tokens.done()) throw new BadRequestError(`The CBOR body ends at byte ${bytes.length}, inside a value.`);
    const at = tokens.pos();
    const token = tokens.next();
    if (pending.length > 0) pending[pending.length - 1]!--;
    const items = token.type === Type.array ? Number(token.value) : token.type === Type.map ? 2 * Number(token.value) : token.type === Type.tag ? 1 : 0;
    if (items > 0) {
      pending.push(items);
      if (pending.length > maxDepth) throw new BadRequestError(`The CBOR is nested deeper than ${maxDepth} levels (at byte offset ${at}).`);
    }
    while (pending.length > 0 && pending[pending.length - 1] === 0) pending.pop();
  } while (pending.length > 0);
  if (!tokens.done()) throw new BadRequestError(`The body holds bytes after its CBOR value (from offset ${tokens.pos()}); send one value, a record or an array.`);
}
