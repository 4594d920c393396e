import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { StoreUnavailableError } from '../domain/errors';

/** How long a function keeps the admin token it read before reading it again, unless the stack says otherwise. */
export const DEFAULT_ADMIN_TOKEN_CACHE_SECONDS = 60;

export interface AdminTokenSourceOptions {
  client: SecretsManagerClient;
  secretId: string;
  /** Seconds a read value is kept (Powertools Parameters' `maxAge`): a rotation takes effect within this. */
  maxAgeSeconds: number;
  hash: (token: string) => string;
}

/**
 * The admin token's hash, read from Secrets Manager through Powertools Parameters and cached for
 * `maxAgeSeconds`, so a rotated token takes effect without a cold start. Only the hash leaves this function.
 * A read that fails is a `StoreUnavailableError`, never the previous value: a token rotated away because it
 * leaked must not outlive the rotation by an outage.
 *
 * @example
 * const adminTokenHash = adminTokenHashSource({ client, secretId: config.ADMIN_TOKEN_SECRET_ARN, maxAgeSeconds: 60, hash: hashToken });
 * await adminTokenHash(); // '9f86d0…'
 */
export function adminTokenHashSource(options: AdminTokenSourceOptions): () => Promise<string> {
  const provider = new SecretsProvider({ awsSdkV3Client: options.client });
  let last: { token: string; hash: string } | undefined;
  return async () => {
    let token: string | undefined;
    try {
      const value = await provider.get(options.secretId, { maxAge: options.maxAgeSeconds });
      token = typeof value === 'string' ? value.trim() : undefined;
    } catch (err) {
      throw new StoreUnavailableError('The admin token secret could not be read.', { cause: err });
    }
    if (!token) throw new StoreUnavailableError('The admin token secret has no string value.');
    // hashing once per value read, not per request
    if (last?.token !== token) last = { token, hash: options.hash(token) };
    return last.hash;
  };
}
