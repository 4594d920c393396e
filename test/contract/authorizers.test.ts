import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHttpAuthorizer } from '../../functions/authorizer/app';
import { makeIotAuthorizer } from '../../functions/iot-authorizer/app';
import { DynamoDbDeviceClaims } from '../../shared/aws/dynamodb-device-claims';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { hashPassword } from '../../shared/passwords';
import { aStream } from './stream-registry.contract';
import { ensureTable, startDynalite } from '../../shared/local/dynalite-server';
import { hashToken, newToken } from '../../shared/tokens';

/** The authorizers on the real token store (DynamoDB's API on dynalite). */
describe('authorizers', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let registry: DynamoDbRegistry;
  let devices: DynamoDbDeviceClaims;
  const ingestT = newToken();
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
    // the document's Temperature Monitoring device: its own username, password and topic
    devices = new DynamoDbDeviceClaims({ client: dynamo.client, tableName: 'auth', registry });
    const credentials = { username: 'sensor_user', passwordHash: await hashPassword('sensor_pass') };
    await devices.claim('temp', { username: 'sensor_user', topic: 'sensors/temperature/facility-a' });
    await registry.create(aStream('temp', { device: { protocol: 'mqtt', deviceId: 'TEMP-SENSOR-001', topic: 'sensors/temperature/facility-a', credentials } }));
    await registry.put({ hash: hashToken(ingestT), scopes: ['ingest:temp'], streamId: 'temp', createdAt });
    // a claim its stream no longer names (a patch that crashed before releasing it) grants nothing
    await devices.claim('moved', { username: 'old_user' });
    await registry.create(aStream('moved', { device: { protocol: 'mqtt', credentials: { username: 'new_user', passwordHash: await hashPassword('moved_pass') } } }));
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
    const login = (username: string, password: string, clientId = username.split('?')[0], partition?: string) =>
      makeIotAuthorizer({ tokens: registry, registry, devices, region: 'eu-west-1', accountId: '123456789012', ...(partition && { partition }) })({
        protocols: ['mqtt'],
        protocolData: { mqtt: { username, clientId, password: Buffer.from(password).toString('base64') } },
      });
    type Granted = { isAuthenticated: boolean; policyDocuments: string[] };
    const statements = (r: unknown) => JSON.parse((r as Granted).policyDocuments[0]!).Statement as { Action: string; Resource: string | string[] }[];
    const resourcesOf = (r: unknown, action: string) => statements(r).filter((s) => s.Action === action).map((s) => s.Resource);

    it("grants a device connect as itself and publish only to its stream's data topic", async () => {
      const r = (await login('f1?x-amz-customauthorizer-name=tributary', ingestA)) as { isAuthenticated: boolean; policyDocuments: string[] };
      expect(r.isAuthenticated).toBe(true);
      expect(statements(r)).toContainEqual({ Effect: 'Allow', Action: 'iot:Connect', Resource: 'arn:aws:iot:eu-west-1:123456789012:client/f1' });
      expect(resourcesOf(r, 'iot:Publish')).toEqual([['arn:aws:iot:eu-west-1:123456789012:topic/tributary/a/data']]);
    });
    it("grants a device logging in with its stream's own credentials connect as its deviceId and publish to both of its stream's topics", async () => {
      const r = await login('sensor_user?x-amz-customauthorizer-name=tributary', 'sensor_pass', 'TEMP-SENSOR-001');
      expect(r.isAuthenticated).toBe(true);
      expect(resourcesOf(r, 'iot:Connect')).toEqual(['arn:aws:iot:eu-west-1:123456789012:client/TEMP-SENSOR-001']);
      expect(resourcesOf(r, 'iot:Publish')).toEqual([
        ['arn:aws:iot:eu-west-1:123456789012:topic/tributary/temp/data', 'arn:aws:iot:eu-west-1:123456789012:topic/sensors/temperature/facility-a'],
      ]);
    });
    it("grants a token login of a stream with its own topic that topic too, in the function's partition", async () => {
      const r = await login('TEMP-SENSOR-002', ingestT, 'TEMP-SENSOR-002', 'aws-cn');
      expect(resourcesOf(r, 'iot:Publish')).toEqual([
        ['arn:aws-cn:iot:eu-west-1:123456789012:topic/tributary/temp/data', 'arn:aws-cn:iot:eu-west-1:123456789012:topic/sensors/temperature/facility-a'],
      ]);
    });
    it("refuses the stream's credentials with a wrong password, an unknown username, another client id, or a username the stream no longer names", async () => {
      expect((await login('sensor_user', 'sensor_pass_', 'TEMP-SENSOR-001')).isAuthenticated).toBe(false);
      expect((await login('nobody', 'sensor_pass', 'nobody')).isAuthenticated).toBe(false);
      expect((await login('sensor_user', 'sensor_pass', 'sensor_user')).isAuthenticated).toBe(false);
      expect((await login('old_user', 'moved_pass', 'old_user')).isAuthenticated).toBe(false);
      expect((await login('new_user', 'moved_pass', 'new_user')).isAuthenticated).toBe(false); // never claimed: the directory does not know it
    });
    it('refuses a wrong password, a read token, and a client id other than the device id', async () => {
      expect((await login('f1', 'trb_wrong')).isAuthenticated).toBe(false);
      expect((await login('f1', readA)).isAuthenticated).toBe(false);
      expect((await login('f1', ingestA, 'someone-else')).isAuthenticated).toBe(false);
    });
  });
});
