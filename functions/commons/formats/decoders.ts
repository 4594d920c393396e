import { parseRecordsText } from '../body';
import { decodeCborRecords, decodeMsgpackRecords } from './binary';
import { decodeCsv } from './csv';
import type { RecordsDecoder } from './decoder';
import { decodeNdjson } from './ndjson';
import { decodeProtobufRecords } from './protobuf';

const json: RecordsDecoder = (body, { limits }) => parseRecordsText(body.text(), limits);
const msgpack: RecordsDecoder = (body, { limits }) => ({ records: decodeMsgpackRecords(body.bytes(), limits) });
const cbor: RecordsDecoder = (body, { limits }) => ({ records: decodeCborRecords(body.bytes(), limits) });
// protobuf's message is the stream's own schema: decoded once the stream is known
const protobuf: RecordsDecoder = async (body, { limits, stream }) => ({ records: decodeProtobufRecords(body.bytes(), limits, await stream()) });

/**
 * The media types an ingest body may have, each to its decoder (one file per format). Any `+json` type is
 * JSON too. A type not listed is a 415 that lists these.
 */
export const DECODERS: Readonly<Record<string, RecordsDecoder>> = {
  'application/json': json,
  'application/x-ndjson': decodeNdjson,
  'application/ndjson': decodeNdjson,
  'text/csv': decodeCsv,
  'application/msgpack': msgpack,
  'application/x-msgpack': msgpack,
  'application/vnd.msgpack': msgpack,
  'application/cbor': cbor,
  'application/x-protobuf': protobuf,
  'application/protobuf': protobuf,
};
