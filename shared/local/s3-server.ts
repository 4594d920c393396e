import type { AddressInfo } from 'node:net';
import { localS3Client, type S3Client } from '../aws/s3-local-client';
import S3rver from 's3rver';

/**
 * A running s3rver (S3's API over HTTP on files in a directory) and a client bound to it.
 *
 * @example
 * const s3 = await startS3({ directory: join(dataDir, 's3'), buckets: ['tributary-events'] });
 * await s3.close();
 */
export interface S3Server {
  endpoint: string;
  client: S3Client;
  close(): Promise<void>;
}

/**
 * Starts s3rver on 127.0.0.1 (a free port unless given) over `directory`, with `buckets` made if missing:
 * what the local runtime uses where AWS has S3, driven by the same adapters.
 *
 * @example
 * const s3 = await startS3({ directory: '.tributary/s3', buckets: ['tributary-events'] });
 */
export async function startS3(options: { directory: string; buckets: readonly string[]; port?: number; host?: string }): Promise<S3Server> {
  const server = new S3rver({
    address: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  const address = (await server.run()) as unknown as AddressInfo;
  const endpoint = `http://${address.address}:${address.port}`;
  const client = localS3Client(endpoint);
  return {
    endpoint,
    client,
    async close() {
      client.destroy();
      await server.close();
    },
  };
}
