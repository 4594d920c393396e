import { parseRecordsText } from '../body';
import { decodeCsv } from './csv';
import type { RecordsDecoder } from './decoder';
import { decodeNdjson } from './ndjson';

const json: RecordsDecoder = (body, { limits }) => parseRecordsText(body.text(), limits);

/**
 * The media types an ingest body may have, each to its decoder (one file per format). Any `+json` type is
 * JSON too. A type not listed is a 415 that lists these.
 */
export const DECODERS: Readonly<Record<string, RecordsDecoder>> = {
  'application/json': json,
  'application/x-ndjson': decodeNdjson,
  'application/ndjson': decodeNdjson,
  'text/csv': decodeCsv,
};
