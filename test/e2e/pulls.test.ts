import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { PG_PASSWORD, PG_USER, secretConnectionTo, startPostgres } from '../fixtures/postgres-server';
import { READINGS, startVendor, VENDOR_TOKEN } from '../fixtures/vendor-server';
import { startLocal } from './harness';
import { schedulerClock, waitFor } from '../fixtures/waiting';

const vendor = startedForSuite(startVendor);
const pg = startedForSuite(startPostgres);

/** The scheduler's clock: the pulls themselves run on real time, the schedule is moved by the test. */
const start = (dataDir: string | undefined, clock: ReturnType<typeof schedulerClock>) =>
  startLocal({
    ...(dataDir && { dataDir }),
    pulls: { tick: '* * * * * *', clock, env: { TRIBUTARY_SECRET_VENDOR_TOKEN: VENDOR_TOKEN, TRIBUTARY_SECRET_PG_USER: PG_USER } },
  });

const readingsSchema = { sensor: { type: 'string', required: true }, at: { type: 'datetime' }, celsius: { type: 'number' } };

describe('an api_pull stream on the local runtime', () => {
  const clock = schedulerClock();
  const local = startedForSuite(() => start(undefined, clock));

  it('fills on its schedule, again on /pull without writing anything twice, and shows its pull status', async () => {
    const { id } = await local.createStream({
      id: 'vendor',
      name: 'Vendor readings',
      type: 'api_pull',
      schema: readingsSchema,
      timeField: 'at',
      dimensions: ['sensor'],
      source: {
        kind: 'api_pull',
        url: `${vendor.base}/readings`,
        headers: { authorization: 'Bearer ${secret:VENDOR_TOKEN}' },
        schedule: 'rate(1 minute)',
        transform: 'data[]',
        paging: { type: 'next_link', path: 'links.next' },
        dedupe: { key: ['sensor'] },
      },
    });
    // a rate schedule is due as soon as the stream exists
    const points = await local.waitForPoints(id, 'start=2026-12-01T00:00:00Z&end=2026-12-02T00:00:00Z', (p) => p.length === READINGS.length);
    expect(points.map((p) => [p.dimensions.sensor, p.time, p.values.celsius])).toEqual(READINGS.map((r) => [r.sensor, r.at, r.celsius]));

    const status = await waitFor(() => local.api(`/v1/streams/${id}/status`), (r) => r.body.pull?.runs === 1);
    expect(status.body.pull).toMatchObject({ schedule: 'rate(1 minute)', lastStatus: 'succeeded', recordsEnqueued: 7, failures: 0 });
    const next = Date.parse(status.body.pull.nextRunAt);
    expect(next).toBeGreaterThan(Date.parse(status.body.pull.lastRunAt));

    const manual = await local.api(`/v1/streams/${id}/pull`, { method: 'POST' });
    expect(manual.status).toBe(200);
    expect(manual.body).toMatchObject({ streamId: id, trigger: 'manual', status: 'succeeded', pulled: 7, enqueued: 0, deduped: 7, durationMs: expect.any(Number) });

    clock.advance(61_000); // the next scheduled run
    const again = await waitFor(() => local.api(`/v1/streams/${id}/status`), (r) => r.body.pull?.runs === 3);
    expect(again.body.pull).toMatchObject({ recordsPulled: 21, recordsEnqueued: 7, recordsDeduped: 14 });
    const after = await local.api(`/v1/streams/${id}/data?start=2026-12-01T00:00:00Z&end=2026-12-02T00:00:00Z`);
    expect(after.body.points).toHaveLength(READINGS.length);
  });

  it('shows a refused target, a timeout and a bad transform as the stream\'s pull status', async () => {
    const cases = [
      { id: 'metadata', source: { url: 'http://169.254.169.254/latest/meta-data/' }, code: 'target.forbidden' },
      { id: 'slow', source: { url: `${vendor.base}/slow`, timeoutMs: 300 }, code: 'source.timeout' },
      { id: 'oversize', source: { url: `${vendor.base}/big`, maxBytes: 10_000 }, code: 'source.too_large' },
      { id: 'bad-transform', source: { url: `${vendor.base}/plain`, transform: '$error("unexpected payload")' }, code: 'transform.failed' },
    ];
    for (const c of cases) {
      await local.createStream({
        id: c.id,
        name: c.id,
        type: 'api_pull',
        schema: readingsSchema,
        timeField: 'at',
        source: { kind: 'api_pull', schedule: 'cron(0 3 * * ? *)', ...c.source },
      });
      const run = await local.api(`/v1/streams/${c.id}/pull`, { method: 'POST' });
      expect(run.body, c.id).toMatchObject({ status: 'failed', enqueued: 0, error: { code: c.code } });
      const status = await local.api(`/v1/streams/${c.id}/status`);
      expect(status.body.pull, c.id).toMatchObject({ lastStatus: 'failed', failures: 1, lastError: { code: c.code, message: run.body.error.message } });
      const data = await local.api(`/v1/streams/${c.id}/data?start=2026-12-01T00:00:00Z&end=2026-12-02T00:00:00Z`);
      expect(data.body.points, c.id).toEqual([]);
    }
  });

  it('refuses a source on a push stream, a pull stream without one, a bad schedule, transform or inline password', async () => {
    const base = { name: 'x', schema: readingsSchema, timeField: 'at' };
    const api = { kind: 'api_pull', url: `${vendor.base}/plain`, schedule: 'rate(1 minute)' };
    const bad = [
      [{ ...base, type: 'iot_sensor', source: api }, ['source']],
      [{ ...base, type: 'api_pull' }, ['source']],
      [{ ...base, type: 'api_pull', source: { ...api, schedule: 'every minute' } }, ['source', 'schedule']],
      [{ ...base, type: 'api_pull', source: { ...api, schedule: 'cron(0 12 * * * *)' } }, ['source', 'schedule']],
      [{ ...base, type: 'api_pull', source: { ...api, transform: 'items[' } }, ['source', 'transform']],
      [
        {
          ...base,
          type: 'database',
          source: { kind: 'database', engine: 'postgresql', connection: { host: 'db', database: 'x', user: 'u', password: 'hunter2' }, query: 'SELECT 1 WHERE 1 > $1', incrementalColumn: 'id', schedule: 'rate(1 hour)' },
        },
        ['source', 'connection', 'password'],
      ],
    ] as const;
    for (const [def, path] of bad) {
      const r = await local.api('/v1/streams', { body: def });
      expect(r.status, JSON.stringify(def)).toBe(400);
      expect(r.body.errors.map((e: { path: unknown }) => e.path), JSON.stringify(def)).toContainEqual(path);
    }
  });

  it('answers 409 to /pull on a stream that does not pull, and 403 to a read token', async () => {
    const { id } = await local.createStream({ name: 'push', type: 'event_stream', schema: readingsSchema, timeField: 'at' });
    expect((await local.api(`/v1/streams/${id}/pull`, { method: 'POST' })).status).toBe(409);
    const token = (await local.api('/v1/streams/vendor/tokens', { body: { scope: 'read' } })).body.token;
    expect((await local.api('/v1/streams/vendor/pull', { method: 'POST', token })).status).toBe(403);
  });
});

describe('a database stream on the local runtime', () => {
  it('pulls only new rows by its incremental column, across scheduled runs and a restart', async () => {
    await pg.db.exec('CREATE TABLE stock (id bigint PRIMARY KEY, sku text, qty integer, counted_at timestamptz)');
    const insert = (from: number, to: number) =>
      pg.db.exec(
        `INSERT INTO stock VALUES ${Array.from({ length: to - from + 1 }, (_, i) => from + i)
          .map((n) => `(${n}, 'sku-${n % 2}', ${n * 10}, '2026-12-01T08:${String(n).padStart(2, '0')}:00Z')`)
          .join(', ')}`,
      );
    const clock = schedulerClock();
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-e2e-pulls-'));
    let local = await start(dataDir, clock);
    try {
      // the password comes from the data dir's secrets file, the user from the environment
      const secrets = join(dataDir, 'secrets.json');
      await writeFile(secrets, JSON.stringify({ PG_PASSWORD }), { mode: 0o600 });
      await chmod(secrets, 0o600);
      await local.createStream({
        id: 'stock',
        name: 'Stock',
        type: 'database',
        schema: { sku: { type: 'string', required: true }, qty: { type: 'integer' }, timestamp: { type: 'datetime' } },
        dimensions: ['sku'],
        source: {
          kind: 'database',
          engine: 'postgresql',
          connection: secretConnectionTo(pg),
          query: 'SELECT id, sku, qty, counted_at FROM stock WHERE id > $1 ORDER BY id LIMIT 500',
          incrementalColumn: 'id',
          initialCursor: 0,
          mapping: { sku: 'sku', qty: 'qty', timestamp: 'counted_at' },
          schedule: 'cron(0/5 * * * ? *)',
        },
      });
      await insert(1, 3);
      const first = await local.api('/v1/streams/stock/pull', { method: 'POST' });
      expect(first.body).toMatchObject({ status: 'succeeded', pulled: 3, enqueued: 3, cursorBefore: 0, cursorAfter: 3 });

      await insert(4, 5);
      const before = (await local.api('/v1/streams/stock/status')).body.pull;
      expect(before).toMatchObject({ cursor: 3, runs: 1 });
      clock.advance(Date.parse(before.nextRunAt) - clock.now() + 1_000); // past the next cron match
      const scheduled = await waitFor(() => local.api('/v1/streams/stock/status'), (r) => r.body.pull?.runs === 2);
      expect(scheduled.body.pull).toMatchObject({ cursor: 5, recordsEnqueued: 5, lastStatus: 'succeeded' });

      await local.close();
      await insert(6, 6);
      local = await startLocal({ dataDir, pulls: { tick: '* * * * * *', env: { TRIBUTARY_SECRET_PG_USER: PG_USER } } });
      const afterRestart = await local.api('/v1/streams/stock/pull', { method: 'POST' });
      expect(afterRestart.body).toMatchObject({ pulled: 1, enqueued: 1, cursorBefore: 5, cursorAfter: 6 });

      const points = await local.waitForPoints('stock', 'start=2026-12-01T00:00:00Z&end=2026-12-02T00:00:00Z', (p) => p.length === 6);
      expect(points.map((p) => p.values.qty)).toEqual([10, 20, 30, 40, 50, 60]);
    } finally {
      await local.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('shows a wrong password and a failing query as the stream\'s pull status', async () => {
    const local = await startLocal({ pulls: { tick: '* * * * * *', env: { TRIBUTARY_SECRET_PG_PASSWORD: 'not-the-password', TRIBUTARY_SECRET_GOOD: PG_PASSWORD } } });
    try {
      const source = (password: string, query: string) => ({
        kind: 'database',
        engine: 'postgresql',
        connection: { host: '127.0.0.1', port: pg.port, database: 'postgres', user: PG_USER, password, ssl: false },
        query,
        incrementalColumn: 'id',
        initialCursor: 0,
        schedule: 'rate(1 hour)',
      });
      const schema = { id: { type: 'integer' } };
      await local.createStream({ id: 'wrong-password', name: 'x', type: 'database', schema, source: source('${secret:PG_PASSWORD}', 'SELECT 1 AS id WHERE 1 > $1') });
      await local.createStream({ id: 'bad-sql', name: 'x', type: 'database', schema, source: source('${secret:GOOD}', 'SELECT id FROM missing_table WHERE id > $1') });
      for (const [id, code, message] of [
        ['wrong-password', 'db.auth', /password authentication failed/],
        ['bad-sql', 'db.sql', /missing_table/],
      ] as const) {
        const status = await waitFor(() => local.api(`/v1/streams/${id}/status`), (r) => r.body.pull?.lastStatus === 'failed');
        expect(status.body.pull.lastError).toMatchObject({ code, message: expect.stringMatching(message) });
      }
    } finally {
      await local.close();
    }
  });
});
