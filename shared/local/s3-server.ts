import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { AddressInfo } from 'node:net';
import { localS3Client, LOCAL_S3_CREDENTIALS, type S3Client } from '../aws/s3-local-client';
import S3rver from 's3rver';
import { makeS3SignatureCheck, type S3Refusal } from './s3-presigned-check';

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
 * In front of it, what s3rver leaves out and S3 does: every request must carry a valid Signature V4 (header
 * or presigned URL, `s3-presigned-check.ts`), so an anonymous, expired or altered request is a 403; a PUT
 * whose body does not match the `x-amz-checksum-sha256` it carries is a 400 BadDigest, nothing stored; and a
 * PUT is answered only once its object is written whole.
 *
 * @example
 * const s3 = await startS3({ directory: '.tributary/s3', buckets: ['tributary-events'] });
 */
export async function startS3(options: { directory: string; buckets: readonly string[]; port?: number; host?: string; now?: () => number }): Promise<S3Server> {
  const server = new S3rver({
    address: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  const check = makeS3SignatureCheck({ credentials: LOCAL_S3_CREDENTIALS, ...(options.now && { now: options.now }) });
  // s3rver's listen() serves this.callback(): the check answers first, s3rver only what passes it
  const served = server as unknown as { callback(): (req: IncomingMessage, res: ServerResponse) => void; store: S3rverStore };
  const handler = served.callback.bind(served);
  served.callback = () => {
    const next = handler();
    return (req, res) => {
      check({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }).then(
        (refusal) => (refusal ? refuse(req, res, refusal) : next(req, res)),
        () => refuse(req, res, { code: 'AccessDenied', status: 403, message: 'The request could not be checked.' }),
      );
    };
  };
  // s3rver answers a PUT once its bytes are handed to the file, not once they are in it (a listing or a read
  // right after sees part of the object): the object is written whole, and checked against its checksum, first
  const store = served.store;
  store.putObject = async (object) => {
    const content = object.content as IncomingMessage | Buffer;
    let bytes: Buffer;
    if (Buffer.isBuffer(content)) bytes = content;
    else {
      const chunks: Buffer[] = [];
      for await (const chunk of content) chunks.push(chunk as Buffer);
      bytes = Buffer.concat(chunks);
      // a completed multipart upload's object is its parts' stream, which carries no headers
      const declared = (content.headers as IncomingMessage['headers'] | undefined)?.['x-amz-checksum-sha256'];
      if (typeof declared === 'string' && createHash('sha256').update(bytes).digest('base64') !== declared) throw badDigest();
    }
    const path = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    const md5 = createHash('md5').update(bytes).digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: bytes.length, md5 };
  };
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

/** What of s3rver's filesystem store the PUT above uses (it has no types of its own). */
interface S3rverStore {
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
}

interface S3rverObject {
  bucket: string;
  key: string;
  content: unknown;
  metadata: unknown;
}

/** S3's XML error, and the connection closed when a body was on its way (it is never read). */
function refuse(req: IncomingMessage, res: ServerResponse, refusal: S3Refusal): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message.replace(/[<>&]/g, '')}</Message></Error>`;
  const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0' || req.headers['transfer-encoding'] !== undefined;
  res.writeHead(refusal.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-error-code': refusal.code, ...(hasBody && { connection: 'close' }) });
  res.end(body);
  if (hasBody) req.resume();
}

/** s3rver's own error class, so it renders the XML and status (400) S3 answers a body that does not match its checksum. */
function badDigest(): Error {
  const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error') as new (code: string, message: string) => Error;
  return new S3Error('BadDigest', 'The SHA256 you specified did not match the calculated checksum.');
}
