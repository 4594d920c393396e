/**
 * Contract v1's routes, in one place: the CDK app creates exactly these, the local gateway dispatches
 * exactly these, and the authorizer derives the scope each needs from them.
 */
export type FunctionName = 'streams' | 'ingest' | 'query' | 'alerts' | 'pull';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  fn: FunctionName;
  /**
   * Which scope allows it: `admin` only, or the stream's `ingest:`/`read:` scope (admin always may);
   * `read-any`|`ingest-any`: any `read:`|`ingest:` scope, for a route without `{id}` whose handler checks
   * each stream it names; `public`: no token at the gateway (the OpenAPI document: it describes the API,
   * never a stream or a record; the webhook URLs, whose handler authenticates each request itself).
   */
  scope: 'admin' | 'ingest' | 'read' | 'read-any' | 'ingest-any' | 'public';
  /** InfluxDB's credentials as well as a bearer token: `Authorization: Token|Basic`, or `u`/`p` parameters. */
  influxAuth?: true;
}

export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/v1/streams', fn: 'streams', scope: 'admin' },
  { method: 'GET', path: '/v1/streams', fn: 'streams', scope: 'admin' },
  { method: 'DELETE', path: '/v1/streams', fn: 'streams', scope: 'admin' },
  { method: 'POST', path: '/v1/streams/ensure', fn: 'streams', scope: 'admin' },
  { method: 'POST', path: '/v1/streams/backprocess', fn: 'streams', scope: 'admin' },
  // the document's downsample_streams: closes the stored rollups' bins up to `until` on the streams its tags match
  { method: 'POST', path: '/v1/streams/downsample', fn: 'query', scope: 'admin' },
  { method: 'GET', path: '/v1/streams/{id}', fn: 'streams', scope: 'read' },
  { method: 'PATCH', path: '/v1/streams/{id}', fn: 'streams', scope: 'admin' },
  { method: 'DELETE', path: '/v1/streams/{id}', fn: 'streams', scope: 'admin' },
  { method: 'POST', path: '/v1/streams/{id}/pause', fn: 'streams', scope: 'admin' },
  { method: 'POST', path: '/v1/streams/{id}/resume', fn: 'streams', scope: 'admin' },
  { method: 'GET', path: '/v1/streams/{id}/status', fn: 'streams', scope: 'read' },
  { method: 'GET', path: '/v1/streams/{id}/schema.proto', fn: 'streams', scope: 'read' },
  { method: 'POST', path: '/v1/streams/{id}/tokens', fn: 'streams', scope: 'admin' },
  { method: 'PUT', path: '/v1/streams/{id}/processor', fn: 'streams', scope: 'admin' },
  { method: 'GET', path: '/v1/streams/{id}/tags', fn: 'streams', scope: 'read' },
  // live subscriptions: locally a WebSocket upgrade or Server-Sent Events; in AWS a 426 naming the WebSocket API
  { method: 'GET', path: '/v1/streams/{id}/live', fn: 'streams', scope: 'read' },
  { method: 'POST', path: '/v1/streams/{id}/live-ticket', fn: 'streams', scope: 'read' },
  { method: 'PATCH', path: '/v1/streams/{id}/tags', fn: 'streams', scope: 'admin' },
  { method: 'DELETE', path: '/v1/streams/{id}/tags', fn: 'streams', scope: 'admin' },
  { method: 'POST', path: '/v1/streams/{id}/data', fn: 'ingest', scope: 'ingest' },
  // a file larger than a request may carry: its intent (answering a presigned PUT URL), then its completion
  { method: 'POST', path: '/v1/streams/{id}/uploads', fn: 'ingest', scope: 'ingest' },
  { method: 'POST', path: '/v1/streams/{id}/uploads/{uploadId}', fn: 'ingest', scope: 'ingest' },
  // the document's append_multiple: the handler checks the ingest scope of each stream the body names
  { method: 'POST', path: '/v1/streams/data', fn: 'ingest', scope: 'ingest-any' },
  // a webhook sender's URLs: signed requests carry no token, so the gateway lets them through and the
  // ingest function checks the signature (or an ingest token) itself, over the raw body
  { method: 'POST', path: '/v1/streams/{id}/webhook', fn: 'ingest', scope: 'public' },
  { method: 'POST', path: '/v1/streams/{id}/webhook/batch', fn: 'ingest', scope: 'public' },
  { method: 'GET', path: '/v1/streams/{id}/data', fn: 'query', scope: 'read' },
  { method: 'GET', path: '/v1/streams/{id}/latest', fn: 'query', scope: 'read' },
  // the whole range as a file: inline up to 4 MiB, else a 303 to a presigned URL of the export store
  { method: 'GET', path: '/v1/streams/{id}/export', fn: 'query', scope: 'read' },
  { method: 'POST', path: '/v1/streams/{id}/analyze', fn: 'query', scope: 'read' },
  { method: 'GET', path: '/v1/streams/{id}/events', fn: 'query', scope: 'read' },
  { method: 'GET', path: '/v1/streams/{id}/receipts', fn: 'query', scope: 'read' },
  { method: 'GET', path: '/v1/streams/{id}/verify', fn: 'query', scope: 'read' },
  { method: 'POST', path: '/v1/streams/{id}/pull', fn: 'pull', scope: 'admin' },
  { method: 'GET', path: '/v1/streams/{id}/alerts', fn: 'alerts', scope: 'read' },
  { method: 'POST', path: '/v1/streams/{id}/alert-secret', fn: 'alerts', scope: 'admin' },
  { method: 'GET', path: '/v1/alerts', fn: 'alerts', scope: 'admin' },
  // `{id}` is an alert id here: admin only, since the authorizer reads `{id}` as a stream id for stream scopes
  { method: 'POST', path: '/v1/alerts/{id}/ack', fn: 'alerts', scope: 'admin' },
  { method: 'GET', path: '/v1/openapi.json', fn: 'streams', scope: 'public' },
];

export const routeKey = (r: Pick<Route, 'method' | 'path'>) => `${r.method} ${r.path}`;

/**
 * The documents' paths: each route also answers without its `/v1` prefix (`POST /streams`,
 * `/streams/{id}/data`), so an example pasted from them only needs its host changed.
 */
export const UNVERSIONED_ROUTES: readonly Route[] = ROUTES.map((r) => ({ ...r, path: r.path.replace(/^\/v1(?=\/)/, '') }));

/**
 * InfluxDB's endpoints at their own paths: 1.x's query endpoint, for Grafana's InfluxDB data source
 * (InfluxQL), and the 1.x and 2.x write endpoints, for Telegraf and InfluxDB clients. None names a stream:
 * the handlers check the `read:` or `ingest:` scope of each measurement a statement or a line names.
 */
export const INFLUX_ROUTES: readonly Route[] = [
  { method: 'GET', path: '/query', fn: 'query', scope: 'read-any', influxAuth: true },
  { method: 'POST', path: '/query', fn: 'query', scope: 'read-any', influxAuth: true },
  { method: 'POST', path: '/write', fn: 'ingest', scope: 'ingest-any', influxAuth: true },
  { method: 'POST', path: '/api/v2/write', fn: 'ingest', scope: 'ingest-any', influxAuth: true },
];

/** Every route the API serves, contract v1's, their unversioned twins and InfluxDB's: what the CDK app creates. */
export const ALL_ROUTES: readonly Route[] = [...ROUTES, ...UNVERSIONED_ROUTES, ...INFLUX_ROUTES];

// an unversioned key finds its /v1 route: handlers and the authorizer see only contract v1's
const BY_KEY = new Map([
  ...ROUTES.map((r) => [routeKey(r), r] as const),
  ...UNVERSIONED_ROUTES.map((r, i) => [routeKey(r), ROUTES[i]!] as const),
  ...INFLUX_ROUTES.map((r) => [routeKey(r), r] as const),
]);

/** The contract v1 route of a route key, its own or its unversioned twin's. */
export function findRoute(key: string): Route | undefined {
  return BY_KEY.get(key);
}

/**
 * Matches a concrete method and path to a route (an unversioned twin for a path without `/v1`), its `{id}` and
 * its other path parameters (`{uploadId}`), decoded.
 */
export function matchRoute(method: string, path: string): { route: Route; id?: string; params?: Record<string, string> } | { pathKnown: boolean } {
  const parts = path.split('/');
  let pathKnown = false;
  for (const route of ALL_ROUTES) {
    const tpl = route.path.split('/');
    if (tpl.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < tpl.length; i++) {
      const name = /^\{(\w+)\}$/.exec(tpl[i]!)?.[1];
      if (name !== undefined) {
        try {
          params[name] = decodeURIComponent(parts[i]!);
        } catch {
          ok = false;
        }
        if (!params[name]) ok = false;
      } else if (tpl[i] !== parts[i]) ok = false;
      if (!ok) break;
    }
    if (!ok) continue;
    pathKnown = true;
    if (route.method === method) {
      const { id, ...others } = params;
      return { route, ...(id !== undefined && { id }), ...(Object.keys(others).length > 0 && { params: others }) };
    }
  }
  return { pathKnown };
}
