import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ForbiddenError, UnauthenticatedError } from '../../shared/domain/errors';
import type { Scope } from '../../shared/ports';
import type { Route } from './routes';

/** The scope a route needs on a stream (`read-any`/`ingest-any` routes name none: their handler checks each stream). */
export function requiredScope(route: Pick<Route, 'scope'>, streamId: string | undefined): Scope {
  if (route.scope === 'admin' || route.scope === 'read-any' || route.scope === 'ingest-any' || route.scope === 'public' || streamId === undefined) return 'admin';
  return `${route.scope}:${streamId}`;
}

export function allows(scopes: readonly string[], needed: Scope): boolean {
  return scopes.includes('admin') || scopes.includes(needed);
}

/** Whether a token may call a route: its stream's scope, or for `read-any`/`ingest-any` any `read:`/`ingest:` scope (or admin). */
export function allowsRoute(scopes: readonly string[], route: Pick<Route, 'scope'>, streamId: string | undefined): boolean {
  if (route.scope === 'public') return true;
  if (route.scope === 'read-any') return scopes.includes('admin') || scopes.some((s) => s.startsWith('read:'));
  if (route.scope === 'ingest-any') return scopes.includes('admin') || scopes.some((s) => s.startsWith('ingest:'));
  return allows(scopes, requiredScope(route, streamId));
}

/** What the authorizer passes to the handlers (`requestContext.authorizer.lambda`). */
export interface AuthContext {
  /** Comma-separated scopes of the caller's token. */
  scopes: string;
  principal: string;
}

/** Reads the authorizer's context from an event. */
export function callerScopes(event: APIGatewayProxyEventV2): string[] | undefined {
  const ctx = (event.requestContext as { authorizer?: { lambda?: Partial<AuthContext> } }).authorizer?.lambda;
  return typeof ctx?.scopes === 'string' ? ctx.scopes.split(',').filter(Boolean) : undefined;
}

/**
 * The handler's own check, after the authorizer's: the gateway may cache an authorizer answer, so the
 * handler checks the scope against the stream this request names.
 */
export function requireScope(event: APIGatewayProxyEventV2, needed: Scope): void {
  const scopes = callerScopes(event);
  if (!scopes) throw new UnauthenticatedError();
  if (!allows(scopes, needed)) throw new ForbiddenError(needed);
}

/**
 * The token of an InfluxDB client: `Authorization: Bearer|Token <token>`, HTTP basic auth whose password
 * is the token (Grafana's user/password), or the `p` query parameter (InfluxDB 1.x's `u`/`p`).
 *
 * @example
 * influxToken('Basic Z3JhZmFuYTp0cmJfeHl6', {}); // 'trb_xyz'
 */
export function influxToken(header: string | undefined, query: Record<string, string | undefined> | undefined): string | undefined {
  if (header) {
    const token = /^(?:Bearer|Token)\s+(\S+)\s*$/i.exec(header)?.[1];
    if (token) return token;
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)?.[1];
    if (basic) {
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
    }
    return undefined;
  }
  return query?.p || undefined;
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
