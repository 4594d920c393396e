import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import type { TokenRecord, TokenStore } from '../../shared/ports';
import { hashToken, sameHash } from '../../shared/tokens';
import { allowsRoute, bearerToken, influxToken, requiredScope, type AuthContext } from '../commons/auth';
import { findRoute } from '../commons/routes';

export interface AuthorizerDeps {
  tokens: TokenStore;
  /**
   * SHA-256 of the admin token, or where to read it (cached by the reader): compared in constant time, and
   * read only for a token the store does not know, so an unreadable secret fails admin calls alone.
   */
  adminTokenHash?: string | (() => Promise<string>);
}

export type Decision =
  | { ok: true; context: AuthContext }
  | { ok: false; status: 401 | 403; reason: string };

/**
 * Decides whether a bearer token may call a route on a stream. The answer depends on the route's stream,
 * so a gateway that caches it must key the cache on the stream as well as the token.
 *
 * @example
 * const decide = makeDecide({ tokens, adminTokenHash });
 * await decide('Bearer trb_…', 'POST /v1/streams/{id}/data', 'freezers'); // { ok: true, … }
 */
export function makeDecide(deps: AuthorizerDeps) {
  async function lookup(token: string): Promise<Pick<TokenRecord, 'scopes'> & { principal: string } | undefined> {
    const hash = hashToken(token);
    const found = await deps.tokens.find(hash);
    if (found && sameHash(found.hash, hash)) return { scopes: found.scopes, principal: `token:${hash.slice(0, 12)}` };
    const admin = typeof deps.adminTokenHash === 'function' ? await deps.adminTokenHash() : deps.adminTokenHash;
    if (admin && sameHash(hash, admin)) return { scopes: ['admin'], principal: 'admin' };
    return undefined;
  }

  return async function decide(
    authorization: string | undefined,
    routeKey: string,
    streamId: string | undefined,
    query?: Record<string, string | undefined>,
  ): Promise<Decision> {
    const route = findRoute(routeKey);
    if (route?.scope === 'public') return { ok: true, context: { scopes: '', principal: 'anonymous' } };
    const token = route?.influxAuth ? influxToken(authorization, query) : bearerToken(authorization);
    if (!token) return { ok: false, status: 401, reason: 'Send the header Authorization: Bearer <token>.' };
    if (!route) return { ok: false, status: 403, reason: 'No such route.' };
    const caller = await lookup(token);
    if (!caller) return { ok: false, status: 401, reason: 'The token is not known.' };
    if (!allowsRoute(caller.scopes, route, streamId)) {
      const needed = route.scope === 'read-any' ? 'read:<stream>' : route.scope === 'ingest-any' ? 'ingest:<stream>' : requiredScope(route, streamId);
      return { ok: false, status: 403, reason: `The token lacks the scope '${needed}'.` };
    }
    return { ok: true, context: { scopes: caller.scopes.join(','), principal: caller.principal } };
  };
}

/**
 * API Gateway HTTP API Lambda authorizer (payload 2.0, simple responses).
 *
 * @example
 * export const handler = makeHttpAuthorizer({ tokens, adminTokenHash });
 */
export function makeHttpAuthorizer(deps: AuthorizerDeps) {
  const decide = makeDecide(deps);
  return async (event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthContext>> => {
    const authorization = event.headers?.authorization ?? event.headers?.Authorization;
    const decision = await decide(authorization, event.routeKey, event.pathParameters?.id, event.queryStringParameters);
    return decision.ok
      ? { isAuthorized: true, context: decision.context }
      : { isAuthorized: false, context: { scopes: '', principal: '' } };
  };
}
