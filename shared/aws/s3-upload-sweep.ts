import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { StoreUnavailableError } from '../domain/errors';
import { isStaleUpload } from '../domain/file-uploads';
import { UPLOADS_PREFIX } from './s3-upload-store';

/**
 * Deletes the uploads (intents and files) stored more than a day before `now`, completed or not: on one
 * machine, what the bucket's `expire-uploads` lifecycle rule does in AWS (with `prefix: 'exports/'`, what
 * `expire-exports` does for export files). Resolves to how many objects went.
 *
 * @example
 * const removed = await sweepUploads({ s3: s3.client, bucket: 'tributary-events', now: Date.now() });
 */
export async function sweepUploads(options: { s3: S3Client; bucket: string; now: number; prefix?: string }): Promise<number> {
  const prefix = options.prefix ?? UPLOADS_PREFIX;
  let removed = 0;
  let token: string | undefined;
  try {
    do {
      const page = await options.s3.send(new ListObjectsV2Command({ Bucket: options.bucket, Prefix: prefix, ...(token && { ContinuationToken: token }) }));
      const stale = (page.Contents ?? []).filter((o) => o.Key && o.LastModified && isStaleUpload(o.LastModified.getTime(), options.now)).map((o) => ({ Key: o.Key! }));
      if (stale.length) {
        await options.s3.send(new DeleteObjectsCommand({ Bucket: options.bucket, Delete: { Objects: stale, Quiet: true } }));
        removed += stale.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    throw new StoreUnavailableError(`S3 sweep of ${prefix} failed: ${(err as Error).name}.`, { cause: err });
  }
  return removed;
}
