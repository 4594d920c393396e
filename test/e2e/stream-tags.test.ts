import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/commons/openapi';
import { openApiConformance } from '../fixtures/openapi-conformance';
import { startLocal, type Local } from './harness';

/**
 * The datastream document's tag operations (its `test_basic` and `test_find_streams`), translated to HTTP on
 * the local runtime; every exchange is checked against the OpenAPI document.
 */
describe('stream tags as the datastream document manages them', () => {
  let local: Local;
  const conform = openApiConformance(JSON.parse(JSON.stringify(openApiDocument())));
  const problems: string[] = [];

  async function call(path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) {
    const r = await local.api(path, init);
    const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
    problems.push(...conform.check({ method, path: path.split('?')[0]!, requestBody: init.body, status: r.status, contentType: r.type, responseBody: r.body }));
    return r;
  }
  const find = (query: unknown) => call(`/v1/streams?tags=${encodeURIComponent(JSON.stringify(query))}`);
  const schema = { value: { type: 'number' } };

  beforeAll(async () => {
    local = await startLocal();
  });
  afterAll(() => local?.close());

  it('keeps JSON tags, removes one, clears them and merges them back (test_basic)', async () => {
    const tags = { name: 'foobar', andmore: 'bar', andcomplex: { foo: ['bar', 'foo'] } };
    const { id } = await local.createStream({ name: 'foobar', type: 'iot_sensor', schema, tags });
    expect((await call(`/v1/streams/${id}/tags`)).body).toEqual({ streamId: id, tags });

    const removed = await call(`/v1/streams/${id}/tags?key=andmore`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect(removed.body.tags).toEqual({ name: 'foobar', andcomplex: { foo: ['bar', 'foo'] } });

    expect((await call(`/v1/streams/${id}/tags`, { method: 'DELETE' })).body.tags).toEqual({});
    expect((await call(`/v1/streams/${id}`)).body.tags).toEqual({});

    const merged = await call(`/v1/streams/${id}/tags`, { method: 'PATCH', body: tags });
    expect(merged.status).toBe(200);
    expect(merged.body.tags).toEqual(tags);
  });

  it('merges nested objects member by member and removes a nested member by its path', async () => {
    const { id } = await local.createStream({ name: 'merge', type: 'iot_sensor', schema, tags: { visualization: { type: 'line', hidden: false }, n: 1 } });
    const merged = await call(`/v1/streams/${id}/tags`, { method: 'PATCH', body: { visualization: { hidden: true }, n: [1, 2], owner: null } });
    expect(merged.body.tags).toEqual({ visualization: { type: 'line', hidden: true }, n: [1, 2], owner: null });
    const removed = await call(`/v1/streams/${id}/tags?key=visualization/hidden,owner`, { method: 'DELETE' });
    expect(removed.body.tags).toEqual({ visualization: { type: 'line' }, n: [1, 2] });
  });

  it('refuses reserved names with a ReservedTagNameError, and a misspelt parameter instead of clearing every tag', async () => {
    const { id } = await local.createStream({ name: 'reserved', type: 'iot_sensor', schema, tags: { keep: 'me' } });
    const patched = await call(`/v1/streams/${id}/tags`, { method: 'PATCH', body: { stream_id: 'x', ok: 1 } });
    expect(patched.status).toBe(400);
    expect(patched.type).toBe('application/problem+json');
    expect(patched.body).toMatchObject({ code: 'ReservedTagNameError', errors: [{ path: ['stream_id'] }] });
    const created = await call('/v1/streams', { body: { name: 'r', type: 'iot_sensor', schema, tags: { highest_granularity: 'seconds' } } });
    expect(created.body).toMatchObject({ status: 400, code: 'ReservedTagNameError', errors: [{ path: ['tags', 'highest_granularity'] }] });
    const misspelt = await call(`/v1/streams/${id}/tags?keys=keep`, { method: 'DELETE' });
    expect(misspelt.status).toBe(400);
    expect((await call(`/v1/streams/${id}/tags`)).body.tags).toEqual({ keep: 'me' });
  });

  it('lets a read token read the tags but not change them', async () => {
    const { id } = await local.createStream({ name: 'scoped', type: 'iot_sensor', schema, tags: { a: 1 } });
    const read = (await call(`/v1/streams/${id}/tokens`, { body: { scope: 'read' } })).body.token as string;
    expect((await call(`/v1/streams/${id}/tags`, { token: read })).body.tags).toEqual({ a: 1 });
    expect((await call(`/v1/streams/${id}/tags`, { method: 'PATCH', body: { a: 2 }, token: read })).status).toBe(403);
  });

  it('finds streams by nested tag values (test_find_streams)', async () => {
    const tags = {
      title: 'Stream 1',
      visualization: { time_downsamplers: ['mean'], hidden: false, minimum: 0, type: 'line', value_downsamplers: ['mean', 'min', 'max'] },
      stream_number: 9,
    };
    const { id } = await local.createStream({ name: 'Stream 1', type: 'iot_sensor', schema, tags });
    const ids = async (query: unknown) => ((await find(query)).body.streams as { id: string }[]).map((s) => s.id);
    expect(await ids({ title: 'Stream 1' })).toEqual([id]);
    expect(await ids({ stream_number: 9 })).toEqual([id]);
    expect(await ids({ stream_number: 1 })).toEqual([]);
    expect(await ids({ visualization: { value_downsamplers: 'mean' } })).toEqual([id]);
    expect(await ids({ visualization: { type: 'line', hidden: false } })).toEqual([id]);
    expect(await ids({ visualization: { hidden: true } })).toEqual([]);
    // setting names are not tags: they match nothing, as in the document
    expect(await ids({ value_type: 'numeric' })).toEqual([]);
    const doubled = await find({ andmore__bar: 'value' });
    expect(doubled.status).toBe(400);
    expect(doubled.body.code).toBe('ReservedTagNameError');
    expect((await call('/v1/streams?tags=%7Bnope')).status).toBe(400);
  });

  it('every exchange matched the OpenAPI document', () => {
    expect(problems).toEqual([]);
  });
});
