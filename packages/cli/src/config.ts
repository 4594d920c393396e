import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT } from './exit-codes';

export interface CliConfig {
  url: string;
  token?: string;
}

/** `$TRIBUTARY_CONFIG`, else `$XDG_CONFIG_HOME/tributary/config.json`, else `~/.config/tributary/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.TRIBUTARY_CONFIG ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'tributary', 'config.json');
}

/** Writes the config readable by its owner only (0600), atomically. */
export async function saveConfig(config: CliConfig, path = configPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/**
 * The API URL and token: `--url`/`--token`, else `TRIBUTARY_URL`/`TRIBUTARY_TOKEN`, else the login config.
 * A token on the command line is visible to other users in `ps`: prefer `login` or the environment.
 */
export async function loadConfig(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Promise<CliConfig> {
  let saved: Partial<CliConfig> = {};
  try {
    saved = JSON.parse(await readFile(configPath(env), 'utf8')) as CliConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError(`cannot read ${configPath(env)}: ${(err as Error).message}`, EXIT.usage);
  }
  const url = flags.url ?? env.TRIBUTARY_URL ?? saved.url;
  if (!url) throw new CliError('not logged in: run `tributary login --url URL` (or set TRIBUTARY_URL and TRIBUTARY_TOKEN)', EXIT.auth);
  const token = flags.token ?? env.TRIBUTARY_TOKEN ?? saved.token;
  return { url, ...(token && { token }) };
}
