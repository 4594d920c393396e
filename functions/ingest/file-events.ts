import { createHash } from 'node:crypto';
import Busboy from '@fastify/busboy';
import { BadRequestError, PayloadTooLargeError } from '../../shared/domain/errors';
import type { PartStore } from '../../shared/ports';

/** The Flowcore document's fixed part size. */
export const PART_BYTES = 512 * 1024;
/** How many form fields besides `file` and `type` a file request may carry, and how long each. */
const MAX_FIELDS = 50;
const MAX_FIELD_BYTES = 8192;

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
  const { fields, file } = await readForm(body, contentType, opts.maxBytes);
  if (fields.type === undefined) throw new BadRequestError('Invalid file event.', [{ path: ['type'], message: 'a file event needs a type field (any text, for your own reference when rebuilding the file)' }]);
  if (!file) throw new BadRequestError('Invalid file event.', [{ path: ['file'], message: 'a file event needs a file field' }]);
  const { type, ...others } = fields;
  const checksum = createHash('sha256').update(file.bytes).digest('hex');
  const totalParts = Math.max(1, Math.ceil(file.bytes.length / PART_BYTES));
  const records: PartRecord[] = [];
  for (let i = 0; i < totalParts; i++) {
    const dataRef = `parts/${opts.streamId}/${opts.requestId}/${i + 1}`;
    await opts.parts.putPart(dataRef, file.bytes.subarray(i * PART_BYTES, (i + 1) * PART_BYTES));
    records.push({ ...others, fileName: file.name, fileSize: file.bytes.length, fileType: type, part: i + 1, totalParts, dataRef, checksum, hashType: 'SHA256' });
  }
  return records;
}

/** The form's fields and its one file, under the body limit; a second file or a field past the caps is a 400. */
function readForm(body: Buffer, contentType: string, maxBytes: number): Promise<{ fields: Record<string, string>; file?: { name: string; bytes: Buffer } }> {
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
      else if (!['__proto__', 'constructor', 'prototype', 'dataRef', 'data'].includes(name)) fields[name] = value;
      else fail(new BadRequestError('Invalid file event.', [{ path: [name], message: 'is a name a file event keeps for itself' }]));
    });
    parser.on('file', (name, stream, filename) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => fail(new PayloadTooLargeError(`The file is larger than the ${maxBytes} bytes a request may carry; upload it in a smaller request.`)));
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
