import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { makeDecide } from '../../functions/authorizer/app';
import { DOCUMENTED_ROUTES, OPENAPI_PATH, openApiDocument, undocumented } from '../../functions/commons/openapi';
import { ALL_ROUTES, INFLUX_ROUTES, ROUTES, UNVERSIONED_ROUTES, routeKey } from '../../functions/commons/routes';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const doc = openApiDocument() as any;

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('lists exactly the routes of the route table: contract v1’s and InfluxDB’s /query', () => {
    const listed = Object.entries(doc.paths).flatMap(([path, item]: [string, any]) => Object.keys(item).filter((k) => METHODS.includes(k)).map((m) => `${m.toUpperCase()} ${path}`));
    expect(listed.sort()).toEqual([...ROUTES, ...INFLUX_ROUTES].map(routeKey).sort());
    expect(undocumented()).toEqual({ routes: [], operations: [] });
    // the rest of what the API serves are the unversioned twins, one per contract v1 route
    expect(ALL_ROUTES.length).toBe(DOCUMENTED_ROUTES.length + UNVERSIONED_ROUTES.length);
    expect(UNVERSIONED_ROUTES.map(routeKey)).toEqual(ROUTES.map((r) => routeKey(r).replace(' /v1/', ' /')));
  });

  it('gives every operation a unique id, problem+json errors and the bearer scheme unless public', () => {
    const ids = new Set<string>();
    for (const route of DOCUMENTED_ROUTES) {
      const op = doc.paths[route.path][route.method.toLowerCase()];
      expect(ids.has(op.operationId), op.operationId).toBe(false);
      ids.add(op.operationId);
      if (route.scope === 'public') {
        // the webhook URLs pass the gateway without a token: the function checks a signature or a token
        expect(op.security).toEqual(route.path.includes('/webhook') ? [{ standardWebhooks: [] }, { xSignature: [] }, { bearer: [] }] : []);
        continue;
      }
      expect(op.responses['401'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
      expect(op.responses['403'], routeKey(route)).toBeDefined();
      if (route.path.includes('{id}')) expect(op.parameters.find((p: any) => p.in === 'path' && p.name === 'id')?.required, routeKey(route)).toBe(true);
      if (route.influxAuth) expect(op.security).toEqual([{ bearer: [] }, { basic: [] }, { influxPassword: [] }]);
      else expect(op.security ?? doc.security).toEqual([{ bearer: [] }]);
    }
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('describes ingest with the Idempotency-Key header, the record limit and its 202', () => {
    const op = doc.paths['/v1/streams/{id}/data'].post;
    expect(op.parameters.find((p: any) => p.in === 'header')?.name).toBe('Idempotency-Key');
    expect(doc.components.schemas.IngestBody.anyOf[1]).toMatchObject({ type: 'array', maxItems: 10_000 });
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['202', '400', '409', '413', '415', '422', '429']));
  });

  it('describes an event stream’s headers on its data and webhook URLs', () => {
    const headers = (path: string) => doc.paths[path].post.parameters.filter((p: any) => p.in === 'header').map((p: any) => p.name);
    const event = ['x-flowcore-metadata-json', 'x-tributary-metadata', 'x-flowcore-event-time', 'x-flowcore-valid-time', 'x-flowcore-event-time-key', 'x-flowcore-valid-time-key', 'x-tributary-event-type'];
    expect(headers('/v1/streams/{id}/data')).toEqual(['Idempotency-Key', ...event]);
    expect(headers('/v1/streams/{id}/webhook')).toEqual(event);
    expect(headers('/v1/streams/{id}/webhook/batch')).toEqual(event);
  });
});

describe('GET /v1/openapi.json', () => {
  it('needs no token, while every other route does', async () => {
    const decide = makeDecide({ tokens: { find: async () => undefined } as never, adminTokenHash: 'x'.repeat(64) });
    expect(await decide(undefined, `GET ${OPENAPI_PATH}`, undefined)).toMatchObject({ ok: true });
    expect(await decide(undefined, 'GET /openapi.json', undefined)).toMatchObject({ ok: true });
    for (const route of ALL_ROUTES.filter((r) => r.scope !== 'public')) {
      expect(await decide(undefined, routeKey(route), 's'), routeKey(route)).toMatchObject({ ok: false, status: 401 });
    }
  });
});
