import { describe, expect, it } from 'vitest';
import { makeDecide } from '../../functions/authorizer/app';
import { influxToken } from '../../functions/commons/auth';
import { findRoute, matchRoute } from '../../functions/commons/routes';
import type { TokenRecord } from '../../shared/ports';
import { hashToken } from '../../shared/tokens';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('influxToken', () => {
  it("reads the token from basic auth's password, Token and Bearer headers, and the p parameter", () => {
    expect(influxToken(basic('grafana', 'trb_x:y'), {})).toBe('trb_x:y');
    expect(influxToken('Token trb_a', {})).toBe('trb_a');
    expect(influxToken('bearer trb_b', {})).toBe('trb_b');
    expect(influxToken(undefined, { u: 'grafana', p: 'trb_c' })).toBe('trb_c');
  });

  it('finds no token in an empty password, a malformed header or no credentials at all', () => {
    expect(influxToken(basic('grafana', ''), {})).toBeUndefined();
    expect(influxToken('Basic !!!', {})).toBeUndefined();
    expect(influxToken('Digest x', { p: 'trb_c' })).toBeUndefined();
    expect(influxToken(undefined, {})).toBeUndefined();
  });
});

describe('the /query routes', () => {
  const records = new Map<string, TokenRecord>([
    [hashToken('trb_read'), { hash: hashToken('trb_read'), scopes: ['read:freezers'], streamId: 'freezers', createdAt: '2026-01-01T00:00:00Z' }],
    [hashToken('trb_ingest'), { hash: hashToken('trb_ingest'), scopes: ['ingest:freezers'], streamId: 'freezers', createdAt: '2026-01-01T00:00:00Z' }],
  ]);
  const decide = makeDecide({ tokens: { put: async () => {}, find: async (h) => records.get(h), deleteForStream: async () => {} }, adminTokenHash: hashToken('trb_admin') });

  it('are GET and POST /query to the query function, with InfluxDB credentials and no stream in the path', () => {
    for (const method of ['GET', 'POST']) {
      expect(matchRoute(method, '/query')).toEqual({ route: findRoute(`${method} /query`) });
      expect(findRoute(`${method} /query`)).toMatchObject({ fn: 'query', scope: 'read-any', influxAuth: true });
    }
  });

  it('let a read token or the admin token in, by any InfluxDB credential, and keep an ingest token out', async () => {
    expect(await decide(basic('grafana', 'trb_read'), 'POST /query', undefined)).toMatchObject({ ok: true, context: { scopes: 'read:freezers' } });
    expect(await decide(undefined, 'GET /query', undefined, { u: 'g', p: 'trb_admin' })).toMatchObject({ ok: true, context: { scopes: 'admin' } });
    expect(await decide('Token trb_ingest', 'GET /query', undefined)).toMatchObject({ ok: false, status: 403 });
    expect(await decide('Token trb_unknown', 'GET /query', undefined)).toMatchObject({ ok: false, status: 401 });
    expect(await decide(undefined, 'GET /query', undefined)).toMatchObject({ ok: false, status: 401 });
  });

  it('leave the other routes on bearer tokens only', async () => {
    expect(await decide(basic('grafana', 'trb_read'), 'GET /v1/streams/{id}/data', 'freezers')).toMatchObject({ ok: false, status: 401 });
    expect(await decide(undefined, 'GET /v1/streams/{id}/data', 'freezers', { p: 'trb_read' })).toMatchObject({ ok: false, status: 401 });
  });
});

describe('the InfluxDB write routes', () => {
  const records = new Map<string, TokenRecord>([
    [hashToken('trb_read'), { hash: hashToken('trb_read'), scopes: ['read:cpu'], streamId: 'cpu', createdAt: '2026-01-01T00:00:00Z' }],
    [hashToken('trb_ingest'), { hash: hashToken('trb_ingest'), scopes: ['ingest:cpu'], streamId: 'cpu', createdAt: '2026-01-01T00:00:00Z' }],
  ]);
  const decide = makeDecide({ tokens: { put: async () => {}, find: async (h) => records.get(h), deleteForStream: async () => {} }, adminTokenHash: hashToken('trb_admin') });

  it('are POST /write (1.x) and POST /api/v2/write (2.x) to the ingest function, with InfluxDB credentials and no stream in the path', () => {
    for (const path of ['/write', '/api/v2/write']) {
      expect(matchRoute('POST', path)).toEqual({ route: findRoute(`POST ${path}`) });
      expect(findRoute(`POST ${path}`)).toMatchObject({ fn: 'ingest', scope: 'ingest-any', influxAuth: true });
      expect(matchRoute('GET', path)).toEqual({ pathKnown: true });
    }
  });

  it("let an ingest token in by Telegraf's credentials (Token for 2.x, basic auth or u/p for 1.x), and keep a read token out", async () => {
    expect(await decide('Token trb_ingest', 'POST /api/v2/write', undefined)).toMatchObject({ ok: true, context: { scopes: 'ingest:cpu' } });
    expect(await decide(basic('telegraf', 'trb_ingest'), 'POST /write', undefined)).toMatchObject({ ok: true, context: { scopes: 'ingest:cpu' } });
    expect(await decide(undefined, 'POST /write', undefined, { u: 'telegraf', p: 'trb_ingest' })).toMatchObject({ ok: true });
    expect(await decide('Token trb_read', 'POST /api/v2/write', undefined)).toMatchObject({ ok: false, status: 403, reason: expect.stringContaining('ingest:<stream>') });
    expect(await decide(undefined, 'POST /api/v2/write', undefined)).toMatchObject({ ok: false, status: 401 });
  });
});
