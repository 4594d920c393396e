import { readFile, stat } from 'node:fs/promises';
import { SecretUnavailableError } from '../domain/pull-errors';
import type { SecretSource } from '../ports';

/** `${secret:NAME}` is read from this environment variable prefix plus NAME first. */
export const SECRET_ENV_PREFIX = 'TRIBUTARY_SECRET_';

/**
 * What `FileSecretSource` reads: the environment, then a JSON file `{"NAME": "value"}` (mode 0600).
 *
 * @example
 * const options: FileSecretSourceOptions = { env: process.env, file: join(dataDir, 'secrets.json') };
 */
export interface FileSecretSourceOptions {
  env: Record<string, string | undefined>;
  file: string;
}

/**
 * Pull secrets on one machine: `TRIBUTARY_SECRET_<NAME>` in the environment, else `<NAME>` in the data
 * dir's `secrets.json`. The file is read on every call (so an edit applies without a restart) and refused
 * when group or others may read it.
 *
 * @example
 * const secrets = new FileSecretSource({ env: process.env, file: '.tributary/secrets.json' });
 * await secrets.get(['PG_PASSWORD']);
 */
export class FileSecretSource implements SecretSource {
  constructor(private readonly options: FileSecretSourceOptions) {}

  async get(names: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    let file: Record<string, unknown> | undefined;
    for (const name of names) {
      const fromEnv = this.options.env[`${SECRET_ENV_PREFIX}${name}`];
      if (fromEnv !== undefined) {
        out[name] = fromEnv;
        continue;
      }
      file ??= await this.readFile(name);
      const value = file[name];
      if (typeof value !== 'string') {
        throw new SecretUnavailableError(name, `set ${SECRET_ENV_PREFIX}${name} or add "${name}" to ${this.options.file}`);
      }
      out[name] = value;
    }
    return out;
  }

  private async readFile(name: string): Promise<Record<string, unknown>> {
    const path = this.options.file;
    let mode: number;
    try {
      mode = (await stat(path)).mode;
    } catch {
      return {};
    }
    if ((mode & 0o077) !== 0) throw new SecretUnavailableError(name, `${path} may be read by others; chmod 600 it`);
    try {
      const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch (err) {
      throw new SecretUnavailableError(name, `${path} is not a JSON object`, { cause: err });
    }
    throw new SecretUnavailableError(name, `${path} is not a JSON object`);
  }
}
