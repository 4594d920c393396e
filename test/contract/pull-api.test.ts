import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { secretsFrom, usePullWorld } from '../fixtures/pull-world';
import { READINGS, startVendor, VENDOR_TOKEN } from '../fixtures/vendor-server';

const vendor = startedForSuite(startVendor);
const world = usePullWorld();

const schema = {
  sensor: { type: 'string', required: true },
  at: { type: 'datetime' },
  celsius: { type: 'number', range: { min: -50, max: 100 } },
};

function apiStream(id: string, source: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return world.create({
    id,
    name: id,
    type: 'api_pull',
    schema,
    timeField: 'at',
    dimensions: ['sensor'],
    source: { kind: 'api_pull', schedule: 'rate(5 minutes)', ...source },
    ...extra,
  });
}

const pagedSource = () => ({
  url: `${vendor.base}/readings`,
  headers: { authorization: 'Bearer ${secret:VENDOR_TOKEN}' },
  transform: 'data[]',
  paging: { type: 'next_link', path: 'links.next' },
  dedupe: { key: ['sensor'] },
});

describe('api_pull runs against a real HTTP server', () => {
  it('follows next links with the secret header, transforms, and stores every reading once', async () => {
    const stream = await apiStream('paged', pagedSource());
    const run = world.runnerWith(secretsFrom({ VENDOR_TOKEN }));
    const result = await run('paged', 'manual');
    expect(result).toMatchObject({ status: 'succeeded', pulled: 7, enqueued: 7, deduped: 0 });
    const points = await world.points(stream);
    expect(points.map((p) => [p.dimensions.sensor, new Date(p.time).toISOString(), p.values.celsius])).toEqual(
      READINGS.map((r) => [r.sensor, r.at, r.celsius]),
    );
  });

  it('sends nothing again when the same pages come back', async () => {
    const stream = await apiStream('again', pagedSource());
    const run = world.runnerWith(secretsFrom({ VENDOR_TOKEN }));
    await run('again', 'manual');
    const sentBefore = world.queue.sent.length;
    const second = await run('again', 'schedule');
    expect(second).toMatchObject({ status: 'succeeded', pulled: 7, enqueued: 0, deduped: 7 });
    expect(world.queue.sent.length).toBe(sentBefore);
    expect(await world.points(stream)).toHaveLength(7);
    const state = await world.state.get('again');
    expect(state).toMatchObject({ runs: 2, recordsPulled: 14, recordsEnqueued: 7, recordsDeduped: 7, lastStatus: 'succeeded' });
  });

  it('pages by a cursor parameter', async () => {
    const stream = await apiStream('cursor', {
      url: `${vendor.base}/cursor-readings`,
      transform: 'items[]',
      paging: { type: 'cursor', path: 'meta.next', param: 'after' },
    });
    const result = await world.runnerWith(secretsFrom({}))('cursor', 'manual');
    expect(result).toMatchObject({ status: 'succeeded', pulled: 7, enqueued: 7 });
    expect(await world.points(stream)).toHaveLength(7);
  });

  it('takes an array body as the records when there is no transform', async () => {
    await apiStream('plain', { url: `${vendor.base}/plain` });
    expect(await world.runnerWith(secretsFrom({}))('plain', 'manual')).toMatchObject({ status: 'succeeded', enqueued: 2 });
  });
});

describe('api_pull failures are a clear status and write nothing', () => {
  async function failing(id: string, source: Record<string, unknown>, secrets: Record<string, string> = {}) {
    const stream = await apiStream(id, source);
    const result = await world.runnerWith(secretsFrom(secrets))(id, 'schedule');
    expect(result.status).toBe('failed');
    expect(result.enqueued).toBe(0);
    expect(await world.points(stream)).toEqual([]);
    const state = await world.state.get(id);
    expect(state?.lastStatus).toBe('failed');
    expect(state?.lastError).toEqual({ at: expect.any(String), code: result.error!.code, message: result.error!.message });
    return { ...result.error!, issues: result.issues };
  }

  it('refuses the metadata address without connecting', async () => {
    const error = await failing('metadata', { url: 'http://169.254.169.254/latest/meta-data/' });
    expect(error.code).toBe('target.forbidden');
    expect(error.message).toMatch(/link-local/);
  });

  it('refuses a private address unless the stream allows private targets', async () => {
    const error = await failing('private', { url: 'http://10.20.30.40/readings' });
    expect(error).toMatchObject({ code: 'target.forbidden', message: expect.stringMatching(/private.*allowPrivateTargets/) });
  });

  it('refuses a name that resolves to loopback when the runtime does not allow loopback', async () => {
    await apiStream('loopback', { url: `http://localhost:${new URL(vendor.base).port}/plain` });
    const { makePullRunner } = await import('../../functions/pull/app');
    const { silentLog } = await import('../fixtures/pull-world');
    const strict = makePullRunner({ registry: world.registry, queue: world.queue, state: world.state, secrets: secretsFrom({}), clock: world.clock, log: silentLog });
    const hitsBefore = vendor.hits['/plain'] ?? 0;
    const result = await strict('loopback', 'manual');
    expect(result.error).toMatchObject({ code: 'target.forbidden', message: expect.stringMatching(/loopback/) });
    expect(vendor.hits['/plain'] ?? 0).toBe(hitsBefore);
  });

  it('refuses a redirect to the metadata service', async () => {
    const error = await failing('redirect', { url: `${vendor.base}/to-metadata` });
    expect(error.code).toBe('target.forbidden');
  });

  it('follows a redirect to an allowed target', async () => {
    await apiStream('redirect-ok', { url: `${vendor.base}/to-readings` });
    expect(await world.runnerWith(secretsFrom({}))('redirect-ok', 'manual')).toMatchObject({ status: 'succeeded', enqueued: 2 });
  });

  it('gives up on a slow answer after timeoutMs', async () => {
    const error = await failing('slow', { url: `${vendor.base}/slow`, timeoutMs: 300 });
    expect(error).toMatchObject({ code: 'source.timeout', message: expect.stringMatching(/300 ms/) });
  });

  it('cuts off a response over maxBytes', async () => {
    const error = await failing('big', { url: `${vendor.base}/big`, maxBytes: 100_000 });
    expect(error).toMatchObject({ code: 'source.too_large', message: expect.stringMatching(/maxBytes \(100000 bytes\)/) });
  });

  it('reports a response cut off mid-body', async () => {
    expect((await failing('broken', { url: `${vendor.base}/broken` })).code).toBe('source.unreachable');
  });

  it('reports a non-2xx answer and a body that is not JSON', async () => {
    expect(await failing('five-hundred', { url: `${vendor.base}/error` })).toMatchObject({ code: 'source.http_status', message: expect.stringMatching(/answered 500/) });
    expect((await failing('html', { url: `${vendor.base}/not-json` })).code).toBe('source.http_status');
  });

  it('reports a wrong token as the API answered it', async () => {
    const error = await failing('wrong-token', pagedSource(), { VENDOR_TOKEN: 'nope' });
    expect(error).toMatchObject({ code: 'source.http_status', message: expect.stringMatching(/401/) });
  });

  it('reports a missing secret by name', async () => {
    const error = await failing('no-secret', pagedSource());
    expect(error).toMatchObject({ code: 'secret.unavailable', message: expect.stringMatching(/VENDOR_TOKEN/) });
  });

  it('fails a transform that throws, and one that returns something other than an array', async () => {
    expect(await failing('throws', { url: `${vendor.base}/plain`, transform: '$error("no readings today")' })).toMatchObject({
      code: 'transform.failed',
      message: expect.stringMatching(/no readings today/),
    });
    expect(await failing('object', { url: `${vendor.base}/readings`, headers: { authorization: `Bearer ${VENDOR_TOKEN}` }, transform: 'links' })).toMatchObject({
      code: 'transform.failed',
      message: expect.stringMatching(/must return an array/),
    });
  });

  it('refuses a strict stream\'s batch when a pulled record fails the schema, naming the field', async () => {
    const error = await failing('invalid', { url: `${vendor.base}/plain`, transform: '$.{ "sensor": sensor, "at": at, "celsius": celsius * 100 }' });
    expect(error).toMatchObject({ code: 'records.invalid', message: expect.stringMatching(/celsius/) });
    expect(error.issues).toEqual([
      { index: 0, path: ['celsius'], message: expect.stringMatching(/100/) },
      { index: 1, path: ['celsius'], message: expect.stringMatching(/100/) },
    ]);
  });

  it('refuses a pulled record holding a lone UTF-16 surrogate, naming the field, rather than storing U+FFFD', async () => {
    const error = await failing('lone', { url: `${vendor.base}/lone-surrogate` });
    expect(error).toMatchObject({ code: 'records.invalid' });
    expect(error.issues).toEqual([{ index: 0, path: ['sensor'], message: expect.stringMatching(/lone UTF-16 surrogate/) }]);
  });

  it('fails a lenient stream\'s run in which no pulled record passes, as the ingest paths refuse such a batch', async () => {
    const transform = '$.{ "sensor": sensor, "at": at, "celsius": celsius * 100 }';
    const stream = await apiStream('lenient-none', { url: `${vendor.base}/plain`, transform }, { validation: 'lenient' });
    const result = await world.runnerWith(secretsFrom({}))('lenient-none', 'schedule');
    expect(result).toMatchObject({ status: 'failed', enqueued: 0, error: { code: 'records.invalid', message: expect.stringMatching(/none is valid, nothing sent.*celsius/) } });
    expect(await world.points(stream)).toEqual([]);
  });

  it('recovers on the next run and clears the error', async () => {
    await failing('recovers', { url: `${vendor.base}/plain`, transform: '$error("x")' });
    const stream = (await world.registry.get('recovers'))!;
    await world.registry.update({ ...stream, source: { ...stream.source!, transform: '$' } as never, version: stream.version + 1 });
    expect(await world.runnerWith(secretsFrom({}))('recovers', 'manual')).toMatchObject({ status: 'succeeded', enqueued: 2 });
    const state = await world.state.get('recovers');
    expect(state?.lastError).toBeUndefined();
    expect(state).toMatchObject({ lastStatus: 'succeeded', failures: 1, runs: 2 });
  });
});

describe('pull lease', () => {
  it('skips a run while another one of the same stream holds the lease', async () => {
    await apiStream('leased', { url: `${vendor.base}/plain` });
    const now = world.clock.now();
    expect(await world.state.acquire('leased', now, now + 60_000)).toBe(true);
    expect(await world.runnerWith(secretsFrom({}))('leased', 'schedule')).toMatchObject({ status: 'skipped', enqueued: 0 });
    world.clock.set(now + 61_000);
    expect(await world.runnerWith(secretsFrom({}))('leased', 'schedule')).toMatchObject({ status: 'succeeded' });
  });
});

describe('api_pull failures keep secrets out of the status', () => {
  it('reports a redirect loop without the secret that was in its URL', async () => {
    await apiStream('looping', { url: `${vendor.base}/loop?key=\${secret:VENDOR_TOKEN}` });
    const result = await world.runnerWith(secretsFrom({ VENDOR_TOKEN }))('looping', 'manual');
    expect(result).toMatchObject({ status: 'failed', error: { code: 'source.redirect' } });
    expect(result.error!.message).toContain('/loop?key=***');
    expect(result.error!.message).not.toContain(VENDOR_TOKEN);
    const state = await world.state.get('looping');
    expect(JSON.stringify(state)).not.toContain(VENDOR_TOKEN);
  });
});

