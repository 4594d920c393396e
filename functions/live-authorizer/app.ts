import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { subprotocolToken } from '../../shared/domain/live-messages';
import type { Clock, LiveTicketStore } from '../../shared/ports';
import { hashToken } from '../../shared/tokens';
import type { Decision } from '../authorizer/app';
import { LIVE_ROUTE_KEY } from '../commons/live-route';

export interface LiveAuthorizerDeps {
  decide: (authorization: string | undefined, routeKey: string, streamId: string | undefined) => Promise<Decision>;
  tickets: LiveTicketStore;
  clock: Clock;
}

/** What `$connect` and the other routes see of the authorizer (`requestContext.authorizer`). */
export interface LiveAuthContext {
  streamId: string;
  principal: string;
  [key: string]: string;
}

/**
 * The WebSocket API's `$connect` authorizer (REQUEST type): the stream is `?stream=`, the read token a ticket
 * (`?ticket=`, redeemed once), `Authorization: Bearer` or the subprotocol `bearer.<token>`. An unknown token or
 * ticket is thrown as `Unauthorized` (API Gateway answers 401), a token without the stream's read scope gets
 * a Deny (403). Nothing of the token is logged or returned.
 *
 * @example
 * export const handler = makeLiveAuthorizer({ decide, tickets, clock: systemClock });
 */
export function makeLiveAuthorizer(deps: LiveAuthorizerDeps) {
  return async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult & { context?: LiveAuthContext }> => {
    const query = event.queryStringParameters ?? {};
    const streamId = query.stream;
    if (!streamId) throw new Error('Unauthorized');
    const policy = (effect: 'Allow' | 'Deny', principal: string) => ({
      principalId: principal || 'anonymous',
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: event.methodArn }] },
      ...(effect === 'Allow' && { context: { streamId, principal } }),
    });
    if (query.ticket) {
      const found = await deps.tickets.redeem(hashToken(query.ticket), deps.clock.now());
      if (!found || found.streamId !== streamId) throw new Error('Unauthorized');
      return policy('Allow', found.principal);
    }
    const headers = event.headers ?? {};
    const header = headers.Authorization ?? headers.authorization;
    const offered = subprotocolToken(headers['Sec-WebSocket-Protocol'] ?? headers['sec-websocket-protocol']);
    const authorization = header ?? (offered !== undefined ? `Bearer ${offered}` : undefined);
    const decision = await deps.decide(authorization, LIVE_ROUTE_KEY, streamId);
    if (!decision.ok) {
      if (decision.status === 401) throw new Error('Unauthorized');
      return policy('Deny', '');
    }
    return policy('Allow', decision.context.principal);
  };
}
