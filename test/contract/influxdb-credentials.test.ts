import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { influxCredentialsSource } from '../../shared/aws/influxdb-credentials-secret';
import { InfluxDbPointStore } from '../../shared/aws/influxdb-point-store';
import { StoreUnavailableError } from '../../shared/domain/errors';
import { parseDataQuery } from '../../shared/domain/query';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';
import { fakeSecretsManager } from '../fixtures/fake-secrets-manager';
import { ensureInfluxd, startInfluxd, type Influxd } from '../fixtures/influxd';

const missing = ensureInfluxd();
if (missing) console.error(`\n*** InfluxDB credentials contract SKIPPED: ${missing} ***\n`);

const stream = newStream(parseStreamInput({ id: 'auth', name: 'Auth', type: 'iot_sensor', schema: { site: { type: 'string' }, n: { type: 'integer' } }, dimensions: ['site'] }), new Date(0), () => 'x');

// the shape of a Timestream for InfluxDB user secret (its developer guide, "How Timestream for InfluxDB uses secrets")
const userSecret = (password: string) => JSON.stringify({ engine: 'timestream-influxdb', username: 'tributary', password, dbIdentifier: 'abc123' });

describe.skipIf(missing !== undefined)('InfluxDbPointStore with credentials from Secrets Manager, on influxd with auth-enabled', () => {
  let influx: Influxd;
  const secrets = new Map<string, string>();
  const fake = fakeSecretsManager(secrets);
  let client: SecretsManagerClient;
  beforeAll(async () => {
    influx = await startInfluxd({ auth: { username: 'tributary', password: 's3cret-pa55' } });
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    const { port } = fake.server.address() as AddressInfo;
    client = new SecretsManagerClient({ endpoint: `http://127.0.0.1:${port}`, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' }, maxAttempts: 1 });
  }, 60_000);
  afterAll(async () => {
    await influx?.stop();
    await new Promise((resolve) => fake.server.close(resolve));
  });

  it('writes and reads with the username and password of the secret (Basic auth), reading the secret once per cache period', async () => {
    secrets.set('influx/admin', userSecret('s3cret-pa55'));
    const store = new InfluxDbPointStore({ url: influx.url, database: 'authed', credentials: influxCredentialsSource({ client, secretId: 'influx/admin', maxAgeSeconds: 60 }) });
    await store.ensureDatabase();
    expect(await store.write(stream, [{ time: 1000, dimensions: { site: 'a' }, values: { n: 7 } }])).toEqual({ written: 1, rejected: [] });
    const rows = await store.query(stream, parseDataQuery(stream, { start: '0', end: '2000' }, 2000));
    expect(rows).toEqual([{ time: 1000, dimensions: { site: 'a' }, values: { n: 7 } }]);
    expect(fake.calls.filter((c) => c.endsWith('influx/admin'))).toHaveLength(1);
  });

  it('answers StoreUnavailableError, not data, without credentials or with a wrong password, and for a secret of neither shape', async () => {
    const anonymous = new InfluxDbPointStore({ url: influx.url, database: 'authed' });
    await expect(anonymous.latest(stream, { fields: ['n'], filters: {} })).rejects.toBeInstanceOf(StoreUnavailableError);
    secrets.set('influx/wrong', userSecret('not-it'));
    const wrong = new InfluxDbPointStore({ url: influx.url, database: 'authed', credentials: influxCredentialsSource({ client, secretId: 'influx/wrong' }) });
    const error = await wrong.write(stream, [{ time: 2000, dimensions: { site: 'a' }, values: { n: 1 } }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain('401');
    expect((error as Error).message).not.toContain('not-it');
    secrets.set('influx/odd', JSON.stringify({ engine: 'timestream-influxdb', user: 'x' }));
    const odd = influxCredentialsSource({ client, secretId: 'influx/odd' });
    await expect(odd()).rejects.toThrow('holds neither {token} nor {username, password}');
    await expect(influxCredentialsSource({ client, secretId: 'influx/none' })()).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('sends a token secret as Authorization: Token (what InfluxDB 2.x and 3 take)', async () => {
    secrets.set('influx/token', JSON.stringify({ engine: 'timestream-influxdb', token: 'tok-123', dbIdentifier: 'abc123' }));
    const seen: string[] = [];
    const store = new InfluxDbPointStore({
      url: influx.url,
      database: 'authed',
      credentials: influxCredentialsSource({ client, secretId: 'influx/token' }),
      fetch: async (input, init) => {
        seen.push(new Headers(init?.headers).get('authorization') ?? '');
        return new Response(JSON.stringify({ results: [{ statement_id: 0 }] }), { status: 200 });
      },
    });
    await store.latest(stream, { fields: ['n'], filters: {} });
    expect(seen).toEqual(['Token tok-123']);
  });
});
