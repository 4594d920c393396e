import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { HttpEvent } from '../../functions/commons/http';
import { ROUTES, matchRoute, routeKey } from '../../functions/commons/routes';
import { requiredScope } from '../../functions/commons/auth';
import { makeIngestHandler } from '../../functions/ingest/app';
import { makeQueryHandler } from '../../functions/query/app';
import { makeStreamsHandler } from '../../functions/streams/app';

/** Ports that fail the test if a handler reaches them: the scope check must come first. */
const unreachable = new Proxy({}, { get: () => () => Promise.reject(new Error('reached a port before the scope check')) }) as never;
const deps = { registry: unreachable, queue: unreachable, store: unreachable, tokens: unreachable, idempotency: unreachable, clock: { now: () => 0 }, log: { error: () => {}, info: () => {} } };
const context = { awsRequestId: 'test' } as Context;

function event(key: string, id: string, scopes: string): HttpEvent {
  return {
    version: '2.0',
    routeKey: key,
    rawPath: '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    pathParameters: { id },
    body: '{"x":1}',
    isBase64Encoded: false,
    requestContext: { requestId: 'r', authorizer: { lambda: { scopes, principal: 'p' } } } as unknown as HttpEvent['requestContext'],
  };
}

describe('handlers re-check the scope against the stream the request names', () => {
  // An authorizer answer cached for stream A (its token is allowed there) must not open stream B.
  it('ingest: a token scoped to stream a posting to stream b gets 403', async () => {
    const res = await makeIngestHandler(deps)(event('POST /v1/streams/{id}/data', 'b', 'ingest:a'), context);
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body!).detail).toContain("'ingest:b'");
  });
  it('query: a read token of stream a reading stream b gets 403', async () => {
    const res = await makeQueryHandler(deps)(event('GET /v1/streams/{id}/data', 'b', 'read:a'), context);
    expect(res.statusCode).toBe(403);
  });
  it('streams: an ingest token cannot pause a stream', async () => {
    const res = await makeStreamsHandler(deps)(event('POST /v1/streams/{id}/pause', 'a', 'ingest:a'), context);
    expect(res.statusCode).toBe(403);
  });
  it('a request without authorizer context gets 401', async () => {
    const e = event('POST /v1/streams/{id}/data', 'a', '');
    (e.requestContext as { authorizer?: unknown }).authorizer = undefined;
    const res = await makeIngestHandler(deps)(e, context);
    expect(res.statusCode).toBe(401);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
  });
});

describe('routes', () => {
  it('match concrete paths to their template and stream id', () => {
    expect(matchRoute('POST', '/v1/streams/freezers/data')).toEqual({ route: ROUTES.find((r) => routeKey(r) === 'POST /v1/streams/{id}/data'), id: 'freezers' });
    expect(matchRoute('PUT', '/v1/streams/freezers/data')).toEqual({ pathKnown: true });
    expect(matchRoute('GET', '/v1/nothing')).toEqual({ pathKnown: false });
  });
  it('need admin for management, the stream scope for data', () => {
    const scope = (key: string, id?: string) => requiredScope(ROUTES.find((r) => routeKey(r) === key)!, id);
    expect(scope('POST /v1/streams')).toBe('admin');
    expect(scope('DELETE /v1/streams/{id}', 's')).toBe('admin');
    expect(scope('POST /v1/streams/{id}/data', 's')).toBe('ingest:s');
    expect(scope('GET /v1/streams/{id}/latest', 's')).toBe('read:s');
  });
});
