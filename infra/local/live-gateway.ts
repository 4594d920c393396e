import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Decision } from '../../functions/authorizer/app';
import type { Logger } from '../../functions/commons/http';
import { problemResponse, toProblem } from '../../functions/commons/problem';
import { LIVE_ROUTE_KEY } from '../../functions/commons/live-route';
import { BadRequestError } from '../../shared/domain/errors';
import {
  CLOSE_STREAM_GONE,
  CLOSE_TOO_SLOW,
  CLOSE_UNAUTHORIZED,
  LIVE_SUBPROTOCOL,
  parseLiveFilter,
  subprotocolToken,
  type LiveFilter,
  type LiveMessage,
} from '../../shared/domain/live-messages';
import type { Stream } from '../../shared/domain/stream-definition';
import { streamHealth, type StreamHealth } from '../../shared/domain/stream-health';
import { InProcessLiveFanout, type LiveSubscriber } from '../../shared/local/in-process-live-fanout';
import type { Clock, LiveTicketStore, StreamRegistry } from '../../shared/ports';
import { hashToken } from '../../shared/tokens';
import { send } from './http-edge';

export interface LiveGatewayOptions {
  /** Unsent bytes per subscriber before it is dropped (`DEFAULT_LIVE_BUFFER_BYTES` unless given). */
  limitBytes?: number;
  /** How often each stream's subscribers get `metrics_update` and `stream_status` (5 s unless given). */
  metricsIntervalMs?: number;
  /** WebSocket pings and SSE comments, and how long a WebSocket may miss a pong (30 s unless given). */
  keepAliveMs?: number;
  /** Subscriptions open at once; past it, a new one is a 503 (1000 unless given). */
  maxSubscribers?: number;
}

export interface LiveGatewayDeps {
  registry: StreamRegistry;
  tickets: LiveTicketStore;
  decide: (authorization: string | undefined, routeKey: string, streamId: string | undefined) => Promise<Decision>;
  clock: Clock;
  log: Logger;
}

export interface LiveGateway {
  fanout: InProcessLiveFanout;
  /** The HTTP server's `upgrade` event for `GET /v1/streams/{id}/live`. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, streamId: string, url: URL): void;
  /** `GET /v1/streams/{id}/live` without an upgrade: Server-Sent Events when asked, else 426. */
  serve(req: IncomingMessage, res: ServerResponse, streamId: string, url: URL): Promise<void>;
  close(): Promise<void>;
}

/** How long a dropped or closed subscriber has to finish its close before its socket is destroyed. */
const CLOSE_GRACE_MS = 5_000;

type Refusal = { status: number; detail: string; code: string; closeCode?: number };

/**
 * Live subscriptions on the local HTTP port, as API Gateway's WebSocket API serves them in AWS: the `ws`
 * library takes the upgrade of `GET /v1/streams/{id}/live` and Server-Sent Events answer the same path for
 * `Accept: text/event-stream`. The read token comes in `Authorization`, a single-use ticket (`?ticket=`) or the
 * WebSocket subprotocol `bearer.<token>` beside `tributary.v1`. A refusal is a problem+json answer before the
 * upgrade (401, 403, 404, 400), except for a subprotocol token, refused by closing with 4401 and its reason (a
 * browser sees a close reason, never a refused handshake's status). Nothing of a token or ticket is logged.
 *
 * @example
 * const live = createLiveGateway({ registry, tickets, decide, clock, log });
 * const writeBatch = makeWriter({ …, live: live.fanout });
 */
export function createLiveGateway(deps: LiveGatewayDeps, options: LiveGatewayOptions = {}): LiveGateway {
  const { registry, tickets, decide, clock, log } = deps;
  const fanout = new InProcessLiveFanout({ clock, ...(options.limitBytes !== undefined && { limitBytes: options.limitBytes }) });
  const keepAliveMs = options.keepAliveMs ?? 30_000;
  const maxSubscribers = options.maxSubscribers ?? 1000;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4096,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(LIVE_SUBPROTOCOL) ? LIVE_SUBPROTOCOL : false),
  });
  const sse = new Set<ServerResponse>();

  // one tick at a time, and `close` waits for the one under way (it reads the registry, which closes next)
  let ticking: Promise<void> | undefined;
  let closing = false;
  const metrics = setInterval(() => {
    if (!ticking && !closing) ticking = tick().finally(() => (ticking = undefined));
  }, options.metricsIntervalMs ?? 5_000);
  metrics.unref();
  const pings = setInterval(() => {
    for (const ws of wss.clients) {
      const alive = ws as WebSocket & { alive?: boolean };
      if (alive.alive === false) ws.terminate();
      else {
        alive.alive = false;
        ws.ping();
      }
    }
    for (const res of sse) res.write(': keep-alive\n\n');
  }, keepAliveMs);
  pings.unref();

  /** The stream, its filter and whether the caller may read it; a refusal otherwise. */
  async function admit(req: IncomingMessage, streamId: string, url: URL, viaSubprotocol: string | undefined): Promise<{ stream: Stream; filter: LiveFilter } | Refusal> {
    if (fanout.count() >= maxSubscribers) return { status: 503, detail: `This runtime holds ${maxSubscribers} live subscriptions; try again later.`, code: 'Busy' };
    const ticket = url.searchParams.get('ticket');
    if (ticket !== null) {
      const found = await tickets.redeem(hashToken(ticket), clock.now());
      if (!found || found.streamId !== streamId) return { status: 401, detail: 'The ticket is not known, was used already or has expired: ask for a new one (POST …/live-ticket).', code: 'Unauthenticated' };
    } else {
      const authorization = req.headers.authorization ?? (viaSubprotocol !== undefined ? `Bearer ${viaSubprotocol}` : undefined);
      const decision = await decide(authorization, LIVE_ROUTE_KEY, streamId);
      if (!decision.ok) {
        const detail = authorization === undefined ? 'Send the read token: Authorization: Bearer <token>, the subprotocol bearer.<token>, or ?ticket=<ticket>.' : decision.reason;
        return { status: decision.status, detail, code: decision.status === 401 ? 'Unauthenticated' : 'Forbidden', ...(viaSubprotocol !== undefined && req.headers.authorization === undefined && { closeCode: CLOSE_UNAUTHORIZED }) };
      }
    }
    const stream = await registry.get(streamId);
    if (!stream) return { status: 404, detail: `No stream '${streamId}'.`, code: 'StreamNotFound' };
    const params: Record<string, string> = {};
    for (const [k, v] of url.searchParams) if (k !== 'ticket') params[k] = k in params ? `${params[k]},${v}` : v;
    try {
      return { stream, filter: parseLiveFilter(stream, params) };
    } catch (err) {
      if (!(err instanceof BadRequestError)) throw err;
      return { status: 400, detail: `${err.message} ${err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, code: 'BadRequest' };
    }
  }

  async function greet(sub: LiveSubscriber, stream: Stream): Promise<void> {
    sub.write(JSON.stringify(await statusOf(stream)));
  }

  const pick = (h: StreamHealth) => ({ status: h.status, reason: h.reason });

  async function statusOf(stream: Stream): Promise<LiveMessage> {
    const stats = await registry.getStats(stream.id, clock.now()).catch(() => undefined);
    return {
      type: 'stream_status',
      streamId: stream.id,
      status: stream.state,
      ...(stats?.lastDataAt !== undefined && { lastDataAt: stats.lastDataAt }),
      ...(stats && { pointsTotal: stats.pointsTotal }),
      // the stats read already holds the health buckets: the verdict costs no other read
      ...(stats && { health: pick(streamHealth({ stream, buckets: stats.healthBuckets ?? [], ...(stats.lastDataAt !== undefined && { lastDataAt: stats.lastDataAt }), now: clock.now() })) }),
      at: new Date(clock.now()).toISOString(),
    };
  }

  async function tick(): Promise<void> {
    for (const streamId of fanout.streams()) {
      try {
        const stream = await registry.get(streamId);
        if (!stream) {
          fanout.closeStream(streamId, CLOSE_STREAM_GONE, 'the stream was deleted', { type: 'stream_status', streamId, status: 'deleted', at: new Date(clock.now()).toISOString() });
          continue;
        }
        await fanout.publish(streamId, fanout.metrics(streamId));
        await fanout.publish(streamId, await statusOf(stream));
      } catch (err) {
        log.error('live metrics failed', { streamId, error: (err as Error).name, reason: (err as Error).message });
      }
    }
  }

  function refuseUpgrade(socket: Duplex, r: Refusal): void {
    const body = JSON.stringify({ type: 'about:blank', title: r.code, status: r.status, detail: r.detail });
    const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[r.status] ?? 'Error';
    const auth = r.status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
    socket.end(`HTTP/1.1 ${r.status} ${reason}\r\nContent-Type: application/problem+json\r\n${auth}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  return {
    fanout,
    upgrade(req, socket, head, streamId, url) {
      socket.on('error', () => socket.destroy());
      const offered = req.headers['sec-websocket-protocol'];
      admit(req, streamId, url, subprotocolToken(offered)).then(
        (admitted) => {
          if ('status' in admitted && admitted.closeCode === undefined) return refuseUpgrade(socket, admitted);
          wss.handleUpgrade(req, socket, head, (ws) => {
            if ('status' in admitted) return ws.close(admitted.closeCode!, admitted.detail.slice(0, 120));
            const alive = ws as WebSocket & { alive?: boolean };
            alive.alive = true;
            ws.on('pong', () => (alive.alive = true));
            const sub: LiveSubscriber = {
              streamId,
              filter: admitted.filter,
              buffered: () => ws.bufferedAmount,
              write: (frame) => ws.send(frame),
              drop: (notice) => {
                ws.send(JSON.stringify(notice));
                closeSoon(ws, CLOSE_TOO_SLOW, 'subscriber too slow');
              },
              close: (code, reason) => closeSoon(ws, code, reason),
            };
            const unsubscribe = fanout.subscribe(sub);
            ws.on('close', unsubscribe);
            ws.on('error', unsubscribe);
            ws.on('message', (data, binary) => {
              if (!binary && /^\s*\{\s*"type"\s*:\s*"ping"/.test(data.toString())) ws.send(JSON.stringify({ type: 'pong', at: new Date(clock.now()).toISOString() }));
            });
            greet(sub, admitted.stream).catch(() => {});
          });
        },
        (err: unknown) => {
          const { problem } = toProblem(err);
          refuseUpgrade(socket, { status: problem.status >= 500 ? 503 : problem.status, detail: problem.detail ?? 'Try again later.', code: 'Unavailable' });
        },
      );
    },

    async serve(req, res, streamId, url) {
      if (!/\btext\/event-stream\b/i.test(req.headers.accept ?? '')) {
        return send(res, problemResponse({ type: 'about:blank', title: 'Upgrade required', status: 426, detail: 'Open a WebSocket on this path (subprotocol tributary.v1), or send Accept: text/event-stream for Server-Sent Events.', code: 'UpgradeRequired' }, { upgrade: 'websocket' }));
      }
      const admitted = await admit(req, streamId, url, undefined);
      if ('status' in admitted) {
        return send(res, problemResponse({ type: 'about:blank', title: admitted.code, status: admitted.status, detail: admitted.detail, code: admitted.code }, admitted.status === 401 ? { 'www-authenticate': 'Bearer' } : {}));
      }
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
      res.write('retry: 3000\n\n');
      res.socket?.setNoDelay(true);
      sse.add(res);
      const event = (frame: string) => `event: ${/^\{"type":"(\w+)"/.exec(frame)?.[1] ?? 'message'}\ndata: ${frame}\n\n`;
      const end = () => {
        sse.delete(res);
        res.end();
        setTimeout(() => res.destroy(), CLOSE_GRACE_MS).unref();
      };
      const sub: LiveSubscriber = {
        streamId,
        filter: admitted.filter,
        buffered: () => res.writableLength,
        write: (frame) => void res.write(event(frame)),
        drop: (notice) => {
          res.write(event(JSON.stringify(notice)));
          end();
        },
        close: () => end(),
      };
      const unsubscribe = fanout.subscribe(sub);
      res.on('close', () => {
        sse.delete(res);
        unsubscribe();
      });
      await greet(sub, admitted.stream).catch(() => {});
    },

    async close() {
      closing = true;
      clearInterval(metrics);
      await ticking;
      clearInterval(pings);
      for (const ws of wss.clients) ws.terminate();
      for (const res of sse) res.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function closeSoon(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
  setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
}
