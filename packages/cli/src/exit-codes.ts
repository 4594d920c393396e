import { TributaryApiError, TributaryNetworkError } from '../../client/src/index';

/**
 * What `tributary` exits with (README: "CLI"). Scripts can tell a refusal from an outage from a partial ingest.
 */
export const EXIT = {
  ok: 0,
  /** A bug or an unexpected failure. */
  internal: 1,
  /** Bad arguments or options (commander's usage errors too). */
  usage: 2,
  /** Not logged in, no token, or the token was refused (401/403). */
  auth: 3,
  /** The stream (or alert) does not exist (404). */
  notFound: 4,
  /** Another refusal by the API (400, 409, 413, 415, 422). */
  refused: 5,
  /** The API was unreachable or unavailable after every retry (network, 5xx, 429). */
  unavailable: 6,
  /** `ingest` finished, but some records were rejected (listed with their line numbers). */
  partial: 10,
  /** `verify` found the stream's stored records or receipt chain changed (each problem is listed). */
  unverified: 11,
  /** Interrupted (Ctrl-C); `ingest` keeps its checkpoint for the next run. */
  interrupted: 130,
} as const;

/** A failure the CLI explains itself, with the code to exit with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** The exit code and one line for an error. */
export function explain(err: unknown): { code: number; message: string } {
  if (err instanceof CliError) return { code: err.code, message: err.message };
  if (err instanceof TributaryApiError) {
    const s = err.status;
    const code = s === 401 || s === 403 ? EXIT.auth : s === 404 ? EXIT.notFound : s === 429 || s >= 500 ? EXIT.unavailable : EXIT.refused;
    const issues = (err.problem?.errors ?? []).slice(0, 10).map((i) => `\n  ${i.index !== undefined ? `[${i.index}] ` : ''}${i.path.join('.') || '(body)'}: ${i.message}`);
    return { code, message: `${err.message}${issues.join('')}` };
  }
  if (err instanceof TributaryNetworkError) return { code: EXIT.unavailable, message: err.message };
  return { code: EXIT.internal, message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}
