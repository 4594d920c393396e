import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { openApiConformance } from '../fixtures/openapi-conformance';
import { startLocal } from './harness';

/**
 * Files over a request's size limit as presigned uploads, on the local runtime: the intent answers a PUT URL
 * into the local S3 (s3rver behind a Signature V4 check), the file goes there directly, and its completion
 * cuts it into the same 512 KB part events a multipart request makes, which the Flowcore document's own
 * reconstruction snippet rebuilds byte for byte.
 */

const local = startedForSuite(() => startLocal());

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function eventStream(): Promise<{ id: string; ingestToken: string }> {
  return local.createStream({ name: `Scans ${Math.random()}`, type: 'event_stream', schema: { scanner: { type: 'string' } } });
}

async function post(path: string, token: string | null, body?: unknown): Promise<{ status: number; type: string; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...(token !== null && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) };
  const res = await fetch(`${local.base}${path}`, { method: 'POST', headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function createUpload(id: string, token: string, file: Buffer, extra: Record<string, unknown> = {}) {
  return post(`/v1/streams/${id}/uploads`, token, { fileName: 'scan.tif', fileSize: file.length, checksum: sha256(file), type: 'image/tiff', ...extra });
}

async function put(upload: { uploadUrl: string; headers: Record<string, string> }, bytes: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; code: string | null }> {
  const { 'content-length': _length, ...sent } = { ...upload.headers, ...headers };
  const res = await fetch(upload.uploadUrl, { method: 'PUT', headers: sent, body: bytes });
  // S3's XML error names its code
  return { status: res.status, code: /<Code>(\w+)<\/Code>/.exec(await res.text())?.[1] ?? null };
}

/** Every event of the stream, across pages (a page holds at most 4 parts' bytes). */
async function allEvents(id: string): Promise<any[]> {
  const events: any[] = [];
  let cursor: string | undefined;
  do {
    const page = await local.api(`/v1/streams/${id}/events?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    events.push(...page.body.events.map((e: any) => e.data));
    cursor = page.body.nextCursor;
  } while (cursor);
  return events;
}

async function waitForEvents(id: string, count: number): Promise<any[]> {
  let events: any[] = [];
  for (let tries = 0; tries < 300; tries++) {
    events = await allEvents(id);
    if (events.length >= count) return events;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return events;
}

describe('presigned uploads on the local runtime', () => {
  it('keeps an upload URL working across a restart on the same data dir (the local S3 keeps its port)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-upload-restart-'));
    let rt = await startLocal({ dataDir });
    try {
      const stream = await rt.createStream({ name: `Scans ${Math.random()}`, type: 'event_stream', schema: { scanner: { type: 'string' } } });
      const file = randomBytes(700 * 1024);
      const res = await fetch(`${rt.base}/v1/streams/${stream.id}/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stream.ingestToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ fileName: 'scan.tif', fileSize: file.length, checksum: sha256(file), type: 'image/tiff' }),
      });
      const upload = (await res.json()) as { uploadUrl: string; headers: Record<string, string>; completeUrl: string };
      await rt.close();
      rt = await startLocal({ dataDir });
      expect(await put(upload, file)).toEqual({ status: 200, code: null });
      const done = await fetch(`${rt.base}${new URL(upload.completeUrl).pathname}`, { method: 'POST', headers: { authorization: `Bearer ${stream.ingestToken}` } });
      expect(done.status).toBe(202);
      expect(await done.json()).toMatchObject({ parts: 2, checksum: sha256(file) });
    } finally {
      await rt.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('turns a 12 MB file into 24 part events that the document’s snippet rebuilds identically', async () => {
    const { id, ingestToken } = await eventStream();
    const file = randomBytes(12 * 1024 * 1024);
    const created = await createUpload(id, ingestToken, file, { fields: { scanner: 'dock-3' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ method: 'PUT', parts: 24, completeUrl: `${local.base}/v1/streams/${id}/uploads/${created.body.uploadId}` });
    expect(new URL(created.body.uploadUrl).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host;x-amz-checksum-sha256');
    expect(Date.parse(created.body.expiresAt)).toBeGreaterThan(Date.now());

    expect(await put(created.body, file)).toEqual({ status: 200, code: null });
    const done = await post(new URL(created.body.completeUrl).pathname, ingestToken);
    expect(done.status, JSON.stringify(done.body)).toBe(202);
    expect(done.body).toEqual({ accepted: 24, parts: 24, checksum: sha256(file), uploadId: created.body.uploadId });

    const events = await waitForEvents(id, 24);
    expect(events).toHaveLength(24);
    for (const e of events) {
      expect(e).toMatchObject({ fileName: 'scan.tif', fileSize: file.length, fileType: 'image/tiff', totalParts: 24, checksum: sha256(file), hashType: 'SHA256', scanner: 'dock-3' });
      expect(e).not.toHaveProperty('dataRef');
    }
    // the document's reconstruction, as written there
    const sorted = events.sort((a, b) => a.part - b.part);
    const data = sorted.map((event) => Buffer.from(event.data, 'base64'));
    const payload = Buffer.concat(data);
    expect(payload.equals(file)).toBe(true);
    expect(sorted.map((e) => e.part)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  }, 60_000);

  it('refuses a PUT of another length, of other bytes or with another checksum, and completes with the file declared', async () => {
    const { id, ingestToken } = await eventStream();
    const file = randomBytes(700_000);
    const { body: upload } = await createUpload(id, ingestToken, file);
    const other = Buffer.from(file);
    other[12_345] = other[12_345]! ^ 0xff;
    // a longer body: its Content-Length is not the signed one
    expect(await put(upload, Buffer.concat([file, Buffer.from('x')]))).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
    // the same length, with the checksum the URL was signed for: S3's BadDigest
    expect(await put(upload, other)).toEqual({ status: 400, code: 'BadDigest' });
    // the same length, with its own checksum: not the signed header
    expect(await put(upload, other, { 'x-amz-checksum-sha256': createHash('sha256').update(other).digest('base64') })).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
    // a URL whose signature was edited, and a request without any
    const forged = new URL(upload.uploadUrl);
    forged.searchParams.set('X-Amz-Expires', '604800');
    expect(await put({ ...upload, uploadUrl: forged.toString() }, file)).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
    const bare = new URL(upload.uploadUrl);
    expect((await fetch(`${bare.origin}${bare.pathname}`, { method: 'PUT', body: file })).status).toBe(403);
    expect((await fetch(`${bare.origin}${bare.pathname}`)).status).toBe(403);

    expect((await post(`/v1/streams/${id}/uploads/${upload.uploadId}`, ingestToken)).status).toBe(409);
    expect((await put(upload, file)).status).toBe(200);
    expect((await post(`/v1/streams/${id}/uploads/${upload.uploadId}`, ingestToken)).status).toBe(202);
    const events = await waitForEvents(id, 2);
    expect(Buffer.concat(events.sort((a, b) => a.part - b.part).map((e) => Buffer.from(e.data, 'base64'))).equals(file)).toBe(true);
  }, 30_000);

  it('answers 409 to a completion before the PUT and 404 to an unknown upload, as problem+json saying why', async () => {
    const { id, ingestToken } = await eventStream();
    const file = randomBytes(1000);
    const { body: upload } = await createUpload(id, ingestToken, file);
    const early = await post(`/v1/streams/${id}/uploads/${upload.uploadId}`, ingestToken);
    expect(early.status).toBe(409);
    expect(early.type).toBe('application/problem+json');
    expect(early.body.detail).toContain('PUT the file to its uploadUrl first');
    const unknown = await post(`/v1/streams/${id}/uploads/AAAAAAAAAAAAAAAA`, ingestToken);
    expect(unknown.status).toBe(404);
    expect(unknown.type).toBe('application/problem+json');
    expect(unknown.body).toMatchObject({ title: 'Upload not found', detail: expect.stringContaining("'AAAAAAAAAAAAAAAA' does not exist") });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await allEvents(id)).toEqual([]);
  });

  it('takes the stream’s ingest token only: none is 401, another stream’s is 403, on both routes', async () => {
    const a = await eventStream();
    const b = await eventStream();
    const file = randomBytes(1000);
    expect((await createUpload(a.id, a.ingestToken, file)).status).toBe(201);
    const none = await post(`/v1/streams/${a.id}/uploads`, null, { fileName: 'a', fileSize: 1000, checksum: sha256(file), type: 't' });
    expect(none.status).toBe(401);
    expect((await createUpload(a.id, b.ingestToken, file)).status).toBe(403);
    const { body: upload } = await createUpload(a.id, a.ingestToken, file);
    expect((await put(upload, file)).status).toBe(200);
    expect((await post(`/v1/streams/${a.id}/uploads/${upload.uploadId}`, null)).status).toBe(401);
    expect((await post(`/v1/streams/${a.id}/uploads/${upload.uploadId}`, b.ingestToken)).status).toBe(403);
    // b's token on b's path does not reach a's upload either
    expect((await post(`/v1/streams/${b.id}/uploads/${upload.uploadId}`, b.ingestToken)).status).toBe(404);
  });

  it('completes an upload once: a second completion answers the same and racing ones 409, one file’s parts in all', async () => {
    const { id, ingestToken } = await eventStream();
    const file = randomBytes(3 * 512 * 1024 + 10);
    const { body: upload } = await createUpload(id, ingestToken, file);
    expect((await put(upload, file)).status).toBe(200);
    const path = `/v1/streams/${id}/uploads/${upload.uploadId}`;
    const racing = await Promise.all(Array.from({ length: 5 }, () => post(path, ingestToken)));
    const ran = racing.filter((r) => r.status === 202 && r.headers.get('idempotent-replayed') === null);
    expect(ran).toHaveLength(1);
    for (const r of racing) expect([202, 409]).toContain(r.status);
    for (const r of racing.filter((r) => r.status === 409)) expect(r.body.detail).toContain('is being completed by another request');
    const again = await post(path, ingestToken);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(ran[0]!.body);
    await waitForEvents(id, 4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const events = await allEvents(id);
    expect(events.map((e) => e.part).sort()).toEqual([1, 2, 3, 4]);
  }, 30_000);

  it('answers a multipart file over the size limit with 413 problem+json pointing to the uploads URL', async () => {
    const { id, ingestToken } = await eventStream();
    const form = new FormData();
    form.append('file', new Blob([randomBytes(6 * 1024 * 1024)]), 'big.bin');
    form.append('type', 'application/octet-stream');
    const res = await fetch(`${local.base}/v1/streams/${id}/webhook/batch`, { method: 'POST', headers: { authorization: `Bearer ${ingestToken}` }, body: form });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { detail: string }).detail).toContain(`POST /v1/streams/${id}/uploads`);
  });

  it('answers as the OpenAPI document says: 201, 202, 409 and 404 of both routes', async () => {
    const conform = openApiConformance((await local.api('/v1/openapi.json')).body);
    const { id, ingestToken } = await eventStream();
    const file = randomBytes(2000);
    const request = { fileName: 'a.bin', fileSize: file.length, checksum: sha256(file), type: 't', fields: { scanner: 's1' } };
    const created = await post(`/v1/streams/${id}/uploads`, ingestToken, request);
    const path = `/v1/streams/${id}/uploads/${created.body.uploadId}`;
    const early = await post(path, ingestToken);
    await put(created.body, file);
    const done = await post(path, ingestToken);
    const unknown = await post(`/v1/streams/${id}/uploads/AAAAAAAAAAAAAAAA`, ingestToken);
    const exchanges = [
      { method: 'POST', path: `/v1/streams/${id}/uploads`, requestBody: request, status: created.status, contentType: created.type, responseBody: created.body },
      ...[early, done, unknown].map((r, i) => ({ method: 'POST', path: i === 2 ? `/v1/streams/${id}/uploads/AAAAAAAAAAAAAAAA` : path, status: r.status, contentType: r.type, responseBody: r.body })),
    ];
    expect(exchanges.map((x) => x.status)).toEqual([201, 409, 202, 404]);
    expect(exchanges.flatMap((x) => conform.check(x))).toEqual([]);
  });

  it('refuses an upload that is not for an event stream, or that declares no type or checksum, with 400 naming the field', async () => {
    const { id, ingestToken } = await eventStream();
    const file = randomBytes(10);
    const noType = await post(`/v1/streams/${id}/uploads`, ingestToken, { fileName: 'a', fileSize: 10, checksum: sha256(file) });
    expect(noType.status).toBe(400);
    expect(noType.body.errors.map((e: any) => e.path)).toEqual([['type']]);
    const noSum = await post(`/v1/streams/${id}/uploads`, ingestToken, { fileName: 'a', fileSize: 10, type: 't' });
    expect(noSum.body.errors.map((e: any) => e.path)).toEqual([['checksum']]);
    const sensors = await local.createStream({ name: `Sensors ${Math.random()}`, type: 'iot_sensor', schema: { t: { type: 'number' } } });
    const notEvents = await createUpload(sensors.id, sensors.ingestToken, file);
    expect(notEvents.status).toBe(400);
    expect(notEvents.body.detail).toContain('event_stream');
  });
});
