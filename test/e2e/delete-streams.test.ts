import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/commons/openapi';
import { openApiConformance } from '../fixtures/openapi-conformance';
import { startLocal, type Local } from './harness';

/** The datastream document's `delete_streams(query_tags)` as `DELETE /v1/streams?tags=…`, on the local runtime. */
describe('DELETE /v1/streams?tags=…', () => {
  let local: Local;
  const conform = openApiConformance(JSON.parse(JSON.stringify(openApiDocument())));
  const problems: string[] = [];
  const schema = { value: { type: 'number' } };
  const records = [0, 1, 2].map((i) => ({ timestamp: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(), value: i }));
  const window = 'start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z';

  async function call(path: string, init: { method?: string; body?: unknown } = {}) {
    const r = await local.api(path, init);
    problems.push(...conform.check({ method: init.method ?? 'GET', path: path.split('?')[0]!, status: r.status, contentType: r.type, responseBody: r.body }));
    return r;
  }
  const byTags = (query: unknown) => `/v1/streams?tags=${encodeURIComponent(JSON.stringify(query))}`;

  let dataDir: string;
  let closed = false;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-delete-streams-'));
    local = await startLocal({ dataDir });
  });
  afterAll(async () => {
    if (!closed) await local?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('deletes every stream the tags match with its points, and leaves the others with theirs', async () => {
    const made = [];
    for (const [id, tags] of [
      ['lyon-a', { site: 'lyon', rack: { row: 1 } }],
      ['lyon-b', { site: 'lyon', rack: { row: 2 } }],
      ['paris-a', { site: 'paris', rack: { row: 1 } }],
    ] as const) {
      const s = await local.createStream({ id, name: id, type: 'iot_sensor', schema, tags });
      expect((await local.api(`/v1/streams/${id}/data`, { body: records, token: s.ingestToken })).status).toBe(202);
      made.push(s);
    }
    for (const { id } of made) await local.waitForPoints(id, window, (p) => p.length === 3);

    const deleted = await call(byTags({ site: 'lyon' }), { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ deleted: ['lyon-a', 'lyon-b'], points: 'erased', more: false });

    expect((await call(`/v1/streams/lyon-a/data?${window}`)).body).toMatchObject({ status: 404, code: 'StreamNotFound' });
    expect((await call('/v1/streams/lyon-b/tags')).status).toBe(404);
    expect((await call(byTags({ site: 'lyon' }))).body.streams).toEqual([]);
    expect((await call(`/v1/streams/paris-a/data?${window}`)).body.points).toHaveLength(3);
    // a deleted stream's id is never given again, so its retained points (in Timestream) can never be read
    expect((await local.api('/v1/streams', { body: { id: 'lyon-a', name: 'again', type: 'iot_sensor', schema } })).status).toBe(409);
  });

  it('matches nested tags, and a second delete of the same tags deletes nothing', async () => {
    await local.createStream({ id: 'row-7', name: 'row 7', type: 'iot_sensor', schema, tags: { rack: { row: 7, slots: ['a', 'b'] } } });
    expect((await call(byTags({ rack: { slots: 'b' } }), { method: 'DELETE' })).body).toEqual({ deleted: ['row-7'], points: 'erased', more: false });
    expect((await call(byTags({ rack: { slots: 'b' } }), { method: 'DELETE' })).body).toEqual({ deleted: [], more: false });
  });

  it('refuses to delete without tags (the document would delete everything) and keys with __', async () => {
    const bare = await call('/v1/streams', { method: 'DELETE' });
    expect(bare.status).toBe(400);
    expect(bare.body.errors[0].path).toEqual(['tags']);
    expect((await call(byTags({}), { method: 'DELETE' })).status).toBe(400);
    expect((await call(byTags({ site__x: 1 }), { method: 'DELETE' })).body.code).toBe('ReservedTagNameError');
    expect((await call('/v1/streams/paris-a')).status).toBe(200);
  });

  it('DELETE /v1/streams/{id} erases the stream’s points too: the points file keeps no table of a deleted stream', async () => {
    const kept = await local.createStream({ id: 'kept', name: 'kept', type: 'iot_sensor', schema });
    expect((await local.api('/v1/streams/kept/data', { body: records, token: kept.ingestToken })).status).toBe(202);
    await local.waitForPoints('kept', window, (p) => p.length === 3);
    expect((await call('/v1/streams/paris-a', { method: 'DELETE' })).status).toBe(204);
    expect((await call('/v1/streams/paris-a', { method: 'DELETE' })).status).toBe(404);
    await local.close();
    closed = true;
    const db = await DuckDBInstance.create(join(dataDir, 'points.duckdb'));
    const conn = await db.connect();
    const tables = (await conn.runAndReadAll('SELECT table_name FROM duckdb_tables() ORDER BY table_name')).getRows().map((r) => r[0]);
    conn.closeSync();
    db.closeSync();
    // the kept stream's points, series and rollup tables stay; no table names a deleted stream (the rollups'
    // close marks are one table for every stream)
    expect(tables.filter((t) => t !== 'rollups-closed')).toEqual(['dirty/kept', 'points/kept', 'rollup/kept', 'series/kept', 'sketch/kept']);
  });

  it('every exchange matched the OpenAPI document', () => {
    expect(problems).toEqual([]);
  });
});
