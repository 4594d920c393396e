import { BadRequestError, PayloadTooLargeError } from '../../../shared/domain/errors';
import { depthExceeds, requireWithinSize } from '../body';
import type { RecordsDecoder } from './decoder';

/**
 * `application/x-ndjson` (and `application/ndjson`): one JSON record per line, `\n` or `\r\n` between them,
 * blank lines skipped, a leading byte order mark dropped. A line that is not JSON is a 400 whose issue's
 * `index` is the line's 0-based position in the body (line 1 is index 0); so are the records' validation
 * issues (`positions`). The records' text is joined into `json` for the queue, as a JSON body's is.
 *
 * @example
 * decodeNdjson(textBody('{"t":1}\n{"t":2}\n'), ctx); // { records: [{t:1},{t:2}], json: '[{"t":1},{"t":2}]', positions: [0, 1] }
 */
export const decodeNdjson: RecordsDecoder = (body, { limits, what }) => {
  const text = body.text();
  requireWithinSize(text, limits);
  const records: unknown[] = [];
  const texts: string[] = [];
  const positions: number[] = [];
  let line = 0;
  for (let start = text.charCodeAt(0) === 0xfeff ? 1 : 0; start <= text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const content = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    if (content.trim() === '') continue;
    if (records.length === limits.maxRecords) {
      throw new PayloadTooLargeError(`More than ${limits.maxRecords} records in one request; send at most ${limits.maxRecords} per request.`);
    }
    const deep = depthExceeds(content, limits.maxDepth);
    if (deep >= 0) throw lineError(line, `nested deeper than ${limits.maxDepth} levels (at character ${deep + 1})`);
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (err) {
      throw lineError(line, `not valid JSON: ${(err as Error).message}`);
    }
    records.push(value);
    texts.push(content);
    positions.push(line);
  }
  if (records.length === 0) throw new BadRequestError(`${what} has no records; send one JSON record per line.`);
  return { records, json: `[${texts.join(',')}]`, positions };
};

function lineError(line: number, message: string): BadRequestError {
  return new BadRequestError(`Line ${line + 1} of the NDJSON is ${message}.`, [{ index: line, path: [], message: `line ${line + 1}: ${message}` }]);
}
