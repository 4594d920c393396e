import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { StoreUnavailableError } from '../domain/errors';

/**
 * Reads the admin token from Secrets Manager once (at cold start) and returns only its hash, so the token
 * itself is never kept past this call.
 *
 * @example
 * const adminTokenHash = await readAdminTokenHash(new SecretsManagerClient({}), process.env.ADMIN_TOKEN_SECRET_ARN!, hashToken);
 */
export async function readAdminTokenHash(client: SecretsManagerClient, secretId: string, hash: (token: string) => string): Promise<string> {
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    const token = out.SecretString?.trim();
    if (!token) throw new Error('the secret has no string value');
    return hash(token);
  } catch (err) {
    throw new StoreUnavailableError('The admin token secret could not be read.', { cause: err });
  }
}
