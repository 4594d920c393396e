import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryApiError, TributaryClient, type StreamDefinition } from '../../packages/client/src/index';
import { documentDefinition } from '../fixtures/data-streams';
import { startFlakyProxy, type FlakyProxy } from '../fixtures/flaky-proxy';
import { openApiConformance } from '../fixtures/openapi-conformance';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';

const ADMIN = 'trb_sdk-admin-token-0123456789abcdefgh';
const N = 100_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('@tributary/client against the local runtime, through a proxy that throttles and drops answers', () => {
  let rt: RuntimeProcess;
  let proxy: FlakyProxy;
  let conform: ReturnType<typeof openApiConformance>;
  let checked: ReturnType<ReturnType<typeof openApiConformance>['wrap']>;
  const retries: { status?: number; delayMs: number }[] = [];
  let client: TributaryClient;

  beforeAll(async () => {
    rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN, TRIBUTARY_QUIET: '1' });
    // every 4th ingest request is throttled, every 4th (offset by 2) accepted with its answer dropped
    proxy = await startFlakyProxy(rt.base, (n) => (n % 4 === 1 ? 'throttle' : n % 4 === 3 ? 'drop' : 'forward'));
    conform = openApiConformance(await (await fetch(`${rt.base}/v1/openapi.json`)).json());
    checked = conform.wrap();
    client = new TributaryClient({ baseUrl: proxy.base, token: ADMIN, fetch: checked.fetch, onRetry: (r) => retries.push(r) });
  });
  afterAll(async () => {
    await proxy?.close();
    await rt?.close();
  });

  it(`creates a stream from the document's definition, ingests ${N.toLocaleString('en')} records with ingestBatch, and reads every one back exactly once`, async () => {
    const stream = await client.streams.create({ ...documentDefinition('basic-stream-creation'), id: 'sdk-temps' } as StreamDefinition);
    expect(stream).toMatchObject({ id: 'sdk-temps', vaultId: 'vault_abc123', status: 'active' });
    const records = Array.from({ length: N }, (_, i) => ({ timestamp: new Date(T0 + i * 1000).toISOString(), temperature: i }));
    const result = await client.streams.ingestBatch(stream.id, records, { token: stream.ingestToken, concurrency: 2 });
    expect(result).toMatchObject({ accepted: N, batches: 10, rejected: [] });
    expect(proxy.counts.throttled).toBeGreaterThanOrEqual(3);
    expect(proxy.counts.dropped).toBeGreaterThanOrEqual(2);
    // a dropped answer's retry carried the same Idempotency-Key: the server replayed its 202, stored nothing again
    expect(proxy.counts.replayed).toBe(proxy.counts.dropped);
    expect(retries.filter((r) => r.status === 429).every((r) => r.delayMs >= 1000 && r.delayMs <= 1200)).toBe(true);

    const until = Date.now() + 60_000;
    while ((await client.streams.status(stream.id)).pointsTotal < N && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
    const seen = new Map<number, number>();
    let pages = 0;
    for await (const page of client.streams.pages(stream.id, { start: T0, end: T0 + N * 1000, granularity: 'raw', limit: 10_000 })) {
      pages++;
      for (const p of page.points) {
        const t = p.values.temperature as number;
        seen.set(t, (seen.get(t) ?? 0) + 1);
        expect(p.time).toBe(new Date(T0 + t * 1000).toISOString());
      }
    }
    expect(pages).toBeGreaterThanOrEqual(10);
    expect(seen.size).toBe(N);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    expect((await client.streams.status(stream.id)).pointsTotal).toBe(N);
    expect(checked.problems).toEqual([]);
  }, 180_000);

  it('covers the rest of the documents’ methods, and refusals come back as TributaryApiError with the problem', async () => {
    const admin = new TributaryClient({ baseUrl: rt.base, token: ADMIN, fetch: checked.fetch });
    const s = await admin.streams.create({ id: 'sdk-small', name: 'Small', type: 'iot_sensor', schema: { deviceId: { type: 'string', required: true }, t: { type: 'number' } }, dimensions: ['deviceId'], validation: 'lenient' });
    expect((await admin.streams.update(s.id, { tags: { env: 'e2e' } })).tags).toEqual({ env: 'e2e' });
    expect((await admin.streams.list({ tags: { env: 'e2e' } })).streams.map((x) => x.id)).toEqual(['sdk-small']);
    const listed: string[] = [];
    for await (const x of admin.streams.listAll()) listed.push(x.id);
    expect(listed).toEqual(expect.arrayContaining(['sdk-small', 'sdk-temps']));
    const answer = await admin.streams.ingestBatch(s.id, [{ deviceId: 'a', t: 1 }, { deviceId: 'b', t: 'warm' }, { deviceId: 'c', t: 3 }, { t: 4 }], { token: s.ingestToken, maxRecords: 2 });
    expect(answer).toMatchObject({ accepted: 2, batches: 2 });
    expect(answer.rejected.map((r) => [r.index, r.path])).toEqual([[1, ['t']], [3, ['deviceId']]]);
    expect((await admin.streams.setAlerts(s.id, { rules: [{ name: 'hot', condition: 't > 30', severity: 'warning' }] })).alerts).toHaveLength(1);
    expect((await admin.streams.setProcessor(s.id, { transformations: [{ name: 'keep', function: 'function keep(data) { return data; }' }] })).pipeline).toHaveLength(1);
    expect((await admin.streams.pause(s.id)).state).toBe('paused');
    const paused = await admin.streams.ingest(s.id, { deviceId: 'a', t: 1 }, { token: s.ingestToken }).catch((e: unknown) => e);
    expect(paused).toBeInstanceOf(TributaryApiError);
    expect(paused).toMatchObject({ status: 409, problem: { title: 'Stream paused' } });
    expect(String((paused as Error).message)).not.toContain(s.ingestToken);
    expect((await admin.streams.resume(s.id)).state).toBe('active');
    expect((await admin.streams.latest(s.id)).points.length).toBeGreaterThanOrEqual(1);
    expect(await admin.alerts.list({ streamId: s.id })).toMatchObject({ alerts: [] });
    expect((await admin.streams.createToken(s.id, 'read')).scope).toBe(`read:${s.id}`);
    await admin.streams.delete(s.id);
    await expect(admin.streams.get(s.id)).rejects.toMatchObject({ status: 404 });
    expect((await admin.openapi()).openapi).toBe('3.1.0');
    expect(checked.problems).toEqual([]);
  });
  it('sends event headers and reads events back on either axis, across pages, as the OpenAPI document says', async () => {
    const admin = new TributaryClient({ baseUrl: rt.base, token: ADMIN, fetch: checked.fetch });
    const s = await admin.streams.create({ id: 'sdk-orders', name: 'Orders', type: 'event_stream', schema: { orderId: { type: 'string' }, placedAt: { type: 'datetime' } } });
    const orders = [3, 1, 2].map((n) => ({ orderId: `o-${n}`, placedAt: `2026-11-0${n}T00:00:00Z` }));
    await admin.streams.ingest(s.id, orders, { token: s.ingestToken, event: { metadata: { source: 'shop', note: 'é' }, validTimeKey: 'placedAt' } });
    const seen: string[] = [];
    for (let tries = 0; seen.length < 3 && tries < 100; tries++) {
      seen.length = 0;
      for await (const e of admin.streams.allEvents(s.id, { timeAxis: 'valid', start: '2026-10-01T00:00:00Z', limit: 2 })) seen.push(String(e.data.orderId));
      if (seen.length < 3) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(seen).toEqual(['o-1', 'o-2', 'o-3']);
    const page = await admin.streams.events(s.id, { timeAxis: 'valid', start: new Date('2026-10-01T00:00:00Z'), order: 'desc', limit: 1 });
    expect(page.events[0]).toMatchObject({ data: { orderId: 'o-3' }, metadata: { source: 'shop', note: 'é' }, validTime: '2026-11-03T00:00:00.000Z', storage: 'hot' });
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(checked.problems).toEqual([]);
  });

  it('uploads a file over the request limit with uploadFile: 24 part events rebuilt byte for byte, completing again changes nothing', async () => {
    const admin = new TributaryClient({ baseUrl: rt.base, token: ADMIN, fetch: checked.fetch });
    const s = await admin.streams.create({ id: 'sdk-scans', name: 'Scans', type: 'event_stream', schema: { dock: { type: 'string' } } });
    const { randomBytes, createHash } = await import('node:crypto');
    const file = randomBytes(12 * 1024 * 1024);
    const done = await admin.streams.uploadFile(s.id, new Blob([file]), { fileName: 'scan.bin', type: 'application/octet-stream', fields: { dock: '3' }, token: s.ingestToken });
    expect(done).toEqual({ accepted: 24, parts: 24, checksum: createHash('sha256').update(file).digest('hex'), uploadId: expect.any(String) });
    expect(await admin.streams.completeUpload(s.id, done.uploadId, { token: s.ingestToken })).toEqual(done);
    const parts: Record<string, unknown>[] = [];
    for (let tries = 0; parts.length < 24 && tries < 200; tries++) {
      parts.length = 0;
      for await (const e of admin.streams.allEvents(s.id, { limit: 100 })) parts.push(e.data);
      if (parts.length < 24) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(parts).toHaveLength(24);
    const sorted = parts.sort((a, b) => Number(a.part) - Number(b.part));
    expect(Buffer.concat(sorted.map((e) => Buffer.from(String(e.data), 'base64'))).equals(file)).toBe(true);
    expect(sorted[0]).toMatchObject({ dock: '3', fileName: 'scan.bin', totalParts: 24 });
    // the wrong token is refused before anything is made
    await expect(admin.streams.uploadFile(s.id, file.subarray(0, 10), { fileName: 'x', type: 't', token: 'trb_not-a-token' })).rejects.toMatchObject({ status: 401 });
    expect(checked.problems).toEqual([]);
  }, 60_000);
});
