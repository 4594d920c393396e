import { createHash, randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { startRuntimeProcess } from '../fixtures/runtime-process';
import { ADMIN, startLocal } from './harness';

/**
 * Multipart file events as the Flowcore ingestion document specifies them, on the local runtime: a file
 * posted to the batch URL becomes 512 KB part events, which the document's own reconstruction snippet
 * rebuilds byte for byte.
 */

const local = startedForSuite(() => startLocal());

/** A real PNG of random pixels (so it does not compress): width × height RGB. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.concat(Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), randomBytes(width * 3)])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

async function postFile(id: string, token: string, form: FormData): Promise<{ status: number; body: any }> {
  const res = await fetch(`${local.base}/v1/streams/${id}/webhook/batch`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: await res.json() };
}

describe('file events on the local runtime', () => {
  it('turns a 1.3 MB PNG into 3 part events that the document’s snippet rebuilds identically', async () => {
    const { id, ingestToken } = await local.createStream({ name: `Images ${Math.random()}`, type: 'event_stream', schema: { camera: { type: 'string' } } });
    const file = png(640, 680);
    expect(file.length).toBeGreaterThan(1_300_000);
    expect(file.length).toBeLessThan(1_400_000);
    const form = new FormData();
    form.append('file', new Blob([file], { type: 'image/png' }), 'file.png');
    form.append('type', 'image/png');
    form.append('camera', 'gate-2');
    const r = await postFile(id, ingestToken, form);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body).toMatchObject({ accepted: 3, parts: 3 });

    const events: any[] = [];
    let cursor: string | undefined;
    for (let tries = 0; events.length < 3 && tries < 200; tries++) {
      const page = await local.api(`/v1/streams/${id}/events?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      events.push(...page.body.events.map((e: any) => e.data));
      cursor = page.body.nextCursor;
      if (!cursor && events.length < 3) {
        events.length = 0;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    expect(events).toHaveLength(3);
    const checksum = createHash('sha256').update(file).digest('hex');
    for (const e of events) {
      expect(e).toMatchObject({ fileName: 'file.png', fileSize: file.length, fileType: 'image/png', totalParts: 3, checksum, hashType: 'SHA256', camera: 'gate-2' });
      expect(e).not.toHaveProperty('dataRef');
    }
    // the document's reconstruction, as written there
    const sorted = events.sort((a, b) => a.part - b.part);
    const data = sorted.map((event) => Buffer.from(event.data, 'base64'));
    const payload = Buffer.concat(data);
    expect(payload.equals(file)).toBe(true);
    expect(createHash('sha256').update(payload).digest('hex')).toBe(sorted[0].checksum);
    expect(sorted.map((e) => Buffer.from(e.data, 'base64').length)).toEqual([524_288, 524_288, file.length - 2 * 524_288]);
  });

  it('refuses a file without type, and a form without a file, with 400 naming the field, and stores nothing', async () => {
    const { id, ingestToken } = await local.createStream({ name: `Images ${Math.random()}`, type: 'event_stream', schema: { camera: { type: 'string' } } });
    const noType = new FormData();
    noType.append('file', new Blob([Buffer.from('hello')]), 'a.txt');
    const a = await postFile(id, ingestToken, noType);
    expect(a.status).toBe(400);
    expect(a.body.errors).toEqual([{ path: ['type'], message: expect.stringContaining('needs a type field') }]);
    const noFile = new FormData();
    noFile.append('type', 'text/plain');
    const b = await postFile(id, ingestToken, noFile);
    expect(b.status).toBe(400);
    expect(b.body.errors[0].path).toEqual(['file']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await local.api(`/v1/streams/${id}/events`)).body.events).toEqual([]);
  });
});

describe('file events through kill -9', () => {
  it('keeps every part of every upload acknowledged before the runtime was killed', async () => {
    const runtime = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN });
    try {
      const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
      const created: any = await (await fetch(`${runtime.base}/v1/streams`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'Uploads', type: 'event_stream', schema: { n: { type: 'integer' } } }) })).json();
      const file = randomBytes(1_100_000);
      const acked: number[] = [];
      let stop = false;
      const uploader = (async () => {
        for (let n = 0; !stop; n++) {
          const form = new FormData();
          form.append('file', new Blob([file]), `f${n}.bin`);
          form.append('type', 'application/octet-stream');
          form.append('n', String(n));
          try {
            const res = await fetch(`${runtime.base}/v1/streams/${created.id}/webhook/batch`, { method: 'POST', headers: { authorization: `Bearer ${created.ingestToken}` }, body: form });
            if (res.status === 202) acked.push(n);
          } catch {
            // the runtime went away mid-request: this upload was never acknowledged
          }
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await runtime.kill();
      stop = true;
      await uploader;
      expect(acked.length).toBeGreaterThan(0);
      await runtime.start();
      const parts = new Map<string, Buffer[]>();
      for (let tries = 0; tries < 300; tries++) {
        parts.clear();
        let cursor: string | undefined;
        do {
          const page: any = await (await fetch(`${runtime.base}/v1/streams/${created.id}/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { headers: admin })).json();
          for (const e of page.events) parts.set(e.data.fileName, [...(parts.get(e.data.fileName) ?? []), Buffer.from(e.data.data, 'base64')]);
          cursor = page.nextCursor;
        } while (cursor);
        if (acked.every((n) => parts.get(`f${n}.bin`)?.length === 3)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (const n of acked) expect(Buffer.concat(parts.get(`f${n}.bin`) ?? []).equals(file), `upload ${n}`).toBe(true);
    } finally {
      await runtime.close();
    }
  }, 60_000);
});
