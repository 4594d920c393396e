import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Context } from 'aws-lambda';
import type { Decision } from '../../functions/authorizer/app';
import { MAX_BODY_BYTES } from '../../functions/commons/body';
import type { HttpEvent, HttpHandler, HttpResult } from '../../functions/commons/http';
import { problemResponse } from '../../functions/commons/problem';
import { matchRoute, routeKey, type FunctionName } from '../../functions/commons/routes';

export interface HttpGatewayDeps {
  handlers: Record<FunctionName, HttpHandler>;
  decide: (authorization: string | undefined, routeKey: string, streamId: string | undefined) => Promise<Decision>;
  maxBodyBytes?: number;
}

/**
 * `GET /healthz`: 200 `{"status":"ok"}` without a token, for process managers and load balancers; it says
 * only that the runtime is up. Local only: in AWS, API Gateway and Lambda report their own health.
 */
export const HEALTH_PATH = '/healthz';

/**
 * The local API Gateway: turns each request into an HTTP API payload 2.0 event, runs the same authorizer
 * decision and the same handlers as the Lambdas, and writes their result back.
 *
 * @example
 * const server = createHttpGateway({ handlers, decide });
 * server.listen(3000, '127.0.0.1');
 */
export function createHttpGateway(deps: HttpGatewayDeps): Server {
  const maxBody = deps.maxBodyBytes ?? MAX_BODY_BYTES;
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, problemResponse({ type: 'about:blank', title: 'Internal error', status: 500, detail: 'The request failed on our side.' }));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = req.method ?? 'GET';
    if (url.pathname === HEALTH_PATH && (method === 'GET' || method === 'HEAD')) {
      req.resume();
      send(res, { statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: method === 'HEAD' ? '' : '{"status":"ok"}' });
      return;
    }
    const match = matchRoute(method, url.pathname);
    if (!('route' in match)) {
      req.resume();
      const status = match.pathKnown ? 405 : 404;
      send(res, problemResponse({ type: 'about:blank', title: status === 405 ? 'Method not allowed' : 'Not found', status, detail: `${method} ${url.pathname} is not a route of this API.` }));
      return;
    }
    const body = await readBody(req, maxBody);
    if (body === undefined) return tooLarge(res, maxBody);

    const key = routeKey(match.route);
    const decision = await deps.decide(req.headers.authorization, key, match.id);
    if (!decision.ok) {
      send(
        res,
        problemResponse(
          { type: 'about:blank', title: decision.status === 401 ? 'Unauthenticated' : 'Forbidden', status: decision.status, detail: decision.reason },
          decision.status === 401 ? { 'www-authenticate': 'Bearer' } : {},
        ),
      );
      return;
    }
    const event = toEvent(req, url, key, match.id, body, decision.context);
    const result = await deps.handlers[match.route.fn](event, lambdaContext(match.route.fn, event.requestContext.requestId));
    send(res, result);
  }

  return server;
}

function tooLarge(res: ServerResponse, maxBody: number): void {
  send(res, problemResponse({ type: 'about:blank', title: 'Payload too large', status: 413, detail: `The body exceeds ${maxBody} bytes; split it into several requests.` }));
}

/** Past this the connection is cut instead of drained. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/**
 * Reads the body; `undefined` if it passes the limit. An oversized body is drained without being kept
 * (so the client reads the 413 instead of a reset), up to a point past which the socket is closed.
 */
function readBody(req: IncomingMessage, maxBody: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBody) chunks.push(chunk);
      else if (size > DRAIN_LIMIT) req.destroy();
      else chunks.length = 0;
    });
    req.on('end', () => resolve(size > maxBody ? undefined : Buffer.concat(chunks, size).toString('utf8')));
    req.on('error', reject);
    req.on('close', () => resolve(undefined));
  });
}

function toEvent(req: IncomingMessage, url: URL, key: string, id: string | undefined, body: string, authorizer: object): HttpEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // API Gateway joins repeated query parameters with commas
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search && { queryStringParameters: query }),
    ...(id !== undefined && { pathParameters: { id } }),
    ...(body && { body }),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
      authorizer: { lambda: authorizer },
    } as HttpEvent['requestContext'],
  };
}

function lambdaContext(fn: string, requestId: string): Context {
  return {
    awsRequestId: requestId,
    functionName: `tributary-${fn}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:local:lambda:tributary-${fn}`,
    memoryLimitInMB: '0',
    logGroupName: 'local',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

function send(res: ServerResponse, result: HttpResult): void {
  res.statusCode = result.statusCode ?? 200;
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, String(value));
  res.end(result.body ?? '');
}
