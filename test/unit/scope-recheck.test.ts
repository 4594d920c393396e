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
  it('uploads: a token scoped to stream a making or completing an upload of stream b gets 403, before any store is read', async () => {
    const withUploads = { ...deps, parts: unreachable, uploads: unreachable };
    const create = await makeIngestHandler(withUploads)(event('POST /v1/streams/{id}/uploads', 'b', 'ingest:a'), context);
    expect(create.statusCode).toBe(403);
    const complete = await makeIngestHandler(withUploads)({ ...event('POST /v1/streams/{id}/uploads/{uploadId}', 'b', 'ingest:a'), pathParameters: { id: 'b', uploadId: 'AAAAAAAAAAAAAAAA' } }, context);
    expect(complete.statusCode).toBe(403);
    expect(JSON.parse(complete.body!).detail).toContain("'ingest:b'");
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
  it('match an upload path to its stream id and upload id, decoded, with or without /v1', () => {
    const complete = ROUTES.find((r) => routeKey(r) === 'POST /v1/streams/{id}/uploads/{uploadId}')!;
    expect(matchRoute('POST', '/v1/streams/scans/uploads/q0Zb%2DJ4o1n2wE8s7')).toEqual({ route: complete, id: 'scans', params: { uploadId: 'q0Zb-J4o1n2wE8s7' } });
    expect(matchRoute('POST', '/streams/scans/uploads/u1')).toMatchObject({ route: { path: '/streams/{id}/uploads/{uploadId}' }, id: 'scans', params: { uploadId: 'u1' } });
    expect(matchRoute('POST', '/v1/streams/scans/uploads')).toEqual({ route: ROUTES.find((r) => routeKey(r) === 'POST /v1/streams/{id}/uploads'), id: 'scans' });
    expect(matchRoute('GET', '/v1/streams/scans/uploads/u1')).toEqual({ pathKnown: true });
    expect(matchRoute('POST', '/v1/streams/scans/uploads/%E0')).toEqual({ pathKnown: false });
  });
  it('need the stream’s ingest scope for its uploads', () => {
    expect(requiredScope(ROUTES.find((r) => routeKey(r) === 'POST /v1/streams/{id}/uploads')!, 's')).toBe('ingest:s');
    expect(requiredScope(ROUTES.find((r) => routeKey(r) === 'POST /v1/streams/{id}/uploads/{uploadId}')!, 's')).toBe('ingest:s');
  });
  it('need admin for management, the stream scope for data', () => {
    const scope = (key: string, id?: string) => requiredScope(ROUTES.find((r) => routeKey(r) === key)!, id);
    expect(scope('POST /v1/streams')).toBe('admin');
    expect(scope('DELETE /v1/streams/{id}', 's')).toBe('admin');
    expect(scope('POST /v1/streams/{id}/data', 's')).toBe('ingest:s');
    expect(scope('GET /v1/streams/{id}/latest', 's')).toBe('read:s');
  });
});
