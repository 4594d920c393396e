import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryApiError, TributaryClient } from '../../packages/client/src/index';
import { ADMIN, startLocal, type Local } from './harness';

/** The SDK's methods for the datastream document's stream and tag operations, against the local runtime. */
describe('@tributary/client: ensure, tags, find, append_multiple, check_timestamp, delete by tags', () => {
  let local: Local;
  let client: TributaryClient;
  const definition = { name: 'sdk', type: 'iot_sensor', schema: { value: { type: 'number' } } };

  beforeAll(async () => {
    local = await startLocal();
    client = new TributaryClient({ baseUrl: local.base, token: ADMIN });
  });
  afterAll(() => local?.close());

  it('ensures a stream, then manages its tags and finds it by a nested one', async () => {
    const created = await client.streams.ensure({ sensor: 'sdk-1' }, { ...definition, tags: { view: { type: 'line' } } });
    expect('ingestToken' in created).toBe(true);
    expect((await client.streams.ensure({ sensor: 'sdk-1' }, definition)).id).toBe(created.id);
    expect(await client.streams.updateTags(created.id, { view: { hidden: true }, n: 1 })).toEqual({ sensor: 'sdk-1', view: { type: 'line', hidden: true }, n: 1 });
    expect(await client.streams.removeTags(created.id, ['n', ['view', 'hidden']])).toEqual({ sensor: 'sdk-1', view: { type: 'line' } });
    expect((await client.streams.list({ match: { view: { type: 'line' } } })).streams.map((s) => s.id)).toEqual([created.id]);
    await client.streams.clearTags(created.id);
    expect(await client.streams.getTags(created.id)).toEqual({});
    const refused = await client.streams.ensure({ sensor: 'x' }, { ...definition, tags: { stream_id: 'no' } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TributaryApiError);
    expect((refused as TributaryApiError).problem?.code).toBe('ReservedTagNameError');
  });

  it('appends to several streams at once, checks timestamps when asked, and deletes by tags', async () => {
    const a = await client.streams.create({ ...definition, id: 'sdk-a', tags: { group: 'sdk' } });
    await client.streams.create({ ...definition, id: 'sdk-b', tags: { group: 'sdk' } });
    const t = (d: number) => new Date(Date.UTC(2000, 0, d)).toISOString();
    const results = await client.streams.appendMultiple([
      { streamId: 'sdk-a', records: [{ value: 1, timestamp: t(2) }] },
      { streamId: 'sdk-b', records: { value: 2, timestamp: t(2) } },
    ]);
    expect(results.results.map((r) => r.status)).toEqual([202, 202]);
    await client.streams.ingest('sdk-a', { value: 3, timestamp: t(3) }, { token: a.ingestToken, checkTimestamp: true });
    const late = await client.streams.ingest('sdk-a', { value: 4, timestamp: t(1) }, { token: a.ingestToken, checkTimestamp: true }).catch((e: unknown) => e);
    expect((late as TributaryApiError).status).toBe(409);
    expect((late as TributaryApiError).problem?.code).toBe('InvalidTimestamp');
    expect(await client.streams.deleteMatching({ group: 'sdk' })).toEqual({ deleted: ['sdk-a', 'sdk-b'], points: 'erased', more: false });
  });
});
