import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { BadRequestError } from '../../shared/domain/errors';
import { LIVE_SUBPROTOCOL, parseLiveFilter } from '../../shared/domain/live-messages';
import type { Clock, LiveConnectionStore, StreamRegistry } from '../../shared/ports';
import type { Logger } from '../commons/http';

/** API Gateway closes a WebSocket after 2 h: the connection's item expires with it. */
export const MAX_CONNECTION_MS = 2 * 3_600_000;

export interface LiveSocketDeps {
  registry: StreamRegistry;
  connections: LiveConnectionStore;
  clock: Clock;
  log: Logger;
}

/** A WebSocket route's event: API Gateway adds the query string, the headers and the authorizer's context to `$connect`'s. */
export type LiveSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  queryStringParameters?: Record<string, string | undefined>;
  headers?: Record<string, string | undefined>;
  requestContext: APIGatewayProxyWebsocketEventV2['requestContext'] & { authorizer?: { streamId?: string; principal?: string } };
};

/**
 * The WebSocket API's routes. `$connect` (after the live authorizer): reads the subscription's filter
 * (`fields`, `dim.NAME`, `granularity`; a bad one refuses the connection with 400), keeps the connection
 * with a TTL of API Gateway's 2 h, and answers the subprotocol `tributary.v1` when the client offered it.
 * `$disconnect` drops it. `$default` answers a client's `{"type":"ping"}` with a `pong` (the route returns
 * its response): pings keep a quiet connection under API Gateway's 10 min idle timeout.
 *
 * @example
 * export const handler = makeLiveSocketHandler({ registry, connections, clock: systemClock, log });
 */
export function makeLiveSocketHandler(deps: LiveSocketDeps) {
  const { registry, connections, clock, log } = deps;
  return async (event: LiveSocketEvent): Promise<APIGatewayProxyResultV2> => {
    const { routeKey, connectionId } = event.requestContext;
    if (routeKey === '$connect') {
      const streamId = event.requestContext.authorizer?.streamId;
      if (!streamId) return { statusCode: 401 };
      const stream = await registry.get(streamId);
      if (!stream) return { statusCode: 404, body: `No stream '${streamId}'.` };
      const { stream: _s, ticket: _t, ...params } = event.queryStringParameters ?? {};
      let filter;
      try {
        filter = parseLiveFilter(stream, params);
      } catch (err) {
        if (err instanceof BadRequestError) return { statusCode: 400, body: err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
        throw err;
      }
      const now = clock.now();
      await connections.put({ connectionId, streamId, filter, connectedAt: now, expiresAt: now + MAX_CONNECTION_MS });
      log.info('live connected', { streamId, connectionId });
      const offered = event.headers?.['Sec-WebSocket-Protocol'] ?? event.headers?.['sec-websocket-protocol'];
      const subprotocol = offered?.split(',').map((p) => p.trim()).includes(LIVE_SUBPROTOCOL);
      return { statusCode: 200, ...(subprotocol && { headers: { 'Sec-WebSocket-Protocol': LIVE_SUBPROTOCOL } }) };
    }
    if (routeKey === '$disconnect') {
      await connections.remove(connectionId);
      return { statusCode: 200 };
    }
    if (typeof event.body === 'string' && /^\s*\{\s*"type"\s*:\s*"ping"/.test(event.body)) {
      return { statusCode: 200, body: JSON.stringify({ type: 'pong', at: new Date(clock.now()).toISOString() }) };
    }
    return { statusCode: 200 };
  };
}
