import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { PG_PASSWORD, PG_USER, secretConnectionTo, startPostgres } from '../fixtures/postgres-server';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { ADMIN } from './harness';

const pg = startedForSuite(startPostgres);

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
/** Rows one pull takes (the query's LIMIT). */
const PULL_LIMIT = 20;
/** Each round adds more rows than one pull takes, so every pull that is killed has rows in hand. */
const ROWS_PER_ROUND = 30;
const ROUNDS = 8;
/** Rounds in which the runtime kills itself right after a pull's first durable write (test-only hook). */
const CRASH_HOOK_ROUNDS = new Set([1, 5]);

type Answer = { status: number; body: any };

async function api(rt: RuntimeProcess, path: string, method = 'GET', body?: unknown): Promise<Answer> {
  const res = await fetch(`${rt.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads until `done` holds or `ms` pass, and returns the last read either way (the assertions say what is wrong). */
async function readUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  const until = Date.now() + ms;
  let last = await read();
  while (!done(last) && Date.now() < until) {
    await sleep(100);
    last = await read();
  }
  return last;
}

/**
 * Restarts the runtime with its test-only crash hook, pulls, and checks the process died between queuing the
 * pulled rows and saving the cursor: after a normal restart the rows reach the query results while the cursor
 * has not moved (the next pull reads them again).
 */
async function crashBetweenEnqueueAndCursor(rt: RuntimeProcess): Promise<void> {
  const cursor = (await api(rt, '/v1/streams/meter/status')).body.pull?.cursor ?? 0;
  await rt.kill();
  await rt.start({ TRIBUTARY_TEST_CRASH_MID_PULL: '1' });
  await expect(api(rt, '/v1/streams/meter/pull', 'POST')).rejects.toThrow(); // the process died answering
  expect(await rt.exited()).toBe('SIGKILL');
  await rt.start();
  const last = cursor + PULL_LIMIT;
  const points = await readUntil(() => pointsOf(rt), (ids) => ids.includes(last), 5_000);
  // soft: a run that goes on to the end also lists every row lost
  expect.soft(points, `the rows of the crashed pull, up to id ${last}, are queued`).toContain(last);
  expect.soft((await api(rt, '/v1/streams/meter/status')).body.pull?.cursor ?? 0, 'the cursor has not moved').toBe(cursor);
}

/** The `id` of every point of the stream, as the query API answers. */
async function pointsOf(rt: RuntimeProcess): Promise<number[]> {
  const range = `start=${new Date(T0).toISOString()}&end=${new Date(T0 + 86_400_000).toISOString()}`;
  const r = await api(rt, `/v1/streams/meter/data?${range}&granularity=raw&limit=10000`);
  if (r.status !== 200) throw new Error(`query failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.points.map((p: { values: { id: number } }) => p.values.id);
}

describe('kill -9 while a database stream is being pulled', () => {
  it('loses no row and stores none twice, and the cursor ends at the newest row', async () => {
    await pg.db.exec('CREATE TABLE meter (id integer PRIMARY KEY, reading integer NOT NULL, at timestamptz NOT NULL)');
    let inserted = 0;
    const insertRows = async (n: number) => {
      const ids = Array.from({ length: n }, (_, i) => inserted + 1 + i);
      await pg.db.exec(`INSERT INTO meter VALUES ${ids.map((id) => `(${id}, ${id * 7}, '${new Date(T0 + id * 1000).toISOString()}')`).join(', ')}`);
      inserted += n;
    };
    const rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN, TRIBUTARY_SECRET_PG_USER: PG_USER, TRIBUTARY_SECRET_PG_PASSWORD: PG_PASSWORD });
    try {
      const created = await api(rt, '/v1/streams', 'POST', {
        id: 'meter',
        name: 'Meter',
        type: 'database',
        schema: { id: { type: 'integer', required: true }, reading: { type: 'integer' }, timestamp: { type: 'datetime' } },
        source: {
          kind: 'database',
          engine: 'postgresql',
          connection: secretConnectionTo(pg),
          query: `SELECT id, reading, at FROM meter WHERE id > $1 ORDER BY id LIMIT ${PULL_LIMIT}`,
          incrementalColumn: 'id',
          initialCursor: 0,
          mapping: { id: 'id', reading: 'reading', timestamp: 'at' },
          // pulls here are run by hand, as fast as the test likes; the schedule would add a run a minute
          schedule: 'cron(0 3 1 1 ? *)',
        },
      });
      expect(created.status).toBe(201);

      let cutOff = 0;
      for (let round = 0; round < ROUNDS; round++) {
        await insertRows(ROWS_PER_ROUND);
        if (CRASH_HOOK_ROUNDS.has(round)) {
          await crashBetweenEnqueueAndCursor(rt);
          continue;
        }
        const pull = api(rt, '/v1/streams/meter/pull', 'POST').then(
          () => false,
          () => true,
        );
        await sleep(Math.random() * 50);
        await rt.kill();
        if (await pull) cutOff++;
        await rt.start();
      }
      // kills that never cut a pull short would prove nothing
      expect(cutOff).toBeGreaterThan(0);

      // the restarted runtime pulls at once: no lease of a killed run holds the stream (409) until it expires
      for (let pulls = 0; pulls <= inserted / PULL_LIMIT; pulls++) {
        const run = await api(rt, '/v1/streams/meter/pull', 'POST');
        expect(run).toMatchObject({ status: 200, body: { status: 'succeeded' } });
        if (run.body.cursorAfter === inserted) break;
      }
      const status = await api(rt, '/v1/streams/meter/status');
      expect(status.body.pull).toMatchObject({ cursor: inserted, lastStatus: 'succeeded' });

      const ids = await readUntil(() => pointsOf(rt), (found) => found.length >= inserted, 10_000);
      const counts = new Map<number, number>();
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
      const all = Array.from({ length: inserted }, (_, i) => i + 1);
      expect(all.filter((id) => !counts.has(id)), 'rows missing from the query results').toEqual([]);
      expect([...counts].filter(([, n]) => n > 1), 'rows in the query results more than once').toEqual([]);
      expect(ids).toHaveLength(inserted);
    } finally {
      await rt.close();
    }
  });
});
