import { describe, expect, it } from 'vitest';
import { BadRequestError, UploadIncompleteError } from '../../shared/domain/errors';
import { checkUploaded, isStaleUpload, MAX_UPLOAD_BYTES, PART_BYTES, parseUploadRequest, partCount, UPLOAD_RETENTION_MS, UPLOAD_URL_SECONDS, uploadIntent } from '../../shared/domain/file-uploads';

const CHECKSUM = 'a'.repeat(64);
const valid = { fileName: 'scan.tif', fileSize: 12 * 1024 * 1024, checksum: CHECKSUM, type: 'image/tiff' };

/** The issues' paths of the request's refusal. */
function refusedPaths(body: unknown): (string | number)[][] {
  try {
    parseUploadRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestError);
    return (err as BadRequestError).issues.map((i) => i.path);
  }
  throw new Error('expected a refusal');
}

describe('parseUploadRequest', () => {
  it('takes a file name, size, SHA-256, type and fields, the checksum in lower case', () => {
    expect(parseUploadRequest({ ...valid, checksum: 'AB'.repeat(32), fileType: 'image/tiff', fields: { scanner: 'dock-3' } })).toEqual({ ...valid, checksum: 'ab'.repeat(32), fileType: 'image/tiff', fields: { scanner: 'dock-3' } });
  });

  it('refuses a request without type or checksum, naming each field', () => {
    expect(refusedPaths({ fileName: 'a', fileSize: 1 })).toEqual([['checksum'], ['type']]);
  });

  it('refuses a checksum that is not 64 hex digits, an empty or oversized file and an unknown key', () => {
    expect(refusedPaths({ ...valid, checksum: 'xyz' })).toEqual([['checksum']]);
    expect(refusedPaths({ ...valid, fileSize: 0 })).toEqual([['fileSize']]);
    expect(refusedPaths({ ...valid, fileSize: MAX_UPLOAD_BYTES + 1 })).toEqual([['fileSize']]);
    expect(refusedPaths({ ...valid, fileSzie: 3 })).toEqual([[]]);
  });

  it('refuses fields a file event keeps for itself, and more than 50 fields', () => {
    expect(refusedPaths({ ...valid, fields: { data: 'x' } })).toEqual([['fields', 'data']]);
    expect(refusedPaths({ ...valid, fields: { dataRef: 'parts/other/1' } })).toEqual([['fields', 'dataRef']]);
    expect(refusedPaths({ ...valid, fields: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`f${i}`, 'v'])) })).toEqual([['fields']]);
  });

  it('refuses a __proto__ field before zod could drop it', () => {
    expect(refusedPaths(JSON.parse(`{"fileName":"a","fileSize":1,"checksum":"${CHECKSUM}","type":"t","fields":{"__proto__":{"x":1}}}`))).toEqual([['fields', '__proto__']]);
  });
});

describe('uploadIntent', () => {
  it('makes an intent whose PUT URL lives 15 minutes, of application/octet-stream unless told', () => {
    const intent = uploadIntent(parseUploadRequest(valid), { streamId: 'scans', uploadId: 'u'.repeat(16), now: 1_000 });
    expect(intent).toEqual({ uploadId: 'u'.repeat(16), streamId: 'scans', ...valid, fileType: 'application/octet-stream', fields: {}, createdAt: 1_000, urlExpiresAt: 1_000 + UPLOAD_URL_SECONDS * 1000 });
  });
});

describe('checkUploaded', () => {
  const intent = uploadIntent(parseUploadRequest({ ...valid, fileSize: 10 }), { streamId: 'scans', uploadId: 'u'.repeat(16), now: 0 });

  it('says to PUT the file first when nothing was uploaded', () => {
    expect(() => checkUploaded(intent, undefined)).toThrow(UploadIncompleteError);
    expect(() => checkUploaded(intent, undefined)).toThrow(/PUT the file to its uploadUrl first/);
  });

  it('refuses a file of another size or SHA-256, naming both', () => {
    expect(() => checkUploaded(intent, { size: 11 })).toThrow('The uploaded file is 11 bytes; the upload declared 10.');
    expect(() => checkUploaded(intent, { size: 10, checksum: 'b'.repeat(64) })).toThrow(`SHA-256 is ${'b'.repeat(64)}; the upload declared ${CHECKSUM}`);
  });

  it('passes the file declared', () => {
    expect(() => checkUploaded(intent, { size: 10, checksum: CHECKSUM })).not.toThrow();
    expect(() => checkUploaded(intent, { size: 10 })).not.toThrow();
  });
});

describe('partCount', () => {
  it('cuts files into 512 KB parts, an empty file into one', () => {
    expect([0, 1, PART_BYTES, PART_BYTES + 1, 12 * 1024 * 1024, MAX_UPLOAD_BYTES].map(partCount)).toEqual([1, 1, 1, 2, 24, 128]);
  });
});

describe('isStaleUpload', () => {
  it('keeps an upload a day and sweeps it after', () => {
    expect(isStaleUpload(0, UPLOAD_RETENTION_MS)).toBe(false);
    expect(isStaleUpload(0, UPLOAD_RETENTION_MS + 1)).toBe(true);
  });
});
