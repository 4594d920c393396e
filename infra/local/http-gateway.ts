import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Context } from 'aws-lambda';
import type { Decision } from '../../functions/authorizer/app';
import { MAX_BODY_BYTES } from '../../functions/commons/body';
import { retryAfter, type HttpEvent, type HttpHandler, type HttpResult } from '../../functions/commons/http';
import { problemResponse, toProblem } from '../../functions/commons/problem';
import { findRoute, matchRoute, routeKey, type FunctionName } from '../../functions/commons/routes';
import { LIVE_PATH } from '../../functions/commons/live-route';
import type { DashboardSite } from './dashboard-site';
import type { LiveGateway } from './live-gateway';
import { answerAndClose, BodyBudget, declaredLength, EDGE_LIMITS, edgeProblems, guardServer, readBody, send, type EdgeLimits } from './http-edge';

export interface HttpGatewayDeps {
  handlers: Record<FunctionName, HttpHandler>;
  decide: (authorization: string | undefined, routeKey: string, streamId: string | undefined, query?: Record<string, string>) => Promise<Decision>;
  maxBodyBytes?: number;
  /** Timeouts and the caps on bodies read at once (default {@link EDGE_LIMITS}). */
  limits?: Partial<EdgeLimits>;
  /** Live subscriptions: `GET /v1/streams/{id}/live` upgraded to a WebSocket, or as Server-Sent Events. */
  live?: LiveGateway;
  /** The web dashboard's files (`/`, `/ui/…`, `/config.json`), answered before any route and without a token. */
  site?: DashboardSite;
}

/**
 * `GET /healthz`: 200 `{"status":"ok"}` without a token, for process managers and load balancers; it says
 * only that the runtime is up. Local only: in AWS, API Gateway and Lambda report their own health.
 */
export const HEALTH_PATH = '/healthz';

/**
 * The local API Gateway: turns each request into an HTTP API payload 2.0 event, runs the same authorizer
 * decision and the same handlers as the Lambdas, and writes their result back. As API Gateway does, it
 * authorizes from the headers before it reads a byte of the body: a request without a valid token is
 * answered and its connection closed, its body never held. Bodies are read under a server-wide cap on
 * how many and how many bytes at once, and under header, request and idle timeouts (see `http-edge.ts`).
 *
 * @example
 * const server = createHttpGateway({ handlers, decide });
 * server.listen(3000, '127.0.0.1');
 */
export function createHttpGateway(deps: HttpGatewayDeps): Server {
  const maxBody = deps.maxBodyBytes ?? MAX_BODY_BYTES;
  const limits: EdgeLimits = { ...EDGE_LIMITS, ...deps.limits };
  const budget = new BodyBudget(limits);
  const serve = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    handle(req, res, expectsContinue).catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      // the token check fails when the table cannot be read: that is a 503 (retry), not a 500
      const { problem } = toProblem(err);
      send(res, problemResponse(problem, retryAfter(problem.status)));
    });
  };
  // checks every 1 s (node's default is 30 s) whether a request passed its header or request timeout
  const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => serve(req, res, false));
  // `Expect: 100-continue`: the client waits for the token check before it sends the body
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => serve(req, res, true));
  server.keepAliveTimeout = 65_000;
  server.on('upgrade', (req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
    const url = requestUrl(req.url);
    const match = url && (req.method ?? 'GET') === 'GET' ? matchRoute('GET', url.pathname) : undefined;
    const live = deps.live && match && 'route' in match && findRoute(routeKey(match.route))?.path === LIVE_PATH && match.id !== undefined;
    if (!live || !url) {
      socket.on('error', () => {});
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    deps.live!.upgrade(req, socket, head, (match as { id: string }).id, url);
  });
  guardServer(server, limits);

  async function handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    const method = req.method ?? 'GET';
    const length = declaredLength(req);
    // a refusal before the body is read closes the connection (when a body is on its way) instead of reading it
    const refuse = (result: HttpResult) => (length === 0 || expectsContinue ? send(res, result) : answerAndClose(req, res, result));
    const url = requestUrl(req.url);
    if (!url) return refuse(problemResponse({ type: 'about:blank', title: 'Bad request', status: 400, detail: 'The request target is not a path.', code: 'BadRequest' }));
    if (url.pathname === HEALTH_PATH && (method === 'GET' || method === 'HEAD')) {
      return refuse({ statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: method === 'HEAD' ? '' : '{"status":"ok"}' });
    }
    const page = deps.site?.answer(method, url.pathname, req.headers.host);
    if (page) return refuse(page);
    const match = matchRoute(method, url.pathname);
    if (!('route' in match)) {
      const status = match.pathKnown ? 405 : 404;
      return refuse(problemResponse({ type: 'about:blank', title: status === 405 ? 'Method not allowed' : 'Not found', status, detail: `${method} ${url.pathname} is not a route of this API.`, code: status === 405 ? 'MethodNotAllowed' : 'RouteNotFound' }));
    }
    const key = routeKey(match.route);
    // the live route authenticates itself: a ticket or subprotocol as well as the header
    if (deps.live && match.id !== undefined && findRoute(key)?.path === LIVE_PATH) return deps.live.serve(req, res, match.id, url);
    const decision = await deps.decide(req.headers.authorization, key, match.id, Object.fromEntries(url.searchParams));
    if (!decision.ok) {
      return refuse(
        problemResponse(
          { type: 'about:blank', title: decision.status === 401 ? 'Unauthenticated' : 'Forbidden', status: decision.status, detail: decision.reason, code: decision.status === 401 ? 'Unauthenticated' : 'Forbidden' },
          decision.status === 401 ? { 'www-authenticate': 'Bearer' } : {},
        ),
      );
    }
    const tooLarge = () => edgeProblems.tooLarge(maxBody, match.route.fn === 'ingest' && match.id !== undefined && /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '') ? match.id : undefined);
    if (typeof length === 'number' && length > maxBody) return refuse(tooLarge());

    let body: Buffer | undefined;
    if (length !== 0) {
      const share = budget.take(length === 'chunked' ? 0 : length);
      if (!share) return refuse(edgeProblems.busy());
      if (expectsContinue) res.writeContinue();
      try {
        const outcome = await readBody(req, { maxBytes: maxBody, idleMs: limits.bodyIdleMs, share, reserved: length !== 'chunked' });
        if ('refused' in outcome) {
          if (outcome.refused === 'gone') return;
          const answer = outcome.refused === 'too_large' ? tooLarge() : outcome.refused === 'busy' ? edgeProblems.busy() : edgeProblems.idle(limits.bodyIdleMs);
          return answerAndClose(req, res, answer);
        }
        body = outcome.body;
      } finally {
        share.release();
      }
    }
    const event = toEvent(req, url, key, match.id, body, decision.context, match.params);
    const result = await deps.handlers[match.route.fn](event, lambdaContext(match.route.fn, event.requestContext.requestId));
    send(res, result);
  }

  return server;
}

/**
 * The request target as a URL; `undefined` if it is not one. A target is taken as a path even when it starts
 * with `//` (which `new URL(target, base)` would read as a host).
 */
function requestUrl(target: string | undefined): URL | undefined {
  try {
    return target?.startsWith('/') ? new URL(`http://local${target}`) : new URL(target ?? '');
  } catch {
    return undefined;
  }
}

function toEvent(req: IncomingMessage, url: URL, key: string, id: string | undefined, bytes: Buffer | undefined, authorizer: object, params?: Record<string, string>): HttpEvent {
  // as API Gateway passes a body it cannot take for text: base64, for the handler to decode (and refuse)
  // itself; a compressed body is bytes whatever they happen to look like
  const coded = req.headers['content-encoding'] !== undefined && req.headers['content-encoding'].trim().toLowerCase() !== 'identity';
  const text = bytes?.length ? !coded && isUtf8(bytes) : true;
  const body = bytes?.length ? bytes.toString(text ? 'utf8' : 'base64') : '';
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
    ...((id !== undefined || params) && { pathParameters: { ...params, ...(id !== undefined && { id }) } }),
    ...(body && { body }),
    isBase64Encoded: !text,
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
