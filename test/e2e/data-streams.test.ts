import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { documentDefinition } from '../fixtures/data-streams';
import { startLocal } from './harness';

/**
 * The stream definitions of the Data Streams document (`test/fixtures/data-streams`, copied from
 * `shared/seeds/000_…`), created over HTTP on the local runtime as a user pasting them would.
 */
describe('the Data Streams document on the local runtime', () => {
  const local = startedForSuite(() => startLocal());

  it('creates the Temperature Monitoring stream and answers as the document does, without the device password', async () => {
    const r = await local.api('/v1/streams', { body: documentDefinition('temperature-monitoring') });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      streamId: r.body.id,
      status: 'active',
      vaultId: 'vault_abc123',
      endpoint: `${local.base}/v1/streams/${r.body.id}/data`,
      mqtt: { topic: `tributary/${r.body.id}/data` },
      ingestToken: expect.stringMatching(/^trb_/),
    });
    const got = await local.api(`/v1/streams/${r.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body.schema.temperature).toEqual({ type: 'number', unit: 'celsius', range: { min: -40, max: 100 } });
    expect(got.body.device.credentials).toEqual({ username: 'sensor_user' });
    expect(got.body.defaultQuery).toEqual({ granularity: '1m', downsamplers: ['mean'] });
    expect(got.body).not.toHaveProperty('processing');
    expect(JSON.stringify([r.body, got.body])).not.toMatch(/sensor_pass|scrypt/);
  });

  it('lists and filters streams by vaultId', async () => {
    const a = await local.createStream({ ...documentDefinition('basic-stream-creation'), vaultId: 'vault_list_a' });
    const b = await local.createStream({ ...documentDefinition('basic-stream-creation'), vaultId: 'vault_list_b' });
    const listed = await local.api('/v1/streams?vaultId=vault_list_a');
    expect(listed.status).toBe(200);
    expect(listed.body.streams.map((s: { id: string }) => s.id)).toEqual([a.id]);
    expect((await local.api('/v1/streams?vaultId=vault_list_b')).body.streams.map((s: { id: string }) => s.id)).toEqual([b.id]);
    const bad = await local.api('/v1/streams?vaultId=a%20b');
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: ['vaultId'], message: expect.any(String) }]);
  });

  it('answers a key the dialect does not know with a 400 naming it', async () => {
    const r = await local.api('/v1/streams', { body: { ...documentDefinition('temperature-monitoring'), colour: 'blue' } });
    expect(r.status).toBe(400);
    expect(r.body.errors).toContainEqual({ path: [], message: expect.stringContaining('"colour"') });
  });
});
