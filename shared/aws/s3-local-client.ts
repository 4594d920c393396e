import { S3Client } from '@aws-sdk/client-s3';

export type { S3Client } from '@aws-sdk/client-s3';

/** s3rver's own static credentials: the only key the local S3 accepts (`shared/local/s3-presigned-check.ts`). */
export const LOCAL_S3_CREDENTIALS = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });

/**
 * An S3 client for an endpoint on this machine (s3rver): path-style addressing, a fixed region and
 * s3rver's own static credentials, so nothing is read from the environment or `~/.aws`.
 *
 * @example
 * const client = localS3Client('http://127.0.0.1:4568');
 */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...LOCAL_S3_CREDENTIALS } });
}
