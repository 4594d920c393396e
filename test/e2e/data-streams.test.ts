import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { documentDefinition } from '../fixtures/data-streams';
import { PG_PASSWORD, PG_USER, startPostgres } from '../fixtures/postgres-server';
import { ACCOUNTS, startVendor, VENDOR_TOKEN } from '../fixtures/vendor-server';
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

const vendor = startedForSuite(startVendor);
const pg = startedForSuite(startPostgres);

/** The scheduler's clock: the pulls run on real time, the schedule is moved by the test. */
function schedulerClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
}

async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  let last = await read();
  while (!ok(last)) {
    if (Date.now() > until) throw new Error(`timed out; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await read();
  }
  return last;
}

describe('the document\'s pull streams on the local runtime', () => {
  const clock = schedulerClock();
  const local = startedForSuite(() =>
    startLocal({
      pulls: { tick: '* * * * * *', clock, env: { TRIBUTARY_SECRET_API_TOKEN: VENDOR_TOKEN, TRIBUTARY_SECRET_DB_USER: PG_USER, TRIBUTARY_SECRET_DB_PASS: PG_PASSWORD } },
    }),
  );

  it('pulls the Financial Data Feed on its Unix cron schedule through its JavaScript transform', async () => {
    const def = documentDefinition('financial-data-feed');
    // the one change a user makes: their API's address
    const { id } = await local.createStream({ ...def, source: { ...def.source, endpoint: `${vendor.base}/financial/accounts` } });
    const stream = (await local.api(`/v1/streams/${id}`)).body;
    expect(stream.source).toMatchObject({ schedule: 'cron(0 0/6 * * ? *)', timeoutMs: 30_000, headers: { Authorization: 'Bearer ${secret:API_TOKEN}' } });
    expect(stream.source.script).toMatch(/^\/\/ Transform API response to stream format\nfunction transform\(apiData\)/);

    const status = (await local.api(`/v1/streams/${id}/status`)).body.pull;
    const next = Date.parse(status.nextRunAt);
    expect(new Date(next).getUTCHours() % 6).toBe(0);
    expect(next % 3_600_000).toBe(0);
    clock.advance(next - clock.now() + 1_000); // past the next 6-hour mark
    const ran = await waitFor(() => local.api(`/v1/streams/${id}/status`), (r) => r.body.pull?.runs === 1);
    expect(ran.body.pull).toMatchObject({ lastStatus: 'succeeded', recordsEnqueued: 2 });

    const points = await local.waitForPoints(id, 'limit=100', (p) => p.length === 2);
    // the document names no series keys: its required string fields are the stream's dimensions
    expect(points.map((p) => ({ ...p.dimensions, ...p.values })).sort((a, b) => a.accountId.localeCompare(b.accountId))).toEqual(
      ACCOUNTS.map((a) => ({ accountId: a.id, balance: a.current_balance, currency: a.currency_code, lastTransaction: new Date(a.last_transaction_date).toISOString(), status: a.status.toLowerCase() })),
    );
  });

  it('stops a transform that loops forever, reports it as the pull\'s failure and keeps serving', async () => {
    const def = documentDefinition('financial-data-feed');
    const { id } = await local.createStream({
      ...def,
      name: 'Looping feed',
      source: { ...def.source, endpoint: `${vendor.base}/financial/accounts`, timeout: 1_000 },
      processing: { ...def.processing, transform: 'function transform(apiData) { for (;;) {} }' },
    });
    const started = Date.now();
    const run = await local.api(`/v1/streams/${id}/pull`, { method: 'POST' });
    expect(run.body).toMatchObject({ status: 'failed', error: { code: 'transform.failed', message: expect.stringContaining('timeout') } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await local.api(`/v1/streams/${id}`)).status).toBe(200);
    const bad = await local.api('/v1/streams', { body: { ...def, processing: { transform: 'function transform(apiData) { return apiData.map(; }' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: ['processing', 'transform'], message: expect.stringMatching(/^SyntaxError/) }]);
  });

  it('pulls the Inventory Sync table incrementally by last_updated', async () => {
    await pg.db.exec(`CREATE TABLE inventory (product_id text, quantity_on_hand integer, location text, last_updated timestamptz, reorder_level integer, supplier_id text)`);
    const insert = (n: number) =>
      pg.db.exec(`INSERT INTO inventory VALUES ('P-${n}', ${n * 10}, 'warehouse', '2026-12-01T08:0${n}:00Z', 5, 'S-1')`);
    const def = documentDefinition('inventory-sync');
    // the user's own database: its address, and no TLS on this one
    const { id } = await local.createStream({
      ...def,
      source: { ...def.source, connection: { ...def.source.connection, host: '127.0.0.1', port: pg.port, database: 'postgres', ssl: false } },
    });
    await insert(1);
    await insert(2);
    const first = await local.api(`/v1/streams/${id}/pull`, { method: 'POST' });
    expect(first.body).toMatchObject({ status: 'succeeded', pulled: 2, enqueued: 2, cursorAfter: '2026-12-01T08:02:00.000Z' });
    await insert(3);
    const second = await local.api(`/v1/streams/${id}/pull`, { method: 'POST' });
    expect(second.body).toMatchObject({ status: 'succeeded', pulled: 1, enqueued: 1, cursorBefore: '2026-12-01T08:02:00.000Z' });
    const points = await local.waitForPoints(id, 'limit=100', (p) => p.length === 3);
    expect(points.map((p) => p.dimensions.productId).sort()).toEqual(['P-1', 'P-2', 'P-3']);
    expect(points[0]).toMatchObject({
      dimensions: { location: 'warehouse' },
      values: { quantityOnHand: expect.any(Number), supplierId: 'S-1', lastUpdated: expect.stringMatching(/^2026-12-01T08:0/) },
    });
  });
});
