import { describe, expect, it } from 'vitest';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { Decision } from '../../functions/authorizer/app';
import { makeLiveAuthorizer } from '../../functions/live-authorizer/app';
import { makeLiveSocketHandler, MAX_CONNECTION_MS, type LiveSocketEvent } from '../../functions/live/app';
import type { Stream } from '../../shared/domain/stream-definition';
import type { LiveConnection, LiveTicket, StreamRegistry } from '../../shared/ports';
import { hashToken } from '../../shared/tokens';

const T0 = Date.UTC(2026, 0, 1);
const clock = { now: () => T0 };
const log = { info: () => {}, error: () => {} };
const methodArn = 'arn:aws:execute-api:eu-west-1:123456789012:abc/live/$connect';
const stream = { id: 'freezers', state: 'active', dimensions: ['deviceId'], schema: { deviceId: { type: 'string' }, temperature: { type: 'number' } } } as unknown as Stream;

function authorizerWith(tokens: Record<string, Decision>, tickets: Map<string, LiveTicket> = new Map()) {
  return makeLiveAuthorizer({
    decide: async (authorization) => tokens[authorization ?? ''] ?? { ok: false, status: 401, reason: 'The token is not known.' },
    tickets: { issue: async () => {}, redeem: async (hash) => { const t = tickets.get(hash); tickets.delete(hash); return t; } },
    clock,
  });
}
const event = (query: Record<string, string>, headers: Record<string, string> = {}) => ({ type: 'REQUEST', methodArn, queryStringParameters: query, headers }) as unknown as APIGatewayRequestAuthorizerEvent;
const allowRead: Decision = { ok: true, context: { scopes: 'read:freezers', principal: 'token:ab' } };

describe('the live WebSocket authorizer', () => {
  it('allows a read token from Authorization or the subprotocol, with the stream in the context', async () => {
    const authorize = authorizerWith({ 'Bearer trb_read': allowRead });
    for (const headers of [{ Authorization: 'Bearer trb_read' }, { 'Sec-WebSocket-Protocol': 'tributary.v1, bearer.trb_read' }] as Record<string, string>[]) {
      const out = await authorize(event({ stream: 'freezers' }, headers));
      expect(out.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow', Resource: methodArn });
      expect(out.context).toEqual({ streamId: 'freezers', principal: 'token:ab' });
    }
  });

  it('throws Unauthorized (401) for an unknown token, no stream or no token, and denies (403) a token without the scope', async () => {
    const authorize = authorizerWith({ 'Bearer trb_ingest': { ok: false, status: 403, reason: 'lacks read' } });
    await expect(authorize(event({ stream: 'freezers' }, { Authorization: 'Bearer trb_wrong' }))).rejects.toThrow('Unauthorized');
    await expect(authorize(event({}, { Authorization: 'Bearer trb_read' }))).rejects.toThrow('Unauthorized');
    await expect(authorize(event({ stream: 'freezers' }))).rejects.toThrow('Unauthorized');
    const denied = await authorize(event({ stream: 'freezers' }, { Authorization: 'Bearer trb_ingest' }));
    expect(denied.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
    expect(denied.context).toBeUndefined();
  });

  it('redeems a ticket once, for its own stream only', async () => {
    const tickets = new Map([[hashToken('tkt_a'), { hash: hashToken('tkt_a'), streamId: 'freezers', principal: 'token:ab', expiresAt: T0 + 60_000 }]]);
    const authorize = authorizerWith({}, tickets);
    expect((await authorize(event({ stream: 'freezers', ticket: 'tkt_a' }))).context).toEqual({ streamId: 'freezers', principal: 'token:ab' });
    await expect(authorize(event({ stream: 'freezers', ticket: 'tkt_a' }))).rejects.toThrow('Unauthorized');
    tickets.set(hashToken('tkt_b'), { hash: hashToken('tkt_b'), streamId: 'doors', principal: '', expiresAt: T0 + 60_000 });
    await expect(authorize(event({ stream: 'freezers', ticket: 'tkt_b' }))).rejects.toThrow('Unauthorized');
  });
});

describe('the live WebSocket routes', () => {
  const kept: LiveConnection[] = [];
  const removed: string[] = [];
  const handler = makeLiveSocketHandler({
    registry: { get: async (id: string) => (id === 'freezers' ? stream : undefined) } as unknown as StreamRegistry,
    connections: { put: async (c) => void kept.push(c), remove: async (id) => void removed.push(id), list: async () => [] },
    clock,
    log,
  });
  const ws = (routeKey: string, extra: Partial<LiveSocketEvent> = {}, streamId = 'freezers') =>
    ({ requestContext: { routeKey, connectionId: 'c1', authorizer: { streamId } }, ...extra }) as unknown as LiveSocketEvent;

  it('keeps a connection with its filter for API Gateway’s 2 h, answering the subprotocol offered', async () => {
    const out = await handler(ws('$connect', { queryStringParameters: { stream: 'freezers', ticket: 'tkt_x', 'dim.deviceId': 'f1' }, headers: { 'Sec-WebSocket-Protocol': 'tributary.v1, bearer.trb_x' } }));
    expect(out).toEqual({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'tributary.v1' } });
    expect(kept).toEqual([{ connectionId: 'c1', streamId: 'freezers', filter: { fields: [], filters: { deviceId: ['f1'] }, granularity: 'raw', binMs: 0 }, connectedAt: T0, expiresAt: T0 + MAX_CONNECTION_MS }]);
  });

  it('refuses a bad filter with 400 and an unknown stream with 404, keeping nothing', async () => {
    kept.length = 0;
    expect(await handler(ws('$connect', { queryStringParameters: { granularity: '7s' } }))).toMatchObject({ statusCode: 400 });
    expect(await handler(ws('$connect', {}, 'gone'))).toMatchObject({ statusCode: 404 });
    expect(kept).toEqual([]);
  });

  it('drops the connection on $disconnect and answers a ping on $default', async () => {
    await handler(ws('$disconnect'));
    expect(removed).toEqual(['c1']);
    const pong = await handler(ws('$default', { body: '{"type":"ping"}' }));
    expect(JSON.parse((pong as { body: string }).body)).toEqual({ type: 'pong', at: new Date(T0).toISOString() });
  });
});
