import { execFile } from 'node:child_process';
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { startDynalite } from '../../shared/local/dynalite-server';
import { EVENTS_TABLE_NAME } from '../../infra/local/runtime';
import { waitForValue } from '../fixtures/waiting';
import { ADMIN, startLocal, type Local } from './harness';
import { chainHash } from '../../functions/commons/receipt-hash';

/**
 * Verifiable records on the local runtime, as a user checks them: every stored batch has a receipt chained
 * to the one before (`GET …/receipts`); `GET …/verify` reads every record back from the stores and finds
 * what changed on disk while the runtime was stopped (a point altered, one deleted, one added in DuckDB; an
 * event altered and a receipt changed in dynalite), naming the batch each belonged to.
 */

const dataDir = await mkdtemp(join(tmpdir(), 'tributary-receipts-'));
let local: Local = await startLocal({ dataDir });
afterAll(async () => {
  await local.close();
  await rm(dataDir, { recursive: true, force: true });
});

const T0 = Date.parse('2026-11-20T00:00:00Z');
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();

async function post(id: string, token: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${local.base}/v1/streams/${id}/data`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  expect(res.status, await res.text()).toBe(202);
}

/** Waits for the stream's receipt `seq`. */
async function headAt(id: string, seq: number) {
  await waitForValue(`receipt ${seq} of ${id}`, async () => ((await local.api(`/v1/streams/${id}/receipts`)).body.head?.seq === seq ? true : undefined));
}

/** Posts each batch once the one before has its receipt, so batch n is receipt n. */
async function postBatches(id: string, token: string, batches: unknown[][]) {
  for (const [i, batch] of batches.entries()) {
    await post(id, token, batch);
    await headAt(id, i + 1);
  }
}

const freezers = { name: `Freezers ${Math.random()}`, type: 'iot_sensor', dimensions: ['deviceId'], schema: { deviceId: { type: 'string' }, temperature: { type: 'number' }, door: { type: 'string' } } };
const batchOf = (n: number) => [0, 1, 2].map((m) => ({ deviceId: `f-${m}`, temperature: -18 - n - m / 10, door: 'closed', timestamp: at(n * 10 + m) }));

/** `tributary verify …` as a user runs it: its exit code and what it printed. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string }> {
  const env = { ...process.env, TRIBUTARY_URL: local.base, TRIBUTARY_TOKEN: ADMIN, TRIBUTARY_CONFIG: join(dataDir, 'no-config.json') };
  return new Promise((done) => {
    execFile('node', [resolve('packages/cli/bin/tributary.js'), ...args], { env }, (err, stdout) => done({ code: err ? Number(err.code) : 0, stdout }));
  });
}

async function reopen(change: (dir: string) => Promise<void>) {
  await local.close();
  await change(dataDir);
  local = await startLocal({ dataDir });
}

describe('receipts and verification on the local runtime', () => {
  let points: { id: string; ingestToken: string };
  let orders: { id: string; ingestToken: string };

  it('gives every stored batch a receipt chained to the one before, and verifies an untouched stream', async () => {
    points = await local.createStream(freezers);
    await postBatches(points.id, points.ingestToken, [batchOf(0), batchOf(1), batchOf(2)]);
    const { body } = await local.api(`/v1/streams/${points.id}/receipts`);
    expect(body.receipts.map((r: any) => [r.seq, r.count, r.from, r.to])).toEqual([
      [1, 3, at(0), at(2)],
      [2, 3, at(10), at(12)],
      [3, 3, at(20), at(22)],
    ]);
    expect(body.receipts[0].prev).toBe('0'.repeat(64));
    expect(body.receipts[1].prev).toBe(body.receipts[0].chain);
    expect(body.receipts[2].prev).toBe(body.receipts[1].chain);
    expect(body.head.chain).toBe(body.receipts[2].chain);
    // each chain hash is signed, and the answer carries the public key to check it with, without Tributary
    expect(body.key).toMatchObject({ keyId: expect.stringMatching(/^local:/), algorithm: 'ECDSA_SHA_256' });
    const publicKey = createPublicKey(body.key.publicKeyPem);
    for (const r of body.receipts) {
      expect(r.keyId).toBe(body.key.keyId);
      expect(verifySignature('sha256', Buffer.from(r.chain), { key: publicKey, dsaEncoding: 'der' }, Buffer.from(r.signature, 'base64'))).toBe(true);
    }

    const v = await local.api(`/v1/streams/${points.id}/verify`);
    expect(v.status).toBe(200);
    expect(v.body).toMatchObject({ verified: true, key: body.key, receipts: { total: 3, inWindow: 3, signed: 3, head: { seq: 3 } }, records: { verified: 9, altered: 0, dropped: 0, inserted: 0 }, problems: [] });
    const ok = await cli('verify', points.id);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`verified: ${points.id}`);
    expect(ok.stdout).toContain('records: 9 verified, 0 altered, 0 dropped, 0 inserted');
  });

  it('keeps an event stream\'s events under the same receipts and verifies them', async () => {
    orders = await local.createStream({ name: `Orders ${Math.random()}`, type: 'event_stream', schema: { orderId: { type: 'string' }, total: { type: 'number' } } });
    const meta = Buffer.from(JSON.stringify({ source: 'shop' })).toString('base64');
    await post(orders.id, orders.ingestToken, [{ orderId: 'o-1', total: 12.5 }, { orderId: 'o-2', total: 7 }], { 'x-flowcore-metadata-json': meta });
    await headAt(orders.id, 1);
    const v = await local.api(`/v1/streams/${orders.id}/verify`);
    // two events, and their points: one, as both have the request's time and no dimension (the first is kept)
    expect(v.body).toMatchObject({ verified: true, records: { verified: 3 }, problems: [] });
  });

  it('finds a point altered, one deleted and one added on disk, each named with its batch', async () => {
    await reopen(async (dir) => {
      const db = await DuckDBInstance.create(join(dir, 'points.duckdb'));
      const c = await db.connect();
      const table = `"points/${points.id}"`;
      const time = (minute: number) => String(T0 + minute * 60_000);
      await c.run(`UPDATE ${table} SET temperature = 5 WHERE time = ${time(11)}`);
      await c.run(`DELETE FROM ${table} WHERE time = ${time(22)}`);
      await c.run(`INSERT INTO ${table} SELECT "$series", ${time(3)}, temperature, door FROM ${table} WHERE time = ${time(0)}`);
      c.closeSync();
      db.closeSync();
    });
    const v = await local.api(`/v1/streams/${points.id}/verify`);
    expect(v.body.verified).toBe(false);
    expect(v.body.records).toMatchObject({ verified: 7, altered: 1, dropped: 1, inserted: 1 });
    const f = (m: number) => expect.stringContaining(`p ${T0 + m * 60_000} `);
    expect(v.body.problems).toEqual(
      expect.arrayContaining([
        { kind: 'altered', batch: 2, record: f(11), reason: 'the stored record is not the one batch 2 stored' },
        { kind: 'dropped', batch: 3, record: f(22), reason: 'the record batch 3 stored is missing' },
        { kind: 'inserted', record: f(3), reason: 'the stored record is in no batch' },
      ]),
    );
    expect(v.body.problems).toHaveLength(3);
    // the CLI lists the same problems and exits 11, so a cron job or CI step fails on them
    const failed = await cli('verify', points.id);
    expect(failed.code).toBe(11);
    expect(failed.stdout).toContain(`NOT VERIFIED: ${points.id}`);
    expect(failed.stdout).toContain('altered batch #2 p ');
    expect(failed.stdout).toContain('dropped batch #3 p ');
    const windowed = await cli('verify', points.id, '--start', at(20), '--end', at(30), '-o', 'json');
    expect(JSON.parse(windowed.stdout)).toMatchObject({ verified: false, records: { dropped: 1, altered: 0 } });
    expect(windowed.code).toBe(11);
    // a window leaves out what is outside it
    const w = await local.api(`/v1/streams/${points.id}/verify?start=${at(10)}&end=${at(20)}`);
    expect(w.body).toMatchObject({ verified: false, receipts: { inWindow: 1 }, records: { verified: 2, altered: 1, dropped: 0, inserted: 0 } });
  });

  it('finds an event altered in its container and a receipt changed in the ledger', async () => {
    await reopen(async (dir) => {
      const dynamo = await startDynalite({ path: join(dir, 'dynamodb') });
      try {
        const { Items } = await dynamo.client.send(new QueryCommand({ TableName: EVENTS_TABLE_NAME, KeyConditionExpression: 's = :s', ExpressionAttributeValues: { ':s': { S: orders.id } } }));
        const container = Items![0]!;
        const body = (await promisify(gunzip)(container.b!.B!)).toString().replace('"total":7', '"total":70');
        await dynamo.client.send(new PutItemCommand({ TableName: EVENTS_TABLE_NAME, Item: { ...container, b: { B: await promisify(gzip)(body) } } }));
        const key = { s: { S: `${points.id}#receipts` }, e: { S: '000000000002' } };
        const receipt = (await dynamo.client.send(new GetItemCommand({ TableName: EVENTS_TABLE_NAME, Key: key }))).Item!;
        await dynamo.client.send(new PutItemCommand({ TableName: EVENTS_TABLE_NAME, Item: { ...receipt, count: { N: '2' } } }));
        // the head rewritten consistently (its chain hash recomputed): only its signature gives it away
        const headKey = { s: { S: `${points.id}#receipts` }, e: { S: '000000000003' } };
        const head = (await dynamo.client.send(new GetItemCommand({ TableName: EVENTS_TABLE_NAME, Key: headKey }))).Item!;
        const fields = { seq: 3, at: Number(head.at!.N) + 1, hash: head.hash!.S!, count: Number(head.count!.N), from: Number(head.from!.N), to: Number(head.to!.N), prev: head.prev!.S! };
        await dynamo.client.send(new PutItemCommand({ TableName: EVENTS_TABLE_NAME, Item: { ...head, at: { N: String(fields.at) }, chain: { S: chainHash(fields) } } }));
      } finally {
        await dynamo.close();
      }
    });
    const events = await local.api(`/v1/streams/${orders.id}/verify`);
    expect(events.body).toMatchObject({ verified: false, records: { altered: 1 }, problems: [{ kind: 'altered', batch: 1, record: expect.stringMatching(/^e /) }] });
    const chain = await local.api(`/v1/streams/${points.id}/verify`);
    expect(chain.body.problems).toContainEqual({ kind: 'chain', batch: 2, reason: 'receipt 2 was changed: its chain hash is not the hash of its fields' });
    expect(chain.body.problems).toContainEqual({ kind: 'signature', batch: 3, reason: "receipt 3's signature is not the receipt key's signature of its chain hash" });
    expect(chain.body.problems.filter((p: any) => p.batch === 3 && p.kind === 'chain')).toEqual([]);
  });

  it('answers a bad parameter with its name', async () => {
    const bad = await local.api(`/v1/streams/${points.id}/verify?start=yesterday`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: ['start'], message: 'must be an RFC 3339 date-time or epoch milliseconds' }]);
    expect((await local.api(`/v1/streams/${points.id}/receipts?limit=0`)).status).toBe(400);
    expect((await local.api(`/v1/streams/${points.id}/verify`, { token: points.ingestToken })).status).toBe(403);
  });
});
