import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { localS3Client } from '../../shared/aws/s3-local-client';
import { S3UploadStore, uploadKeys } from '../../shared/aws/s3-upload-store';
import { sweepUploads } from '../../shared/aws/s3-upload-sweep';
import { StoreUnavailableError } from '../../shared/domain/errors';
import { parseUploadRequest, uploadIntent, type UploadIntent } from '../../shared/domain/file-uploads';
import { startS3 } from '../../shared/local/s3-server';
import { startedForSuite } from '../fixtures/lifecycle';

/**
 * `S3UploadStore` against s3rver behind the local Signature V4 check: the intent round-trips, the presigned PUT
 * takes exactly the declared file, and the check refuses what S3 refuses (anonymous, expired, altered).
 */

/** The local S3's clock, moved by the tests that need a URL to expire. */
let skewMs = 0;
const s3 = startedForSuite(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-uploads-'));
  const server = await startS3({ directory: dir, buckets: ['events'], now: () => Date.now() + skewMs });
  return { ...server, close: async () => (await server.close(), await rm(dir, { recursive: true, force: true })) };
});

const store = () => new S3UploadStore({ s3: s3.client, bucket: 'events' });

function intentFor(file: Buffer, uploadId = randomBytes(12).toString('base64url'), now = Date.now()): UploadIntent {
  const request = parseUploadRequest({ fileName: 'scan.bin', fileSize: file.length, checksum: createHash('sha256').update(file).digest('hex'), type: 'scan', fields: { dock: '3' } });
  return uploadIntent(request, { streamId: 'scans', uploadId, now });
}

const put = (url: string, headers: Record<string, string>, body: Buffer) => {
  const { 'content-length': _length, ...sent } = headers;
  return fetch(url, { method: 'PUT', headers: sent, body }).then(async (r) => ({ status: r.status, code: /<Code>(\w+)<\/Code>/.exec(await r.text())?.[1] }));
};

describe('S3UploadStore on s3rver', () => {
  it('keeps the intent, presigns a PUT of exactly the file, and reads both back', async () => {
    const file = randomBytes(600_000);
    const intent = intentFor(file);
    const presigned = await store().create(intent);
    expect(presigned).toMatchObject({ method: 'PUT', headers: { 'content-length': '600000', 'x-amz-checksum-sha256': createHash('sha256').update(file).digest('base64') } });
    const url = new URL(presigned.url);
    expect(url.pathname).toBe(`/events/${uploadKeys('scans', intent.uploadId).file}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');

    const before = await store().open('scans', intent.uploadId);
    expect(before).toEqual({ intent });
    expect(await put(presigned.url, presigned.headers, file)).toEqual({ status: 200, code: undefined });
    const after = await store().open('scans', intent.uploadId);
    expect(after?.intent).toEqual(intent);
    expect(after?.uploaded?.size).toBe(file.length);
    expect((await after!.uploaded!.read()).equals(file)).toBe(true);
  });

  it('knows no upload it did not make, nor one of another stream', async () => {
    const intent = intentFor(randomBytes(10));
    await store().create(intent);
    expect(await store().open('scans', 'A'.repeat(16))).toBeUndefined();
    expect(await store().open('other', intent.uploadId)).toBeUndefined();
  });

  it('refuses a PUT of another length or with another checksum (403) and bytes that do not match it (400), keeping what was there', async () => {
    const file = randomBytes(1000);
    const intent = intentFor(file);
    const { url, headers } = await store().create(intent);
    expect(await put(url, headers, file)).toEqual({ status: 200, code: undefined });
    const other = randomBytes(1000);
    expect(await put(url, headers, randomBytes(999))).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(await put(url, headers, other)).toEqual({ status: 400, code: 'BadDigest' });
    expect(await put(url, { ...headers, 'x-amz-checksum-sha256': createHash('sha256').update(other).digest('base64') }, other)).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
    expect((await (await store().open('scans', intent.uploadId))!.uploaded!.read()).equals(file)).toBe(true);
  });

  it('refuses a PUT after its URL expired, and one signed by another key', async () => {
    const file = randomBytes(100);
    const { url, headers } = await store().create(intentFor(file));
    skewMs = 901_000;
    try {
      expect(await put(url, headers, file)).toEqual({ status: 403, code: 'AccessDenied' });
    } finally {
      skewMs = 0;
    }
    const stranger = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret' } });
    await expect(stranger.send(new GetObjectCommand({ Bucket: 'events', Key: 'uploads/x' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    stranger.destroy();
  });

  it('refuses anonymous requests, reads and writes alike', async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: 'events', Key: 'uploads/anon-check', Body: 'x' }));
    expect((await fetch(`${s3.endpoint}/events/uploads/anon-check`)).status).toBe(403);
    expect((await fetch(`${s3.endpoint}/events/uploads/anon-check`, { method: 'PUT', body: 'y' })).status).toBe(403);
    expect((await fetch(`${s3.endpoint}/events?list-type=2`)).status).toBe(403);
    const still = await localS3Client(s3.endpoint).send(new GetObjectCommand({ Bucket: 'events', Key: 'uploads/anon-check' }));
    expect(await still.Body!.transformToString()).toBe('x');
  });

  it('sweeps uploads a day old, completed or not, and leaves younger ones and other prefixes alone', async () => {
    const file = randomBytes(10);
    const intent = intentFor(file);
    const { url, headers } = await store().create(intent);
    expect((await put(url, headers, file)).status).toBe(200);
    await s3.client.send(new PutObjectCommand({ Bucket: 'events', Key: 'parts/scans/r1/1', Body: 'part' }));
    expect(await sweepUploads({ s3: s3.client, bucket: 'events', now: Date.now() })).toBe(0);
    expect(await store().open('scans', intent.uploadId)).toBeDefined();
    expect(await sweepUploads({ s3: s3.client, bucket: 'events', now: Date.now() + 25 * 3_600_000 })).toBeGreaterThanOrEqual(2);
    expect(await store().open('scans', intent.uploadId)).toBeUndefined();
    const part = await s3.client.send(new GetObjectCommand({ Bucket: 'events', Key: 'parts/scans/r1/1' }));
    expect(await part.Body!.transformToString()).toBe('part');
  });

  it('turns an unreachable S3 into StoreUnavailableError', async () => {
    const down = new S3UploadStore({ s3: localS3Client('http://127.0.0.1:9'), bucket: 'events' });
    await expect(down.open('scans', 'A'.repeat(16))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(down.create(intentFor(randomBytes(1)))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(sweepUploads({ s3: localS3Client('http://127.0.0.1:9'), bucket: 'events', now: 0 })).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
