import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../shared/domain/errors';
import type { PointStore } from '../../shared/ports';
import { ADMIN, publishQos1, startLocal, type Local } from './harness';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const records = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ deviceId: 'd1', n: from + i, timestamp: new Date(T0 + (from + i) * 1000).toISOString() }));
const RANGE = `start=${new Date(T0).toISOString()}&end=${new Date(T0 + 86_400_000).toISOString()}&fields=n&limit=10000`;
const definition = { name: 'Faults', type: 'iot_sensor', schema: { deviceId: { type: 'string' }, n: { type: 'integer' } }, dimensions: ['deviceId'] };

/**
 * A point store that goes down on demand, as DuckDB or Timestream do: every call throws the port's
 * `StoreUnavailableError` (what the adapters turn their failures into) while `down` is set.
 */
function faultyStore() {
  const fault = { down: false };
  const wrap = (store: PointStore): PointStore =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'write' && prop !== 'query' && prop !== 'latest') return typeof value === 'function' ? value.bind(target) : value;
        return (...args: unknown[]) =>
          fault.down ? Promise.reject(new StoreUnavailableError('DuckDB could not be reached (injected outage).')) : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
  return { fault, wrap };
}

/** A DynamoDB that cannot be reached while `down` is set: the SDK call fails as a refused connection does. */
function faultyDynamo() {
  const fault = { down: false };
  const attach = (client: import('@aws-sdk/client-dynamodb').DynamoDBClient) =>
    client.middlewareStack.add(
      (next) => async (args) => {
        if (fault.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4567'), { code: 'ECONNREFUSED' });
        return next(args);
      },
      { step: 'initialize', name: 'injectedOutage' },
    );
  return { fault, attach };
}

const expectRetryLater = (r: { status: number; type: string; body: any; retryAfter: string | null }, status: number) => {
  expect(r.status).toBe(status);
  expect(r.type).toBe('application/problem+json');
  expect(r.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  expect(Number(r.retryAfter)).toBeGreaterThan(0);
};

async function call(local: Local, path: string, init: { token: string; body?: unknown }) {
  const res = await fetch(`${local.base}${path}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${init.token}`, 'content-type': 'application/json' },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', retryAfter: res.headers.get('retry-after'), body: text ? JSON.parse(text) : undefined };
}

async function ns(local: Local, id: string): Promise<number[]> {
  const r = await local.api(`/v1/streams/${id}/data?${RANGE}`);
  expect(r.status).toBe(200);
  return (r.body.points as { values: { n: number } }[]).map((p) => p.values.n).sort((a, b) => a - b);
}

describe('a point store outage: queries answer 503, ingest keeps acknowledging, nothing acknowledged is lost', () => {
  const store = faultyStore();
  let local: Local;
  let stream: { id: string; ingestToken: string };
  beforeAll(async () => {
    local = await startLocal({ faults: { pointStore: store.wrap } });
    stream = await local.createStream(definition);
  });
  afterAll(() => local?.close());

  it('answers 503 with Retry-After while the store is down and writes every acknowledged record once it is back', async () => {
    expect((await call(local, `/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: records(0, 10) })).status).toBe(202);
    await local.waitForPoints(stream.id, RANGE, (p) => p.length === 10);

    store.fault.down = true;
    expectRetryLater(await call(local, `/v1/streams/${stream.id}/data?${RANGE}`, { token: ADMIN }), 503);
    expectRetryLater(await call(local, `/v1/streams/${stream.id}/latest`, { token: ADMIN }), 503);
    expect((await call(local, `/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: records(10, 10) })).status).toBe(202);
    const device = await local.device('d1', stream.ingestToken);
    expect(await publishQos1(device, `tributary/${stream.id}/data`, JSON.stringify(records(20, 5)))).toBe('acked');
    // longer than the queue's retries (3 receives, 1 s apart): a store outage is not a poison message
    await sleep(6_000);
    store.fault.down = false;

    await local.waitForPoints(stream.id, RANGE, (p) => p.length === 25, 20_000);
    expect(await ns(local, stream.id)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(local.rt.queue.stats().deadLetters).toBe(0);
  }, 60_000);
});

describe('a full queue: ingest answers 429 with Retry-After, and what was acknowledged before is all written', () => {
  const store = faultyStore();
  let local: Local;
  let stream: { id: string; ingestToken: string };
  beforeAll(async () => {
    // the store down keeps the writer from draining the queue, which holds at most 50 records
    local = await startLocal({ faults: { pointStore: store.wrap }, queue: { maxDepthRecords: 50 } });
    stream = await local.createStream(definition);
  });
  afterAll(() => local?.close());

  it('429 once the queue holds its limit, over HTTP; MQTT refuses the publish; then everything acknowledged arrives', async () => {
    store.fault.down = true;
    const acked: number[] = [];
    let full: Awaited<ReturnType<typeof call>> | undefined;
    for (let from = 0; from < 200 && !full; from += 10) {
      const r = await call(local, `/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: records(from, 10) });
      if (r.status === 202) acked.push(...records(from, 10).map((rec) => rec.n));
      else full = r;
    }
    expect(full).toBeDefined();
    expectRetryLater(full!, 429);
    expect(acked.length).toBeGreaterThan(0);
    expect(acked.length).toBeLessThanOrEqual(50);
    const device = await local.device('d1', stream.ingestToken);
    expect(await publishQos1(device, `tributary/${stream.id}/data`, JSON.stringify(records(1000, 10)))).toBe('closed');

    store.fault.down = false;
    await local.waitForPoints(stream.id, RANGE, (p) => p.length === acked.length, 20_000);
    await sleep(300);
    expect(await ns(local, stream.id)).toEqual(acked);
    // once drained it takes data again
    expect((await call(local, `/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: records(500, 1) })).status).toBe(202);
  }, 60_000);
});

describe('a DynamoDB outage: every route answers 503 with Retry-After, never 500, and serves again after', () => {
  const dynamo = faultyDynamo();
  const store = faultyStore();
  let local: Local;
  let stream: { id: string; ingestToken: string };
  beforeAll(async () => {
    local = await startLocal({ faults: { dynamodb: dynamo.attach, pointStore: store.wrap } });
    stream = await local.createStream(definition);
    expect((await call(local, `/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: records(0, 5) })).status).toBe(202);
    await local.waitForPoints(stream.id, RANGE, (p) => p.length === 5);
  });
  afterAll(() => local?.close());

  it('answers 503 to a stream token (its lookup fails) and to the admin (the stream read fails)', async () => {
    dynamo.fault.down = true;
    try {
      expectRetryLater(await call(local, `/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: records(5, 5) }), 503);
      expectRetryLater(await call(local, `/v1/streams/${stream.id}/data`, { token: ADMIN, body: records(5, 5) }), 503);
      expectRetryLater(await call(local, '/v1/streams', { token: ADMIN }), 503);
      expectRetryLater(await call(local, `/v1/streams/${stream.id}/status`, { token: ADMIN }), 503);
    } finally {
      dynamo.fault.down = false;
    }
    expect((await call(local, `/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: records(5, 5) })).status).toBe(202);
    await local.waitForPoints(stream.id, RANGE, (p) => p.length === 10);
    expect(await ns(local, stream.id)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('records acknowledged before the outage wait in the queue for the table (the writer reads the stream there) and all arrive', async () => {
    store.fault.down = true; // holds them in the queue
    expect((await call(local, `/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: records(10, 5) })).status).toBe(202);
    dynamo.fault.down = true;
    store.fault.down = false;
    // longer than the queue's retries (3 receives, 1 s apart)
    await sleep(6_000);
    dynamo.fault.down = false;
    await local.waitForPoints(stream.id, RANGE, (p) => p.length === 15, 20_000);
    expect(await ns(local, stream.id)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(local.rt.queue.stats().deadLetters).toBe(0);
  }, 60_000);
});
