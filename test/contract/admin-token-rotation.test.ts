import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHttpAuthorizer } from '../../functions/authorizer/app';
import { adminTokenHashSource } from '../../shared/aws/admin-token-secret';
import { StoreUnavailableError } from '../../shared/domain/errors';
import { hashToken, newToken } from '../../shared/tokens';
import { fakeSecretsManager } from '../fixtures/fake-secrets-manager';

const event = (token: string) =>
  ({ type: 'REQUEST', routeKey: 'GET /v1/streams', rawPath: '/v1/streams', headers: { authorization: `Bearer ${token}` } }) as unknown as APIGatewayRequestAuthorizerEventV2;

describe('admin token through Powertools Parameters', () => {
  const secrets = new Map<string, string>();
  const fake = fakeSecretsManager(secrets);
  let client: SecretsManagerClient;
  const noTokens = { put: async () => {}, find: async () => undefined, deleteForStream: async () => {} };

  beforeAll(async () => {
    await new Promise<void>((resolve) => (fake.server as Server).listen(0, '127.0.0.1', resolve));
    const { port } = fake.server.address() as AddressInfo;
    client = new SecretsManagerClient({ endpoint: `http://127.0.0.1:${port}`, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' }, maxAttempts: 1 });
  });
  afterAll(() => new Promise((resolve) => fake.server.close(resolve)));

  it('takes a rotated token within the cache time, with no cold start, and stops taking the old one', async () => {
    const before = newToken();
    const after = newToken();
    secrets.set('tributary/admin', before);
    const authorize = makeHttpAuthorizer({ tokens: noTokens, adminTokenHash: adminTokenHashSource({ client, secretId: 'tributary/admin', maxAgeSeconds: 1, hash: hashToken }) });
    expect((await authorize(event(before))).isAuthorized).toBe(true);
    secrets.set('tributary/admin', after);
    // within maxAge the value read before still holds
    expect((await authorize(event(before))).isAuthorized).toBe(true);
    expect((await authorize(event(after))).isAuthorized).toBe(false);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await authorize(event(after))).isAuthorized).toBe(true);
    expect((await authorize(event(before))).isAuthorized).toBe(false);
    // one read per cache period, not per request
    expect(fake.calls.filter((c) => c.endsWith('tributary/admin'))).toEqual(['secretsmanager.GetSecretValue tributary/admin', 'secretsmanager.GetSecretValue tributary/admin']);
  });

  it('reads the secret only for tokens the store does not know', async () => {
    const known = newToken();
    secrets.set('tributary/other', newToken());
    const tokens = { ...noTokens, find: async (hash: string) => (hash === hashToken(known) ? { hash, scopes: ['read:a' as const], streamId: 'a', createdAt: '2026-01-01T00:00:00.000Z' } : undefined) };
    const before = fake.calls.length;
    const authorize = makeHttpAuthorizer({ tokens, adminTokenHash: adminTokenHashSource({ client, secretId: 'tributary/other', maxAgeSeconds: 60, hash: hashToken }) });
    await authorize({ ...event(known), routeKey: 'GET /v1/streams/{id}/data', pathParameters: { id: 'a' } } as never);
    expect(fake.calls.length).toBe(before);
  });

  it('fails as the store being unavailable when the secret cannot be read, never with a stale value', async () => {
    const read = adminTokenHashSource({ client, secretId: 'tributary/missing', maxAgeSeconds: 1, hash: hashToken });
    await expect(read()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(read()).rejects.toThrow('The admin token secret could not be read.');
  });
});
