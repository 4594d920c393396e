import { gzipSync } from 'node:zlib';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { HttpEvent } from '../../functions/commons/http';
import { makeIngestHandler } from '../../functions/ingest/app';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import type { IngestEnvelope } from '../../shared/ports';

const NOW = Date.parse('2026-12-03T20:00:00Z');
const NS = BigInt(NOW - 60_000) * 1_000_000n;
const context = { awsRequestId: 'test', getRemainingTimeInMillis: () => 30_000 } as Context;

function stream(id: string, validation: 'strict' | 'lenient', state: 'active' | 'paused' = 'active'): Stream {
  const s = newStream(
    parseStreamInput({ id, name: id, type: 'iot_sensor', validation, schema: { host: { type: 'string', required: true }, port: { type: 'integer' }, v: { type: 'number', range: { max: 100 } } }, dimensions: ['host', 'port'] }),
    new Date(NOW),
    () => 'x',
  );
  return { ...s, state };
}

function setup(streams: Stream[]) {
  const sent: IngestEnvelope[] = [];
  const handler = makeIngestHandler({
    registry: { get: async (id: string) => streams.find((s) => s.id === id) } as never,
    queue: { send: async (envelopes: IngestEnvelope[]) => void sent.push(...envelopes) },
    idempotency: {} as never,
    clock: { now: () => NOW },
    log: { error: () => {}, info: () => {} },
    limits: { maxBytes: 1 << 20, maxRecords: 3, maxDepth: 32 },
  });
  const write = (path: '/write' | '/api/v2/write', body: string, opts: { query?: string; scopes?: string; headers?: Record<string, string>; base64?: string } = {}) =>
    handler(
      {
        version: '2.0',
        routeKey: `POST ${path}`,
        rawPath: path,
        rawQueryString: opts.query ?? (path === '/write' ? 'db=telegraf' : 'bucket=telegraf&org=o'),
        headers: { 'content-type': 'text/plain; charset=utf-8', ...opts.headers },
        body: opts.base64 ?? body,
        isBase64Encoded: opts.base64 !== undefined,
        requestContext: { requestId: 'r', authorizer: { lambda: { scopes: opts.scopes ?? 'ingest:a,ingest:b', principal: 'p' } } } as unknown as HttpEvent['requestContext'],
      },
      context,
    );
  return { sent, write };
}

describe('InfluxDB write endpoints', () => {
  it('queues the points of each measurement to its stream, tags typed as the schema says, and answers 204', async () => {
    const { sent, write } = setup([stream('a', 'strict'), stream('b', 'strict')]);
    const res = await write('/api/v2/write', `a,host=h1,port=8080 v=1.5 ${NS}\nb,host=h2 v=2i\n`);
    expect(res).toMatchObject({ statusCode: 204, body: '' });
    expect(sent).toEqual([
      { streamId: 'a', receivedAt: NOW, source: 'http', records: [{ host: 'h1', port: 8080, v: 1.5, timestamp: NOW - 60_000 }] },
      { streamId: 'b', receivedAt: NOW, source: 'http', records: [{ host: 'h2', v: 2 }] },
    ]);
  });

  it('refuses the whole body when a strict stream has a bad point, queuing nothing of any stream', async () => {
    const { sent, write } = setup([stream('a', 'lenient'), stream('b', 'strict')]);
    const res = await write('/write', `a,host=h v=1\nb,host=h v=101\n`);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body!)).toEqual({ error: expect.stringMatching(/^the body was refused, nothing of it written: line 2 \(b\): v: /) });
    expect(sent).toEqual([]);
  });

  it("answers a lenient stream's dropped points as InfluxDB's partial write (1.x 400, 2.x 422), its valid points queued", async () => {
    const { sent, write } = setup([stream('a', 'lenient')]);
    const v1 = await write('/write', `a,host=h v=1\na,host=h v=101\n`);
    expect(v1.statusCode).toBe(400);
    expect(JSON.parse(v1.body!).error).toMatch(/^partial write: 1 points written: line 2 \(a\): v: .* dropped=1$/);
    const v2 = await write('/api/v2/write', `a,host=h v=101\na,host=h v=2\n`);
    expect(v2.statusCode).toBe(422);
    expect(JSON.parse(v2.body!)).toMatchObject({ code: 'unprocessable entity', line: 1 });
    expect(sent.map((e) => e.records)).toEqual([[{ host: 'h', v: 1 }], [{ host: 'h', v: 2 }]]);
  });

  it('undoes a gzip body, as Telegraf sends by default, and refuses one inflating past the byte limit as 413', async () => {
    const { sent, write } = setup([stream('a', 'strict')]);
    const gz = (text: string) => ({ headers: { 'content-encoding': 'gzip' }, base64: gzipSync(text).toString('base64') });
    const ok = await write('/api/v2/write', '', gz(`a,host=h v=1 ${NS}\n`));
    expect(ok.statusCode).toBe(204);
    expect(sent.map((e) => e.records)).toEqual([[{ host: 'h', v: 1, timestamp: NOW - 60_000 }]]);
    const bomb = await write('/api/v2/write', '', gz(`a,host=h v=1 ${NS}\n`.padEnd(2 << 20, '#')));
    expect(bomb.statusCode).toBe(413);
    expect(JSON.parse(bomb.body!)).toMatchObject({ code: 'request too large' });
    expect(sent).toHaveLength(1);
  });

  it.each([
    ['a paused stream', [stream('a', 'strict', 'paused')], 'a,host=h v=1', {}, 409, 'conflict'],
    ['more lines than maxRecords', [stream('a', 'strict')], 'a,host=h v=1\na,host=h v=2\na,host=h v=3\na,host=h v=4', {}, 413, 'request too large'],
    ['a gzip header over bytes that are not gzip', [stream('a', 'strict')], 'a,host=h v=1', { headers: { 'content-encoding': 'gzip' } }, 400, 'invalid'],
    ['a coding InfluxDB does not take', [stream('a', 'strict')], 'a,host=h v=1', { headers: { 'content-encoding': 'zstd' } }, 415, 'unsupported media type'],
    ['a precision 2.x does not have', [stream('a', 'strict')], 'a,host=h v=1', { query: 'bucket=b&precision=h' }, 400, 'invalid'],
    ['an empty body', [stream('a', 'strict')], '', {}, 400, 'invalid'],
    ['a token with no ingest scope of the measurement', [stream('a', 'strict')], 'a,host=h v=1', { scopes: 'ingest:b' }, 403, 'forbidden'],
    ['a measurement that is no stream id', [stream('a', 'strict')], 'Not_A_Stream,host=h v=1', { scopes: 'admin' }, 404, 'not found'],
    ['the time field as a field', [stream('a', 'strict')], 'a,host=h timestamp=1i', {}, 400, 'invalid'],
  ] as const)('refuses %s with %i and the 2.x code', async (_what, streams, body, opts, status, code) => {
    const { sent, write } = setup([...streams]);
    const res = await write('/api/v2/write', body, opts);
    expect(res.statusCode).toBe(status);
    expect(JSON.parse(res.body!)).toMatchObject({ code, message: expect.any(String) });
    expect(sent).toEqual([]);
  });
});
