import middy from '@middy/core';
import { currentFailures } from '../../shared/domain/alert-evaluation';
import { BadRequestError, StreamNotFoundError } from '../../shared/domain/errors';
import type { AlertStore, Clock, SigningSecretStore, StreamRegistry } from '../../shared/ports';
import { newSigningSecret } from '../alert-actions/signing';
import { requireScope, requiredScope } from '../commons/auth';
import { pathId, problemErrors, type HttpEvent, type HttpResult, type Logger } from '../commons/http';
import { jsonResponse } from '../commons/problem';
import { findRoute } from '../commons/routes';

export interface AlertsDeps {
  registry: StreamRegistry;
  alerts: AlertStore;
  /** Where the webhook signing secrets live, for `POST /v1/streams/{id}/alert-secret`. */
  secrets: SigningSecretStore;
  clock: Clock;
  log: Logger;
  /** How long a replaced signing secret still signs beside the new one (ms); 24 hours unless given. */
  secretOverlapMs?: number;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000;

/**
 * The alerts API: `GET /v1/streams/{id}/alerts` (read scope; `failedRules` lists the stream's rules that
 * failed, with the reason), `GET /v1/alerts?state=firing|resolved` (admin)
 * `POST /v1/alerts/{id}/ack` (admin; the id is an alert's, so the route stays admin-only: the
 * authorizer reads `{id}` as a stream id for stream scopes) and `POST /v1/streams/{id}/alert-secret`
 * (admin: a new webhook signing secret, returned once; the replaced one
 * still signs beside it for `secretOverlapMs`, so a receiver can switch without dropping a delivery). Lists page with `limit` and `cursor`.
 *
 * @example
 * export const handler = makeAlertsHandler({ registry, alerts, secrets: alerts, clock: systemClock, log: jsonLogger });
 */
export function makeAlertsHandler(deps: AlertsDeps) {
  const { registry, alerts, clock } = deps;

  async function app(event: HttpEvent): Promise<HttpResult> {
    const route = findRoute(event.routeKey);
    if (!route || route.fn !== 'alerts') throw new BadRequestError(`No route ${event.routeKey}.`);
    const id = route.path.includes('{id}') ? pathId(event, route.path.startsWith('/v1/alerts/') ? 'alert' : 'stream') : undefined;
    requireScope(event, requiredScope(route, id));
    const params = event.queryStringParameters ?? {};
    switch (route.path) {
      case '/v1/streams/{id}/alerts': {
        const stream = await registry.get(id!);
        if (!stream) throw new StreamNotFoundError(id!);
        const [page, failures] = await Promise.all([alerts.listByStream(id!, pageOf(params)), stream.alerts?.length ? alerts.listRuleFailures(id!) : []]);
        const failedRules = currentFailures(stream, failures);
        return jsonResponse(200, { ...page, ...(failedRules.length > 0 && { failedRules }) });
      }
      case '/v1/alerts': {
        const state = params.state ?? 'firing';
        if (state !== 'firing' && state !== 'resolved') throw new BadRequestError('Invalid query parameters.', [{ path: ['state'], message: 'must be firing or resolved' }]);
        return jsonResponse(200, await alerts.listByState(state, pageOf(params)));
      }
      case '/v1/alerts/{id}/ack':
        return jsonResponse(200, await alerts.acknowledge(id!, clock.now()));
      case '/v1/streams/{id}/alert-secret': {
        if (!(await registry.get(id!))) throw new StreamNotFoundError(id!);
        const alertSigningSecret = newSigningSecret();
        const previousUntil = clock.now() + (deps.secretOverlapMs ?? SECRET_OVERLAP_MS);
        await deps.secrets.replaceSigningSecret(id!, alertSigningSecret, previousUntil);
        deps.log.info('alert signing secret replaced', { streamId: id });
        return jsonResponse(200, { streamId: id, alertSigningSecret, previousSecretSignsUntil: new Date(previousUntil).toISOString() });
      }
    }
    throw new BadRequestError(`No route ${event.routeKey}.`);
  }

  return middy<HttpEvent, HttpResult>().use(problemErrors(deps.log)).handler(app);
}

function pageOf(params: Record<string, string | undefined>): { limit: number; cursor?: string } {
  const limit = params.limit === undefined ? DEFAULT_LIMIT : Number(params.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new BadRequestError('Invalid query parameters.', [{ path: ['limit'], message: `must be an integer from 1 to ${MAX_LIMIT}` }]);
  }
  return { limit, ...(params.cursor && { cursor: params.cursor }) };
}
