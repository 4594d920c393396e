import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { StoreUnavailableError } from '../domain/errors';
import type { UploadIntent } from '../domain/file-uploads';
import type { PresignedUpload, UploadStore } from '../ports';

/** Where uploads live in the events bucket: `uploads/<stream>/<upload>.json` (the intent) and `uploads/<stream>/<upload>` (the file). */
export const UPLOADS_PREFIX = 'uploads/';

/** The file's key and its intent's, side by side, so one prefix listing finds both. */
export const uploadKeys = (streamId: string, uploadId: string) => ({ file: `${UPLOADS_PREFIX}${streamId}/${uploadId}`, intent: `${UPLOADS_PREFIX}${streamId}/${uploadId}.json` });

/**
 * `UploadStore` on the events bucket, under `uploads/`. The PUT URL is presigned (SigV4 query parameters) for
 * `content-length` and `x-amz-checksum-sha256`, both signed headers: S3 refuses a PUT of another length (403),
 * another declared checksum (403), or bytes that do not match the checksum (400 BadDigest). Whether an upload
 * and its file exist is read with one `ListObjectsV2` on the upload's own prefix, so a missing key is never
 * asked for with GetObject (without `s3:ListBucket` on the key, S3 answers that with 403, not 404).
 *
 * @example
 * const uploads = new S3UploadStore({ s3: new S3Client({}), bucket: config.EVENTS_BUCKET });
 */
export class S3UploadStore implements UploadStore {
  constructor(private readonly options: { s3: S3Client; bucket: string }) {}

  async create(intent: UploadIntent): Promise<PresignedUpload> {
    const keys = uploadKeys(intent.streamId, intent.uploadId);
    const checksum = Buffer.from(intent.checksum, 'hex').toString('base64');
    await this.call('PutObject', () =>
      this.options.s3.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: keys.intent, Body: JSON.stringify(intent), ContentType: 'application/json' })),
    );
    const expiresIn = Math.max(1, Math.round((intent.urlExpiresAt - intent.createdAt) / 1000));
    const url = await this.call('presign PutObject', () =>
      getSignedUrl(
        this.options.s3,
        new PutObjectCommand({ Bucket: this.options.bucket, Key: keys.file, ContentLength: intent.fileSize, ChecksumSHA256: checksum, ContentType: intent.fileType }),
        {
          expiresIn,
          signingDate: new Date(intent.createdAt),
          // signed, and sent as headers: the length and the checksum are what the URL is good for
          signableHeaders: new Set(['content-length']),
          unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
        },
      ),
    );
    return { url, method: 'PUT', headers: { 'content-length': String(intent.fileSize), 'x-amz-checksum-sha256': checksum, 'content-type': intent.fileType } };
  }

  async open(streamId: string, uploadId: string): Promise<{ intent: UploadIntent; uploaded?: { size: number; read(): Promise<Buffer> } } | undefined> {
    const keys = uploadKeys(streamId, uploadId);
    const listed = await this.call('ListObjectsV2', () => this.options.s3.send(new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: keys.file, MaxKeys: 10 })));
    const found = new Map((listed.Contents ?? []).map((o) => [o.Key, o.Size ?? 0]));
    if (!found.has(keys.intent)) return undefined;
    const intent = JSON.parse((await this.read(keys.intent)).toString('utf8')) as UploadIntent;
    const size = found.get(keys.file);
    return size === undefined ? { intent } : { intent, uploaded: { size, read: () => this.read(keys.file) } };
  }

  private async read(key: string): Promise<Buffer> {
    const out = await this.call('GetObject', () => this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key })));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  /** Any failure of S3 here is the store's, never the client's: a `StoreUnavailableError` (503, retry). */
  private async call<T>(what: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw new StoreUnavailableError(`S3 ${what} failed: ${(err as Error).name}.`, { cause: err });
    }
  }
}
