import { GetSecretValueCommand, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretUnavailableError } from '../domain/pull-errors';
import { systemClock, type Clock, type SecretSource } from '../ports';

/**
 * What `SecretsManagerSecretSource` is built from: a ready client, the name prefix its role may read
 * (`tributary/pull/`), and how long a value is cached in the function instance.
 *
 * @example
 * const options: SecretsManagerSourceOptions = { client: new SecretsManagerClient({}), prefix: 'tributary/pull/' };
 */
export interface SecretsManagerSourceOptions {
  client: SecretsManagerClient;
  prefix: string;
  cacheMs?: number;
  clock?: Clock;
}

/** The prefix of every pull secret; the pull function's IAM policy is scoped to it. */
export const PULL_SECRET_PREFIX = 'tributary/pull/';
/** The prefix of the secrets Slack alert actions name (`secret`); the alert-actions function's IAM policy is scoped to it. */
export const ALERT_SECRET_PREFIX = 'tributary/alert/';

/**
 * Pull secrets from Secrets Manager: `${secret:NAME}` is the secret `<prefix>NAME` (its string value).
 * Values are cached per instance for `cacheMs` (default 5 minutes), so a rotated secret is picked up
 * within that time; a value is never logged.
 *
 * @example
 * const secrets = new SecretsManagerSecretSource({ client: new SecretsManagerClient({}), prefix: PULL_SECRET_PREFIX });
 * const { VENDOR_TOKEN } = await secrets.get(['VENDOR_TOKEN']);
 */
export class SecretsManagerSecretSource implements SecretSource {
  private readonly cache = new Map<string, { value: string; until: number }>();
  private readonly cacheMs: number;
  private readonly clock: Clock;

  constructor(private readonly options: SecretsManagerSourceOptions) {
    this.cacheMs = options.cacheMs ?? 300_000;
    this.clock = options.clock ?? systemClock;
  }

  async get(names: string[]): Promise<Record<string, string>> {
    const values = await Promise.all(names.map(async (name) => [name, await this.one(name)] as const));
    return Object.fromEntries(values);
  }

  private async one(name: string): Promise<string> {
    const now = this.clock.now();
    const hit = this.cache.get(name);
    if (hit && hit.until > now) return hit.value;
    const secretId = `${this.options.prefix}${name}`;
    let value: string | undefined;
    try {
      value = (await this.options.client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
    } catch (err) {
      const reason = err instanceof ResourceNotFoundException ? `no secret named '${secretId}'` : `Secrets Manager refused or failed (${(err as Error).name})`;
      throw new SecretUnavailableError(name, reason, { cause: err });
    }
    if (value === undefined) throw new SecretUnavailableError(name, `'${secretId}' has no string value`);
    this.cache.set(name, { value, until: now + this.cacheMs });
    return value;
  }
}
