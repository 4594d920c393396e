import { TributaryApiError, TributaryNetworkError } from './errors';
import type { Problem } from './types';

/** How the client retries 429 and 503 answers (and lost answers of requests that are safe to repeat). */
export interface RetryOptions {
  /** Attempts after the first; 6 unless given. */
  retries?: number;
  /** The first backoff without a `Retry-After`, in ms (doubling each attempt, full jitter); 200 unless given. */
  baseDelayMs?: number;
  /** No wait is longer than this, `Retry-After` included, in ms; 30 000 unless given. */
  maxDelayMs?: number;
}

export interface TransportOptions {
  baseUrl: string;
  token?: string | undefined;
  fetch?: typeof fetch;
  retry?: RetryOptions;
  /** Per attempt, in ms; 60 000 unless given. */
  timeoutMs?: number;
  /** Told about each retry (never with a token or a header). */
  onRetry?: (info: { method: string; path: string; attempt: number; delayMs: number; status?: number }) => void;
  /** The random source for jitter, in [0, 1); `Math.random` unless given (tests fix it). */
  random?: () => number;
}

export interface Request {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: URLSearchParams | undefined;
  /** Sent as is: JSON text. */
  body?: string | undefined;
  headers?: Record<string, string>;
  /** Another token than the client's (an ingest token for one stream). */
  token?: string | undefined;
  /** May a request whose answer was lost be sent again? GET, PUT, DELETE, and a POST with an Idempotency-Key. */
  repeatable?: boolean;
}

const RETRY_STATUS = new Set([429, 503]);
const IN_FLIGHT = 'https://tributary.dev/problems/idempotency-in_flight';

/**
 * `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable.
 *
 * @example
 * retryAfterMs('2', Date.now()); // 2000
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The wait before retry `attempt` (1-based): at least `Retry-After` plus up to 20 % jitter, so clients told
 * the same second do not come back together; without it, full jitter over an exponential backoff.
 *
 * @example
 * backoffMs(1, 1000, { baseDelayMs: 200, maxDelayMs: 30000 }, () => 0.5); // 1100
 */
export function backoffMs(attempt: number, retryAfter: number | undefined, retry: Required<RetryOptions>, random: () => number): number {
  if (retryAfter !== undefined) return Math.min(retry.maxDelayMs, retryAfter + random() * retryAfter * 0.2);
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return random() * ceiling;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends requests with the bearer token, retrying 429/503 (and a 409 "in progress" of an idempotent ingest)
 * as told by `Retry-After`. The token lives in a private field: it is in no log line, error or inspection.
 */
export class Transport {
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #retry: Required<RetryOptions>;
  readonly #random: () => number;
  readonly baseUrl: string;
  readonly #options: TransportOptions;

  constructor(options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#retry = { retries: 6, baseDelayMs: 200, maxDelayMs: 30_000, ...options.retry };
    this.#random = options.random ?? Math.random;
    this.#options = options;
  }

  /**
   * A Server-Sent Events response, open (its body not read), or a `TributaryApiError` for a refusal. Not retried:
   * the caller reconnects.
   */
  async openEvents(path: string, query: URLSearchParams, signal?: AbortSignal): Promise<Response> {
    const url = `${this.baseUrl}${path}${[...query.keys()].length > 0 ? `?${query}` : ''}`;
    let res: Response;
    try {
      res = await this.#fetch(url, { headers: { accept: 'text/event-stream', ...(this.#token && { authorization: `Bearer ${this.#token}` }) }, ...(signal && { signal }) });
    } catch (err) {
      throw new TributaryNetworkError('GET', path, { cause: err });
    }
    if (!res.ok || !res.body) {
      const problem = (await res.json().catch(() => undefined)) as Problem | undefined;
      throw new TributaryApiError(res.status, problem, 'GET', path);
    }
    return res;
  }

  /** The answer's JSON (undefined for 204), or a `TributaryApiError` / `TributaryNetworkError`. */
  async send<T>(req: Request): Promise<{ body: T; headers: Headers }> {
    const url = `${this.baseUrl}${req.path}${req.query && [...req.query.keys()].length > 0 ? `?${req.query}` : ''}`;
    const token = req.token ?? this.#token;
    const repeatable = req.repeatable ?? (req.method === 'GET' || req.method === 'PUT' || req.method === 'DELETE');
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.#fetch(url, {
          method: req.method,
          headers: {
            accept: 'application/json',
            ...(token && { authorization: `Bearer ${token}` }),
            ...(req.body !== undefined && { 'content-type': 'application/json' }),
            ...req.headers,
          },
          ...(req.body !== undefined && { body: req.body }),
          signal: AbortSignal.timeout(this.#options.timeoutMs ?? 60_000),
        });
      } catch (cause) {
        if (!repeatable || attempt > this.#retry.retries) throw new TributaryNetworkError(req.method, req.path, { cause });
        await this.#wait(req, attempt, undefined);
        continue;
      }
      const text = await res.text().catch(() => '');
      if (res.ok) return { body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
      const problem = parseProblem(text);
      const again = RETRY_STATUS.has(res.status) || (res.status === 409 && problem?.type === IN_FLIGHT);
      if (!again || attempt > this.#retry.retries) throw new TributaryApiError(res.status, problem, req.method, req.path);
      await this.#wait(req, attempt, res);
    }
  }

  /**
   * PUTs bytes to a presigned URL (an upload's `uploadUrl`) with its headers and never the token, retrying as
   * `send` does (a PUT of the same bytes is safe to repeat). `Content-Length` is left to fetch, which sets it
   * from the body. Throws `TributaryApiError` (no problem body: S3 answers XML) or `TributaryNetworkError`.
   */
  async putPresigned(url: string, headers: Record<string, string>, body: Uint8Array): Promise<void> {
    const req: Request = { method: 'PUT', path: '(uploadUrl)' };
    const sent = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-length'));
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.#fetch(url, { method: 'PUT', headers: sent, body, signal: AbortSignal.timeout(this.#options.timeoutMs ?? 60_000) });
      } catch (cause) {
        if (attempt > this.#retry.retries) throw new TributaryNetworkError(req.method, req.path, { cause });
        await this.#wait(req, attempt, undefined);
        continue;
      }
      const text = await res.text().catch(() => '');
      if (res.ok) return;
      if (!RETRY_STATUS.has(res.status) || attempt > this.#retry.retries) {
        const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
        throw new TributaryApiError(res.status, undefined, req.method, code ? `${req.path} (${code})` : req.path);
      }
      await this.#wait(req, attempt, res);
    }
  }

  /**
   * A file answer (`GET …/export`): the bytes of a 200, or those of the presigned URL a 303 names, fetched
   * without the token. Not retried. Throws `TributaryApiError` / `TributaryNetworkError`.
   */
  async download(path: string, query: URLSearchParams): Promise<{ bytes: Uint8Array; contentType: string; filename?: string }> {
    const url = `${this.baseUrl}${path}${[...query.keys()].length > 0 ? `?${query}` : ''}`;
    const get = async (target: string, withToken: boolean) => {
      try {
        return await this.#fetch(target, { headers: withToken && this.#token ? { authorization: `Bearer ${this.#token}` } : {}, redirect: 'manual', signal: AbortSignal.timeout(this.#options.timeoutMs ?? 60_000) });
      } catch (cause) {
        throw new TributaryNetworkError('GET', path, { cause });
      }
    };
    let res = await get(url, true);
    if (res.status === 303 && res.headers.get('location')) res = await get(res.headers.get('location')!, false);
    if (!res.ok) throw new TributaryApiError(res.status, parseProblem(await res.text().catch(() => '')), 'GET', path);
    const filename = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1];
    return { bytes: new Uint8Array(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? '', ...(filename && { filename }) };
  }

  async #wait(req: Request, attempt: number, res: Response | undefined): Promise<void> {
    const delayMs = backoffMs(attempt, res ? retryAfterMs(res.headers.get('retry-after'), Date.now()) : undefined, this.#retry, this.#random);
    this.#options.onRetry?.({ method: req.method, path: req.path, attempt, delayMs, ...(res && { status: res.status }) });
    await sleep(delayMs);
  }

  /** What `console.log(client)` shows: never the token. */
  toJSON() {
    return { baseUrl: this.baseUrl, token: this.#token ? '[redacted]' : undefined };
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Transport ${JSON.stringify(this.toJSON())}`;
  }
}

function parseProblem(text: string): Problem | undefined {
  try {
    const body = JSON.parse(text) as Problem;
    return typeof body === 'object' && body !== null && typeof body.status === 'number' ? body : undefined;
  } catch {
    return undefined;
  }
}
