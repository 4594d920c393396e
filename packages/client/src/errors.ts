import type { Problem } from './types';

/**
 * The API refused or failed a request: `status` and the problem+json body (`problem.errors` lists each issue
 * with its field path). The message never holds a token or a header.
 *
 * @example
 * try { await client.streams.get('nope'); } catch (err) { if (err instanceof TributaryApiError && err.status === 404) … }
 */
export class TributaryApiError extends Error {
  override readonly name = 'TributaryApiError';
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    readonly method: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`${method} ${path} answered ${status}${problem ? `: ${problem.title}: ${problem.detail}` : ''}`, options);
  }
}

/** The request did not get an answer (network, timeout) after every retry. */
export class TributaryNetworkError extends Error {
  override readonly name = 'TributaryNetworkError';
  constructor(
    readonly method: string,
    readonly path: string,
    options: { cause?: unknown },
  ) {
    super(`${method} ${path}: no answer (${(options.cause as Error | undefined)?.message ?? 'network error'})`, options);
  }
}

/** One record alone is over the body limit: no request can carry it. */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';
  constructor(
    readonly index: number,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`record ${index} is ${bytes} bytes of JSON; a request body holds at most ${maxBytes}`);
  }
}
