import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { StoreUnavailableError } from '../domain/errors';
import { contentDisposition } from '../domain/exports';
import type { ExportStore, ExportUpload } from '../ports';

export { EXPORTS_PREFIX } from '../domain/exports';

/** S3's smallest part but the last: parts are cut at this size, so memory holds at most one. */
export const EXPORT_PART_BYTES = 5 * 1024 * 1024;

/** How long an export's presigned GET URL is good for. */
export const EXPORT_URL_SECONDS = 3_600;

/**
 * `ExportStore` on the events bucket, under `exports/`: a multipart upload whose parts are 5 MiB (the last
 * smaller), completed and answered as a presigned GET URL (an hour) that names the download's filename.
 *
 * @example
 * const exports = new S3ExportStore({ s3: new S3Client({}), bucket: config.EVENTS_BUCKET });
 */
export class S3ExportStore implements ExportStore {
  constructor(private readonly options: { s3: S3Client; bucket: string; now?: () => number }) {}

  async begin(file: { key: string; contentType: string; filename: string }): Promise<ExportUpload> {
    const { s3, bucket } = this.options;
    const now = this.options.now ?? Date.now;
    const Key = file.key;
    const created = await call('CreateMultipartUpload', () => s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key, ContentType: file.contentType })));
    const UploadId = created.UploadId!;
    const parts: { ETag: string; PartNumber: number }[] = [];
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let total = 0;
    const sendPart = async () => {
      const body = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      const PartNumber = parts.length + 1;
      const out = await call('UploadPart', () => s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber, Body: body, ContentLength: body.length })));
      parts.push({ ETag: out.ETag!, PartNumber });
    };
    return {
      async push(bytes) {
        pending.push(bytes);
        pendingBytes += bytes.length;
        total += bytes.length;
        if (pendingBytes >= EXPORT_PART_BYTES) await sendPart();
      },
      async finish() {
        if (pendingBytes > 0 || parts.length === 0) await sendPart();
        await call('CompleteMultipartUpload', () => s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: parts } })));
        const signedAt = now();
        const url = await call('presign GetObject', () =>
          getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key, ResponseContentDisposition: contentDisposition(file.filename), ResponseContentType: file.contentType }), {
            expiresIn: EXPORT_URL_SECONDS,
            signingDate: new Date(signedAt),
          }),
        );
        return { url, expiresAt: signedAt + EXPORT_URL_SECONDS * 1000, bytes: total };
      },
      async abort() {
        await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId })).catch(() => undefined);
      },
    };
  }
}

/** Any failure of S3 here is the store's, never the client's: a `StoreUnavailableError` (503, retry). */
async function call<T>(what: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    throw new StoreUnavailableError(`S3 ${what} failed: ${(err as Error).name}.`, { cause: err });
  }
}
