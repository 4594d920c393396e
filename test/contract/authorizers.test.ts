import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHttpAuthorizer } from '../../functions/authorizer/app';
import { makeIotAuthorizer } from '../../functions/iot-authorizer/app';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { ensureTable, startDynalite } from '../../shared/local/dynalite-server';
import { hashToken, newToken } from '../../shared/tokens';

/** The authorizers on the real token store (DynamoDB's API on dynalite). */
describe('authorizers', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let registry: DynamoDbRegistry;
  const admin = newToken();
  const ingestA = newToken();
  const readA = newToken();

  beforeAll(async () => {
    dynamo = await startDynalite({});
    await ensureTable(dynamo.client, 'auth');
    registry = new DynamoDbRegistry({ client: dynamo.client, tableName: 'auth' });
    const createdAt = '2026-01-01T00:00:00.000Z';
    await registry.put({ hash: hashToken(ingestA), scopes: ['ingest:a'], streamId: 'a', createdAt });
    await registry.put({ hash: hashToken(readA), scopes: ['read:a'], streamId: 'a', createdAt });
  });
  afterAll(() => dynamo?.close());

  const event = (token: string | undefined, routeKey: string, id?: string) =>
    ({
      type: 'REQUEST',
      routeKey,
      rawPath: id ? `/v1/streams/${id}/data` : '/v1/streams',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(id && { pathParameters: { id } }),
    }) as unknown as APIGatewayRequestAuthorizerEventV2;

  describe('HTTP API authorizer', () => {
    const authorize = (...args: Parameters<typeof event>) => makeHttpAuthorizer({ tokens: registry, adminTokenHash: hashToken(admin) })(event(...args));

    it("allows a stream's ingest token on its own stream and passes its scopes to the handler", async () => {
      expect(await authorize(ingestA, 'POST /v1/streams/{id}/data', 'a')).toEqual({ isAuthorized: true, context: { scopes: 'ingest:a', principal: expect.stringMatching(/^token:/) } });
    });
    it('denies the same token on another stream, so an answer cached for one stream cannot open another', async () => {
      expect((await authorize(ingestA, 'POST /v1/streams/{id}/data', 'b')).isAuthorized).toBe(false);
    });
    it('denies an ingest token reading, and a read token ingesting', async () => {
      expect((await authorize(ingestA, 'GET /v1/streams/{id}/data', 'a')).isAuthorized).toBe(false);
      expect((await authorize(readA, 'POST /v1/streams/{id}/data', 'a')).isAuthorized).toBe(false);
      expect((await authorize(readA, 'GET /v1/streams/{id}/data', 'a')).isAuthorized).toBe(true);
    });
    it('allows the admin token everywhere and nothing else on admin routes', async () => {
      expect((await authorize(admin, 'POST /v1/streams')).isAuthorized).toBe(true);
      expect((await authorize(admin, 'POST /v1/streams/{id}/data', 'b')).isAuthorized).toBe(true);
      expect((await authorize(ingestA, 'POST /v1/streams')).isAuthorized).toBe(false);
    });
    it('denies unknown and missing tokens', async () => {
      expect((await authorize(newToken(), 'POST /v1/streams/{id}/data', 'a')).isAuthorized).toBe(false);
      expect((await authorize(undefined, 'POST /v1/streams/{id}/data', 'a')).isAuthorized).toBe(false);
    });
  });

  describe('IoT Core custom authorizer', () => {
    const login = (username: string, password: string, clientId = username.split('?')[0]) =>
      makeIotAuthorizer({ tokens: registry, region: 'eu-west-1', accountId: '123456789012', partition: 'aws' })({ protocols: ['mqtt'], protocolData: { mqtt: { username, clientId, password: Buffer.from(password).toString('base64') } } });

    it("grants a device connect as itself and publish only to its stream's data topic", async () => {
      const r = (await login('f1?x-amz-customauthorizer-name=tributary', ingestA)) as { isAuthenticated: boolean; policyDocuments: string[] };
      expect(r.isAuthenticated).toBe(true);
      const statements = JSON.parse(r.policyDocuments[0]!).Statement as { Action: string; Resource: string }[];
      expect(statements).toContainEqual({ Effect: 'Allow', Action: 'iot:Connect', Resource: 'arn:aws:iot:eu-west-1:123456789012:client/f1' });
      expect(statements.filter((s) => s.Action === 'iot:Publish').map((s) => s.Resource)).toEqual(['arn:aws:iot:eu-west-1:123456789012:topic/tributary/a/data']);
    });
    it('refuses a wrong password, a read token, and a client id other than the device id', async () => {
      expect((await login('f1', 'trb_wrong')).isAuthenticated).toBe(false);
      expect((await login('f1', readA)).isAuthenticated).toBe(false);
      expect((await login('f1', ingestA, 'someone-else')).isAuthenticated).toBe(false);
    });
  });
});
