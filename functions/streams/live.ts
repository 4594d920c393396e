import { randomBytes } from 'node:crypto';
import type { Clock, LiveTicketStore } from '../../shared/ports';
import { hashToken } from '../../shared/tokens';
import { type HttpEvent, type HttpResult } from '../commons/http';
import { jsonResponse, problemResponse } from '../commons/problem';

/** How long a ticket opens a subscription: long enough to open a socket, too short to be worth stealing. */
export const TICKET_TTL_MS = 60_000;
/** Every ticket starts with it, so the log redaction and secret scanners know one. */
export const TICKET_PREFIX = 'tkt_';

/**
 * A new single-use ticket: `tkt_` and 32 random bytes in base64url.
 *
 * @example
 * newTicket(); // 'tkt_…' (47 characters)
 */
export function newTicket(): string {
  return TICKET_PREFIX + randomBytes(32).toString('base64url');
}

export interface LiveRoutesDeps {
  tickets?: LiveTicketStore;
  clock: Clock;
  /** Where the WebSocket API is in AWS (`wss://…/live`); the HTTP API's `GET …/live` names it in its 426. */
  websocketUrl?: string;
}

/**
 * The streams function's live routes: `POST …/live-ticket` keeps a ticket's hash for 60 s and answers the
 * ticket once; `GET …/live` reached as plain HTTP (API Gateway's HTTP API cannot upgrade) answers 426 with
 * where the WebSocket API is. The local runtime serves `GET …/live` itself, upgrading or streaming events.
 *
 * @example
 * const live = makeLiveRoutes({ tickets, clock });
 * await live.ticket(event, 'freezers'); // 201 { ticket, expiresAt, streamId }
 */
export function makeLiveRoutes(deps: LiveRoutesDeps) {
  return {
    async ticket(event: HttpEvent, streamId: string): Promise<HttpResult> {
      if (!deps.tickets) return unavailable('Live tickets are not configured in this deployment.');
      const ticket = newTicket();
      const expiresAt = deps.clock.now() + TICKET_TTL_MS;
      const principal = (event.requestContext as { authorizer?: { lambda?: { principal?: unknown } } }).authorizer?.lambda?.principal;
      await deps.tickets.issue({ hash: hashToken(ticket), streamId, principal: typeof principal === 'string' ? principal : '', expiresAt });
      return { ...jsonResponse(201, { streamId, ticket, expiresAt: new Date(expiresAt).toISOString() }), headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } };
    },
    live(streamId: string): HttpResult {
      const where = deps.websocketUrl ? `${deps.websocketUrl}?stream=${encodeURIComponent(streamId)}` : undefined;
      return problemResponse(
        {
          type: 'about:blank',
          title: 'Upgrade required',
          status: 426,
          detail: where ? `Open the WebSocket ${where} (with &ticket=… or the subprotocols tributary.v1, bearer.<token>).` : 'Open a WebSocket on this path, or send Accept: text/event-stream.',
          code: 'UpgradeRequired',
        },
        { upgrade: 'websocket', ...(where && { link: `<${where}>; rel="alternate"` }) },
      );
    },
  };
}

function unavailable(detail: string): HttpResult {
  return problemResponse({ type: 'about:blank', title: 'Not available', status: 501, detail, code: 'NotImplemented' });
}
