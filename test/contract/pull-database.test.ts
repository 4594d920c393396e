import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { beforeEach, describe, expect, it } from 'vitest';
import { makePullRunner } from '../../functions/pull/app';
import type { PullStateStore } from '../../shared/ports';
import { startedForSuite } from '../fixtures/lifecycle';
import { PG_PASSWORD, PG_USER, secretConnectionTo, startPostgres } from '../fixtures/postgres-server';
import { secretsFrom, silentLog, usePullWorld } from '../fixtures/pull-world';

const pg = startedForSuite(startPostgres);
const world = usePullWorld();
let tables = 0;
let table: string;

beforeEach(async () => {
  table = `inventory_${++tables}`;
  await pg.db.exec(`CREATE TABLE ${table} (id bigint PRIMARY KEY, sku text NOT NULL, qty numeric NOT NULL, counted_at timestamptz NOT NULL)`);
});

const secrets = secretsFrom({ PG_PASSWORD, PG_USER });
const at = (minute: number) => new Date(Date.parse('2026-12-01T09:00:00.000Z') + minute * 60_000).toISOString();

async function insert(from: number, to: number): Promise<void> {
  const values = Array.from({ length: to - from + 1 }, (_, i) => `(${from + i}, 'sku-${(from + i) % 3}', ${(from + i) * 1.5}, '${at(from + i)}')`);
  await pg.db.exec(`INSERT INTO ${table} VALUES ${values.join(', ')}`);
}

function dbStream(id: string, source: Record<string, unknown> = {}) {
  return world.create({
    id,
    name: id,
    type: 'database',
    schema: { sku: { type: 'string', required: true }, quantity: { type: 'number' }, timestamp: { type: 'datetime' } },
    dimensions: ['sku'],
    source: {
      kind: 'database',
      engine: 'postgresql',
      connection: secretConnectionTo(pg),
      query: `SELECT id, sku, qty, counted_at FROM ${table} WHERE id > $1 ORDER BY id LIMIT 1000`,
      incrementalColumn: 'id',
      initialCursor: 0,
      mapping: { sku: 'sku', quantity: 'qty', timestamp: 'counted_at' },
      schedule: 'rate(1 minute)',
      ...source,
    },
  });
}

describe('database pulls from a real PostgreSQL over the wire', () => {
  it('pulls only rows past the cursor, across runs and a new runner (a restart)', async () => {
    const stream = await dbStream('inventory');
    await insert(1, 4);
    const first = await world.runnerWith(secrets)('inventory', 'schedule');
    expect(first).toMatchObject({ status: 'succeeded', pulled: 4, enqueued: 4, cursorBefore: 0, cursorAfter: 4 });

    const nothingNew = await world.runnerWith(secrets)('inventory', 'schedule');
    expect(nothingNew).toMatchObject({ status: 'succeeded', pulled: 0, enqueued: 0, cursorBefore: 4, cursorAfter: 4 });

    await insert(5, 6);
    const restarted = makePullRunner({ registry: world.registry, queue: world.queue, state: world.state, secrets, clock: world.clock, log: silentLog, allowLoopback: true });
    expect(await restarted('inventory', 'schedule')).toMatchObject({ pulled: 2, enqueued: 2, cursorBefore: 4, cursorAfter: 6 });

    const points = await world.points(stream);
    expect(points.map((p) => [p.dimensions.sku, p.values.quantity, new Date(p.time).toISOString()])).toEqual(
      [1, 2, 3, 4, 5, 6].map((i) => [`sku-${i % 3}`, i * 1.5, at(i)]),
    );
    expect(await world.state.get('inventory')).toMatchObject({ cursor: 6, runs: 3, recordsEnqueued: 6 });
  });

  it('maps rows with a JSONata transform and advances a timestamp cursor', async () => {
    const stream = await dbStream('by-time', {
      query: `SELECT sku, qty, counted_at FROM ${table} WHERE $1::timestamptz IS NULL OR counted_at > $1::timestamptz ORDER BY counted_at LIMIT 1000`,
      incrementalColumn: 'counted_at',
      initialCursor: null,
      mapping: undefined,
      // the outer [ ] keeps a one-row result an array (JSONata collapses a sequence of one)
      transform: '[$.{ "sku": sku, "quantity": qty, "timestamp": counted_at }]',
    });
    await insert(1, 3);
    expect(await world.runnerWith(secrets)('by-time', 'schedule')).toMatchObject({ enqueued: 3, cursorBefore: null, cursorAfter: at(3) });
    await insert(4, 4);
    expect(await world.runnerWith(secrets)('by-time', 'schedule')).toMatchObject({ enqueued: 1, cursorAfter: at(4) });
    expect(await world.points(stream)).toHaveLength(4);
  });

  it('loses nothing and duplicates nothing when the queue fails between pull and enqueue', async () => {
    const stream = await dbStream('crash-before');
    await insert(1, 3);
    world.queue.failNext = true;
    const failed = await world.runnerWith(secrets)('crash-before', 'schedule');
    expect(failed).toMatchObject({ status: 'failed', enqueued: 0, cursorBefore: 0, cursorAfter: 0, error: { code: 'queue.unavailable' } });
    const state = await world.state.get('crash-before');
    expect(state).toMatchObject({ lastStatus: 'failed', lastError: { code: 'queue.unavailable' } });
    expect(state?.cursor).toBeUndefined(); // never advanced
    expect(await world.points(stream)).toEqual([]);

    const retried = await world.runnerWith(secrets)('crash-before', 'schedule');
    expect(retried).toMatchObject({ status: 'succeeded', enqueued: 3, cursorAfter: 3 });
    expect((await world.points(stream)).map((p) => p.values.quantity)).toEqual([1.5, 3, 4.5]);
  });

  it('re-pulls after a crash between enqueue and saving the cursor, and the store keeps each row once', async () => {
    const stream = await dbStream('crash-after');
    await insert(1, 3);
    const crashing: PullStateStore = {
      get: (id) => world.state.get(id),
      getMany: (ids) => world.state.getMany(ids),
      acquire: (id, now, until) => world.state.acquire(id, now, until),
      claimSchedule: (id, expected, next, schedule) => world.state.claimSchedule(id, expected, next, schedule),
      finish: async () => {
        throw new Error('the process died before saving the cursor');
      },
    };
    const dying = makePullRunner({ registry: world.registry, queue: world.queue, state: crashing, secrets, clock: world.clock, log: silentLog, allowLoopback: true });
    await expect(dying('crash-after', 'schedule')).rejects.toThrow(/died/);
    expect(await world.points(stream)).toHaveLength(3);

    world.clock.set(world.clock.now() + 5 * 60_000); // the dead run's lease has expired
    const next = await world.runnerWith(secrets)('crash-after', 'schedule');
    expect(next).toMatchObject({ status: 'succeeded', pulled: 3, enqueued: 3, cursorBefore: 0, cursorAfter: 3 });
    expect((await world.points(stream)).map((p) => p.values.quantity)).toEqual([1.5, 3, 4.5]);
  });
});

describe('database failures are a clear status', () => {
  async function failing(id: string, source: Record<string, unknown>, secretValues = { PG_PASSWORD, PG_USER }) {
    await dbStream(id, source);
    await insert(1, 2);
    const result = await world.runnerWith(secretsFrom(secretValues))(id, 'schedule');
    expect(result).toMatchObject({ status: 'failed', enqueued: 0, cursorAfter: 0 });
    const state = await world.state.get(id);
    expect(state?.lastError).toMatchObject(result.error!);
    expect(state?.cursor).toBeUndefined();
    return result.error!;
  }

  it('says the database refused a wrong password', async () => {
    expect(await failing('bad-password', {}, { PG_PASSWORD: 'wrong', PG_USER })).toMatchObject({
      code: 'db.auth',
      message: expect.stringMatching(/password authentication failed/),
    });
  });

  it('says the query failed, with PostgreSQL\'s reason', async () => {
    expect(await failing('bad-sql', { query: 'SELECT * FROM no_such_table WHERE id > $1' })).toMatchObject({
      code: 'db.sql',
      message: expect.stringMatching(/no_such_table.*does not exist.*42P01/),
    });
  });

  it('says the host cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failing('unreachable', {
      connection: { host: '127.0.0.1', port, database: 'postgres', user: 'reader', password: '${secret:PG_PASSWORD}', ssl: false },
    });
    expect(error).toMatchObject({ code: 'source.unreachable', message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('refuses a database host on a private address unless allowed', async () => {
    const error = await failing('private-db', {
      connection: { host: '192.168.1.20', port: 5432, database: 'postgres', user: 'reader', password: '${secret:PG_PASSWORD}', ssl: false },
    });
    expect(error).toMatchObject({ code: 'target.forbidden', message: expect.stringMatching(/192\.168\.1\.20/) });
  });

  it('says which column is missing when the query does not select the incremental column', async () => {
    expect(await failing('no-cursor-column', { query: `SELECT sku, qty, counted_at FROM ${table} WHERE id > $1`, incrementalColumn: 'id' })).toMatchObject({
      code: 'db.cursor',
      message: expect.stringMatching(/'id'/),
    });
  });
});
