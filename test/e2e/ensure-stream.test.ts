import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/commons/openapi';
import { openApiConformance } from '../fixtures/openapi-conformance';
import { startLocal, type Local } from './harness';

/**
 * The datastream document's `ensure_stream` as `POST /v1/streams/ensure`, its own examples (`test_basic`,
 * `test_find_streams`) translated to HTTP on the local runtime.
 */
describe('POST /v1/streams/ensure', () => {
  let local: Local;
  const conform = openApiConformance(JSON.parse(JSON.stringify(openApiDocument())));
  const problems: string[] = [];
  const definition = { name: 'foobar', type: 'iot_sensor', schema: { value: { type: 'number' } } };

  async function ensure(queryTags: unknown, extra: Record<string, unknown> = {}) {
    const body = { ...definition, ...extra, queryTags };
    const r = await local.api('/v1/streams/ensure', { body });
    // a body without queryTags is sent on purpose, to see it refused: only its answer is checked
    problems.push(...conform.check({ method: 'POST', path: '/v1/streams/ensure', ...(queryTags !== undefined && { requestBody: body }), status: r.status, contentType: r.type, responseBody: r.body }));
    return r;
  }

  beforeAll(async () => {
    local = await startLocal();
  });
  afterAll(() => local?.close());

  it('creates once, then finds the same stream; more specific tags make another; ambiguous tags are a 409 (test_basic)', async () => {
    const tags = { andmore: 'bar', andcomplex: { foo: ['bar', 'foo'] } };
    const first = await ensure({ name: 'foobar' }, { tags });
    expect(first.status).toBe(201);
    expect(first.body.ingestToken).toMatch(/^trb_/);
    expect(first.body.tags).toEqual({ name: 'foobar', ...tags });

    const again = await ensure({ name: 'foobar' }, { tags });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.ingestToken).toBeUndefined();

    const other = await ensure({ name: 'foobar', andmore: 'wrong' }, { tags });
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);

    const ambiguous = await ensure({ name: 'foobar' }, { tags });
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.type).toBe('application/problem+json');
    expect(ambiguous.body.code).toBe('MultipleStreamsReturned');
  });

  it('merges the definition’s tags into the stream found (x: 1, then x: 2)', async () => {
    const one = await ensure({ name: 'xyz' }, { tags: { x: 1 } });
    const two = await ensure({ name: 'xyz' }, { tags: { x: 2 } });
    expect(two.body.id).toBe(one.body.id);
    expect((await local.api(`/v1/streams/${one.body.id}/tags`)).body.tags).toEqual({ name: 'xyz', x: 2 });
  });

  it('ensured ten times with the query tags and other tags, one stream holds the last tags (test_find_streams)', async () => {
    const queryTags = { title: 'Stream 1' };
    const visualization = { time_downsamplers: ['mean'], hidden: false, minimum: 0, type: 'line', value_downsamplers: ['mean', 'min', 'max'] };
    for (let i = 0; i < 10; i++) expect([200, 201]).toContain((await ensure(queryTags, { tags: { visualization, stream_number: i } })).status);
    const found = await local.api(`/v1/streams?tags=${encodeURIComponent(JSON.stringify(queryTags))}`);
    expect(found.body.streams).toHaveLength(1);
    expect(found.body.streams[0].tags).toMatchObject({ title: 'Stream 1', stream_number: 9 });
  });

  it('refuses a stream found with another configuration: 409 InconsistentStreamConfiguration naming each member', async () => {
    const created = await ensure({ sensor: 'inconsistent' });
    expect(created.status).toBe(201);
    const retyped = await ensure({ sensor: 'inconsistent' }, { type: 'event_stream', schema: { value: { type: 'string' } } });
    expect(retyped.status).toBe(409);
    expect(retyped.body.code).toBe('InconsistentStreamConfiguration');
    expect(retyped.body.errors.map((e: { path: string[] }) => e.path)).toEqual([['type'], ['schema', 'value']]);
    const lenient = await ensure({ sensor: 'inconsistent' }, { validation: 'lenient' });
    expect(lenient.body.errors).toEqual([{ path: ['validation'], message: 'is "strict", not "lenient"' }]);
    // nothing was changed by the refusals
    expect((await local.api(`/v1/streams/${created.body.id}`)).body).toMatchObject({ type: 'iot_sensor', validation: 'strict', version: 1 });
  });

  it('refuses reserved query tags, no query tags, and a definition that is not valid', async () => {
    expect((await ensure({ value_type: 'numeric' })).body).toMatchObject({ status: 400, code: 'ReservedTagNameError', errors: [{ path: ['queryTags', 'value_type'] }] });
    expect((await ensure({})).body).toMatchObject({ status: 400, errors: [{ path: ['queryTags'] }] });
    expect((await ensure(undefined)).body).toMatchObject({ status: 400, errors: [{ path: ['queryTags'] }] });
    expect((await ensure({ a: 'b' }, { type: 'nope' })).body).toMatchObject({ status: 400, errors: [{ path: ['type'] }] });
    const proto = await local.api('/v1/streams/ensure', { raw: JSON.stringify({ ...definition, queryTags: { a: 'proto' } }).replace('"queryTags"', '"tags":{"__proto__":{"x":1}},"queryTags"') });
    expect(proto.body).toMatchObject({ status: 400, errors: [{ path: ['tags', '__proto__'] }] });
  });

  it('creates one stream when several requests ensure the same new one at once, and a new one after it is deleted', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => ensure({ race: 'one' }, { tags: { n: 1 } })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    const id = answers[0]!.body.id as string;
    expect(id).toMatch(/^foobar-[0-9a-f]{12}$/);
    expect((await local.api(`/v1/streams?tags=${encodeURIComponent('{"race":"one"}')}`)).body.streams).toHaveLength(1);
    expect((await local.api(`/v1/streams/${id}`, { method: 'DELETE' })).status).toBe(204);
    const again = await ensure({ race: 'one' });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(`${id}-2`);
  });

  it('every exchange matched the OpenAPI document', () => {
    expect(problems).toEqual([]);
  });
});
