import { S3Client } from '@aws-sdk/client-s3';

export type { S3Client } from '@aws-sdk/client-s3';

/**
 * An S3 client for an endpoint on this machine (s3rver): path-style addressing, a fixed region and
 * s3rver's own static credentials, so nothing is read from the environment or `~/.aws`.
 *
 * @example
 * const client = localS3Client('http://127.0.0.1:4568');
 */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
}
