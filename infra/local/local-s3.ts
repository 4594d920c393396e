import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startS3, type S3Server } from '../../shared/local/s3-server';

/** Where the data dir keeps the local S3's port, so that it outlives a restart. */
const PORT_FILE = 's3-port';

/** Whether `port` of 127.0.0.1 can be listened on now (s3rver throws an uncatchable error when it cannot). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * The local S3 (s3rver under `<dataDir>/s3`) on the port it had last time, kept in `<dataDir>/s3-port`, so
 * a presigned upload URL made before a restart still reaches it; any free port the first time, or when that
 * one is taken now (the new one is kept then).
 *
 * @example
 * const s3 = await startLocalS3(config.dataDir, [EVENTS_BUCKET]);
 */
export async function startLocalS3(dataDir: string, buckets: readonly string[]): Promise<S3Server> {
  const file = join(dataDir, PORT_FILE);
  const kept = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
  const port = Number.isInteger(kept) && kept > 0 && kept < 65_536 && (await portFree(kept)) ? kept : 0;
  const s3 = await startS3({ directory: join(dataDir, 's3'), buckets, port });
  const now = Number(new URL(s3.endpoint).port);
  if (now !== kept) await writeFile(file, `${now}\n`);
  return s3;
}
