import protobuf from 'protobufjs';
import { BadRequestError, PayloadTooLargeError, type Issue } from '../../../shared/domain/errors';
import type { Stream } from '../../../shared/domain/stream-definition';
import { fieldNumbersOf, PROTO_TYPE, protoFieldNames, protoPackage, RECORDS_MESSAGE, streamProto } from '../../../shared/domain/stream-proto';
import type { BodyLimits } from '../body';
import { firstInvalidUtf8 } from '../body';

/** Wire type of each protobuf scalar the `.proto` uses (varint 0, 64-bit 1, length-delimited 2). */
const WIRE: Record<string, number> = { double: 1, sint64: 0, int64: 0, bool: 0, string: 2 };

interface CompiledProto {
  version: number;
  updatedAt: string;
  records: protobuf.Type;
  /** Field name and protobuf type by field number. */
  byNumber: Map<number, { name: string; type: string; schemaType: string }>;
}

const compiled = new Map<string, CompiledProto>();

/** The stream's `Records` type, parsed from its generated `.proto` (one source of truth), cached per version. */
function protoOf(stream: Stream): CompiledProto {
  const hit = compiled.get(stream.id);
  if (hit && hit.version === stream.version && hit.updatedAt === stream.updatedAt) return hit;
  const root = protobuf.parse(streamProto(stream), { keepCase: true }).root;
  const numbers = fieldNumbersOf(stream);
  const byNumber = new Map(
    protoFieldNames(stream).map((name) => {
      const schemaType = stream.schema[name]?.type ?? 'datetime';
      return [numbers[name]!, { name, type: PROTO_TYPE[schemaType], schemaType }] as const;
    }),
  );
  const entry = { version: stream.version, updatedAt: stream.updatedAt, records: root.lookupType(`${protoPackage(stream.id)}.${RECORDS_MESSAGE}`), byNumber };
  if (compiled.size >= 1_000) compiled.delete(compiled.keys().next().value!);
  compiled.set(stream.id, entry);
  return entry;
}

/**
 * `application/x-protobuf`: a `Records` message of the stream's `GET /v1/streams/{id}/schema.proto`, decoded
 * by protobufjs into the same records a JSON body carries. The bytes are first walked field by field: a field
 * number the stream does not have, a wire type other than its field's, bytes that end inside a field or a
 * string that is not UTF-8 is a 400 naming the record and the byte offset (a decoder that skips unknown
 * fields would acknowledge a value it dropped). Datetimes are epoch ms, objects and arrays JSON text.
 *
 * @example
 * decodeProtobufRecords(bytes, DEFAULT_LIMITS, stream); // [{ deviceId: 'f1', temperature: -18.5 }]
 */
export function decodeProtobufRecords(bytes: Uint8Array, limits: BodyLimits, stream: Stream): unknown[] {
  if (bytes.length > limits.maxBytes) throw new PayloadTooLargeError(`The body exceeds ${limits.maxBytes} bytes; split it into several requests.`);
  const proto = protoOf(stream);
  const count = walk(bytes, proto, limits);
  if (count === 0) throw new BadRequestError('The body holds no records; send a Records message with at least one record.');
  let message: protobuf.Message;
  try {
    message = proto.records.decode(bytes);
  } catch (err) {
    throw new BadRequestError(`The body is not a Records message of the stream's schema.proto: ${(err as Error).message}`);
  }
  const decoded = proto.records.toObject(message, { longs: String, oneofs: false, defaults: false }) as { records?: Record<string, unknown>[] };
  const issues: Issue[] = [];
  const records = (decoded.records ?? []).map((raw, index) => {
    const record: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(raw)) {
      const spec = stream.schema[name] ?? (name === stream.timeField ? { type: 'datetime' as const } : undefined);
      if (!spec) continue;
      if (spec.type === 'integer' || spec.type === 'datetime') {
        const v = BigInt(value as string);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          issues.push({ index, path: [name], message: `${v} is beyond ±${Number.MAX_SAFE_INTEGER}, the largest integer kept exactly` });
          continue;
        }
        record[name] = Number(v);
      } else if (spec.type === 'object' || spec.type === 'array' || spec.type === 'graph') {
        try {
          record[name] = JSON.parse(value as string);
        } catch {
          issues.push({ index, path: [name], message: `must be the JSON text of ${spec.type === 'array' ? 'an array' : spec.type === 'graph' ? 'a graph' : 'an object'}` });
        }
      } else if (typeof value === 'number' && !Number.isFinite(value)) {
        issues.push({ index, path: [name], message: `${value} is not a finite number` });
      } else record[name] = value;
    }
    return record;
  });
  if (issues.length > 0) throw new BadRequestError(`The protobuf records hold values that cannot be taken: record ${issues[0]!.index}: ${issues[0]!.path.join('.')}: ${issues[0]!.message}`, issues);
  return records;
}

/** Checks every field of every record against the stream's numbering; returns the record count. */
function walk(bytes: Uint8Array, proto: CompiledProto, limits: BodyLimits): number {
  const r = protobuf.Reader.create(bytes);
  let index = 0;
  const fail = (message: string): never => {
    throw new BadRequestError(`The body is not a Records message of the stream's schema.proto: ${message}.`, [{ index, path: [], message }]);
  };
  try {
    while (r.pos < r.len) {
      const at = r.pos;
      const tag = r.uint32();
      if (tag !== ((1 << 3) | 2)) fail(`at byte offset ${at}, field ${tag >>> 3} (wire type ${tag & 7}) where Records has only 'records = 1' (length-delimited)`);
      const length = r.uint32();
      const end = r.pos + length;
      if (end > r.len) fail(`record ${index} at byte offset ${at} claims ${length} bytes; the body ends first`);
      if (index >= limits.maxRecords) throw new PayloadTooLargeError(`More than ${limits.maxRecords} records in one request; send at most ${limits.maxRecords} per request.`);
      while (r.pos < end) {
        const fieldAt = r.pos;
        const t = r.uint32();
        const number = t >>> 3;
        const wire = t & 7;
        const field = proto.byNumber.get(number);
        if (!field) fail(`record ${index}: field number ${number} (at byte offset ${fieldAt}) is not in the stream's schema; fetch schema.proto again`);
        if (WIRE[field!.type] !== wire) fail(`record ${index}: field '${field!.name}' (${number}) is ${field!.type}, sent with wire type ${wire}`);
        if (field!.type === 'string') {
          const text = r.bytes();
          const bad = firstInvalidUtf8(text);
          if (bad >= 0) fail(`record ${index}: field '${field!.name}' is not valid UTF-8 at its byte ${bad}`);
        } else r.skipType(wire);
      }
      if (r.pos !== end) fail(`record ${index} ends inside a field`);
      index++;
    }
  } catch (err) {
    if (err instanceof BadRequestError || err instanceof PayloadTooLargeError) throw err;
    fail(`the bytes end inside a field (${(err as Error).message})`);
  }
  return index;
}
