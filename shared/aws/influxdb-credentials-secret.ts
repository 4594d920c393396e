import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import * as z from 'zod';
import { StoreUnavailableError } from '../domain/errors';
import type { InfluxCredentials } from './influxdb-http';

/** How long a function keeps the InfluxDB credentials it read before reading them again. */
export const DEFAULT_INFLUX_CREDENTIALS_CACHE_SECONDS = 300;

/**
 * The two shapes a Timestream for InfluxDB secret takes (its developer guide, "How Timestream for InfluxDB
 * uses secrets"): a user's `{engine, username, password, dbIdentifier}` (what the instance's admin secret and
 * the stack's generated secret hold) or a token's `{engine, token, dbIdentifier, …}`. A token wins where a
 * secret has both.
 */
const SecretValue = z.union([
  z.looseObject({ token: z.string().min(1) }).transform((s): InfluxCredentials => ({ token: s.token })),
  z.looseObject({ username: z.string().min(1), password: z.string().min(1) }).transform((s): InfluxCredentials => ({ username: s.username, password: s.password })),
]);

export interface InfluxCredentialsSourceOptions {
  client: SecretsManagerClient;
  secretId: string;
  /** Seconds a read value is kept (Powertools Parameters' `maxAge`): a rotation takes effect within this. */
  maxAgeSeconds?: number;
}

/**
 * InfluxDB's credentials read from a Secrets Manager secret (JSON, see `SecretValue`) through Powertools
 * Parameters, cached for `maxAgeSeconds`. A secret that cannot be read or has neither shape is a
 * `StoreUnavailableError` (the deployment's fault, never the client's); the value itself is never logged or
 * put in an error.
 *
 * @example
 * const store = new InfluxDbPointStore({ url, database: 'tributary', credentials: influxCredentialsSource({ client, secretId: config.INFLUX_SECRET_ARN }) });
 */
export function influxCredentialsSource(options: InfluxCredentialsSourceOptions): () => Promise<InfluxCredentials> {
  const provider = new SecretsProvider({ awsSdkV3Client: options.client });
  const maxAge = options.maxAgeSeconds ?? DEFAULT_INFLUX_CREDENTIALS_CACHE_SECONDS;
  return async () => {
    let value: unknown;
    try {
      value = await provider.get(options.secretId, { maxAge, transform: 'json' });
    } catch (err) {
      throw new StoreUnavailableError('The InfluxDB credentials secret could not be read.', { cause: err });
    }
    const parsed = SecretValue.safeParse(value);
    if (!parsed.success) throw new StoreUnavailableError('The InfluxDB credentials secret holds neither {token} nor {username, password}.');
    return parsed.data;
  };
}
