import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { StoreUnavailableError } from '../domain/errors';
import type { PartStore } from '../ports';

/** Where file events' parts live in the events bucket. */
export const PARTS_PREFIX = 'parts/';

/**
 * `PartStore` on the events bucket: one object per part, under `parts/`.
 *
 * @example
 * const parts = new S3PartStore({ s3: new S3Client({}), bucket: config.EVENTS_BUCKET });
 */
export class S3PartStore implements PartStore {
  constructor(private readonly options: { s3: S3Client; bucket: string }) {}

  async putPart(key: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.options.s3.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: bytes, ContentType: 'application/octet-stream' }));
    } catch (err) {
      throw new StoreUnavailableError(`S3 PutObject failed: ${(err as Error).name}.`, { cause: err });
    }
  }

  async getPart(key: string): Promise<Buffer> {
    try {
      const out = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      throw new StoreUnavailableError(`S3 GetObject failed: ${(err as Error).name}.`, { cause: err });
    }
  }
}
