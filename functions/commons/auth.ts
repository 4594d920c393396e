import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ForbiddenError, UnauthenticatedError } from '../../shared/domain/errors';
import type { Scope } from '../../shared/ports';
import type { Route } from './routes';

/** The scope a route needs on a stream. */
export function requiredScope(route: Pick<Route, 'scope'>, streamId: string | undefined): Scope {
  if (route.scope === 'admin' || streamId === undefined) return 'admin';
  return `${route.scope}:${streamId}`;
}

export function allows(scopes: readonly string[], needed: Scope): boolean {
  return scopes.includes('admin') || scopes.includes(needed);
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

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
