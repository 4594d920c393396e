import { createHash } from 'node:crypto';
import Busboy from '@fastify/busboy';
import { BadRequestError, PayloadTooLargeError } from '../../shared/domain/errors';
import { MAX_FILE_FIELD_BYTES as MAX_FIELD_BYTES, MAX_FILE_FIELDS as MAX_FIELDS, PART_BYTES, partCount, RESERVED_FILE_FIELDS } from '../../shared/domain/file-uploads';
import type { PartStore } from '../../shared/ports';

export { PART_BYTES } from '../../shared/domain/file-uploads';
/** Parts stored at once while a file is cut. */
const PUTS_AT_ONCE = 8;

/** The path of a stream's uploads, for answers and refusals that point there. */
export const uploadsPath = (streamId: string) => `/v1/streams/${encodeURIComponent(streamId)}/uploads`;

/**
 * What a refusal of a file too large for one request says: where to send it instead.
 *
 * @example
 * fileTooLarge('scans', 'The body is 12582912 bytes; …'); // '… upload it with POST /v1/streams/scans/uploads …'
 */
export function fileTooLarge(streamId: string, why: string): string {
  return `${why} Send a larger file as an upload: POST ${uploadsPath(streamId)} {fileName, fileSize, checksum, type}, PUT the file to the uploadUrl answered, then POST its completeUrl.`;
}

/** One part event as the document specifies it, its bytes in the part store (`dataRef`) until a query reads them. */
export interface PartRecord extends Record<string, unknown> {
  fileName: string;
  fileSize: number;
  fileType: string;
  part: number;
  totalParts: number;
  dataRef: string;
  checksum: string;
  hashType: 'SHA256';
}

/**
 * A `multipart/form-data` request's file as the Flowcore document's multipart file events: the `file`
 * field cut into 512 KB parts `{fileName, fileSize, fileType, part, totalParts, data, checksum, hashType}`
 * (`fileType` is the required `type` field; `checksum` the SHA-256 of the whole file), every other field
 * added to each part. The parts' bytes go to the part store first, under `parts/<stream>/<request>/<n>`;
 * the records carry the keys (`dataRef`), which a query turns back into `data` (base64).
 *
 * @example
 * const records = await fileEvents(body, headers, { streamId, requestId, parts, maxBytes });
 */
export async function fileEvents(
  body: Buffer,
  contentType: string,
  opts: { streamId: string; requestId: string; parts: PartStore; maxBytes: number },
): Promise<PartRecord[]> {
  const { fields, file } = await readForm(body, contentType, opts.maxBytes, opts.streamId);
  if (fields.type === undefined) throw new BadRequestError('Invalid file event.', [{ path: ['type'], message: 'a file event needs a type field (any text, for your own reference when rebuilding the file)' }]);
  if (!file) throw new BadRequestError('Invalid file event.', [{ path: ['file'], message: 'a file event needs a file field' }]);
  const { type, ...others } = fields;
  return fileParts(file.bytes, { fileName: file.name, fileType: type, fields: others, keyPrefix: `parts/${opts.streamId}/${opts.requestId}`, parts: opts.parts });
}

/**
 * A file's bytes as its part events, whichever way it came (a multipart request, a completed upload): cut into
 * 512 KB parts stored under `<keyPrefix>/<n>` before any record is returned, each record carrying its part's
 * key, the SHA-256 of the whole file and `fields`. Storing the same file under the same prefix again writes
 * the same objects.
 *
 * @example
 * const records = await fileParts(bytes, { fileName: 'scan.tif', fileType: 'image/tiff', fields: {}, keyPrefix: 'parts/scans/u1', parts });
 */
export async function fileParts(
  bytes: Buffer,
  opts: { fileName: string; fileType: string; fields: Record<string, string>; keyPrefix: string; parts: PartStore; checksum?: string },
): Promise<PartRecord[]> {
  const checksum = opts.checksum ?? createHash('sha256').update(bytes).digest('hex');
  const totalParts = partCount(bytes.length);
  const records: PartRecord[] = [];
  for (let i = 0; i < totalParts; i++) {
    records.push({ ...opts.fields, fileName: opts.fileName, fileSize: bytes.length, fileType: opts.fileType, part: i + 1, totalParts, dataRef: `${opts.keyPrefix}/${i + 1}`, checksum, hashType: 'SHA256' });
  }
  for (let next = 0; next < totalParts; next += PUTS_AT_ONCE) {
    await Promise.all(records.slice(next, next + PUTS_AT_ONCE).map((r, k) => opts.parts.putPart(r.dataRef, bytes.subarray((next + k) * PART_BYTES, (next + k + 1) * PART_BYTES))));
  }
  return records;
}

/** The form's fields and its one file, under the body limit; a second file or a field past the caps is a 400. */
function readForm(body: Buffer, contentType: string, maxBytes: number, streamId: string): Promise<{ fields: Record<string, string>; file?: { name: string; bytes: Buffer } }> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = Object.create(null);
    let file: { name: string; bytes: Buffer } | undefined;
    let failed: Error | undefined;
    const fail = (err: Error) => {
      failed ??= err;
    };
    let parser: InstanceType<typeof Busboy>;
    try {
      parser = new Busboy({ headers: { 'content-type': contentType }, limits: { files: 1, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, fileSize: maxBytes } });
    } catch (err) {
      reject(new BadRequestError('Invalid file event.', [{ path: [], message: `the multipart body cannot be read: ${(err as Error).message}` }]));
      return;
    }
    parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (valueTruncated) fail(new BadRequestError('Invalid file event.', [{ path: [name], message: `a field is at most ${MAX_FIELD_BYTES} bytes` }]));
      else if (name === 'file') fail(new BadRequestError('Invalid file event.', [{ path: ['file'], message: 'must be a file part (with a filename), not a text field' }]));
      else if (!RESERVED_FILE_FIELDS.includes(name)) fields[name] = value;
      else fail(new BadRequestError('Invalid file event.', [{ path: [name], message: 'is a name a file event keeps for itself' }]));
    });
    parser.on('file', (name, stream, filename) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => fail(new PayloadTooLargeError(fileTooLarge(streamId, `The file is larger than the ${maxBytes} bytes a request may carry.`))));
      stream.on('end', () => {
        if (name !== 'file') fail(new BadRequestError('Invalid file event.', [{ path: [name], message: 'the file goes in the field named file' }]));
        else file = { name: filename || 'file', bytes: Buffer.concat(chunks) };
      });
    });
    parser.on('filesLimit', () => fail(new BadRequestError('Invalid file event.', [{ path: ['file'], message: 'one file per request' }])));
    parser.on('fieldsLimit', () => fail(new BadRequestError('Invalid file event.', [{ path: [], message: `at most ${MAX_FIELDS} fields besides the file` }])));
    parser.on('error', (err: Error) => fail(new BadRequestError('Invalid file event.', [{ path: [], message: `the multipart body cannot be read: ${err.message}` }])));
    parser.on('finish', () => (failed ? reject(failed) : resolve({ fields: { ...fields }, ...(file && { file }) })));
    parser.end(body);
  });
}
