/**
 * The InfluxDB HTTP API as `InfluxDbPointStore` calls it: `/write` (line protocol, gzip) and `/query`
 * (InfluxQL, JSON, `chunked` for large answers), served alike by InfluxDB 1.x, InfluxDB 2.x / Timestream for
 * InfluxDB (v1 compatibility endpoints) and InfluxDB 3. Failures are translated here, in one place:
 * - the network, 5xx, 429 (back-pressure), 401/403 (the token) and 404 (no such database or bucket) are
 *   `StoreUnavailableError`: the store cannot take or answer this now, retry;
 * - a 400 on `/write` is a refusal of the data (`WriteRefusal`, the store finds which points);
 * - a 400 or a statement error on `/query` is a query this adapter should not have built: a plain `Error`.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { StoreUnavailableError } from '../domain/errors';

const gzipAsync = promisify(gzip);

/** One series of a `/query` answer. */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/**
 * How a call authenticates: an API token (`Authorization: Token …`, InfluxDB 2.x/3 and 1.x with tokens) or a
 * user (`Authorization: Basic …`, which InfluxDB 1.x and the v1 compatibility endpoints of 2.x take).
 */
export type InfluxCredentials = { token: string } | { username: string; password: string };

/** Where and how to reach InfluxDB; `credentials` are read before each call (a cached Secrets Manager read in AWS). */
export interface InfluxHttpOptions {
  url: string;
  credentials?: () => Promise<InfluxCredentials | undefined>;
  timeoutMs: number;
  fetch: typeof fetch;
}

/** InfluxDB refused the lines of a write (HTTP 400): a value it cannot take, such as a field type conflict. */
export class WriteRefusal extends Error {
  override readonly name = 'WriteRefusal';
}

export class InfluxHttp {
  constructor(private readonly options: InfluxHttpOptions) {}

  private async call(path: string, params: Record<string, string>, init: RequestInit): Promise<Response> {
    const url = new URL(path, this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const credentials = await this.options.credentials?.();
    const headers = new Headers(init.headers);
    if (credentials) headers.set('Authorization', authorization(credentials));
    let response: Response;
    try {
      response = await this.options.fetch(url, { ...init, headers, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (cause) {
      throw new StoreUnavailableError(`InfluxDB at ${url.origin} cannot be reached.`, { cause });
    }
    if (response.status === 400 || response.ok) return response;
    const detail = (await response.text().catch(() => '')).slice(0, 300);
    throw new StoreUnavailableError(`InfluxDB answered ${response.status} to ${path}: ${detail}`, { cause: new Error(detail) });
  }

  /** Writes lines (epoch ms); throws `WriteRefusal` on a 400. */
  async writeLines(db: string, rp: string | undefined, lines: string[]): Promise<void> {
    const body = await gzipAsync(Buffer.from(lines.join('\n')));
    const response = await this.call('write', { db, ...(rp && { rp }), precision: 'ms' }, {
      method: 'POST',
      headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'text/plain; charset=utf-8' },
      body,
    });
    if (response.status === 400) throw new WriteRefusal(errorOf(await response.text()) ?? 'InfluxDB refused the write');
    await response.body?.cancel();
  }

  /**
   * Deletes points through InfluxDB 2.x's `/api/v2/delete` (its v1 `/query` takes no `DELETE`): `[start, stop]`
   * as RFC 3339, a predicate of `AND`ed `key="value"` terms. Answers 204.
   */
  async deleteV2(org: string, bucket: string, body: { start: string; stop: string; predicate: string }): Promise<void> {
    const response = await this.call('api/v2/delete', { org, bucket }, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status === 400) throw new Error(`InfluxDB refused a delete: ${errorOf(await response.text()) ?? 'bad request'}`);
    await response.body?.cancel();
  }

  /** Runs one InfluxQL statement and returns every series of its answer (times in epoch ms), read in chunks. */
  async query(db: string, q: string, method: 'GET' | 'POST' = 'GET'): Promise<InfluxSeries[]> {
    const params = { db, q, epoch: 'ms', chunked: 'true', chunk_size: '10000' };
    const response = method === 'POST' ? await this.call('query', {}, { method, body: new URLSearchParams(params) }) : await this.call('query', params, { method });
    const text = await response.text();
    const series: InfluxSeries[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let doc: { error?: string; results?: { error?: string; series?: InfluxSeries[] }[] };
      try {
        doc = JSON.parse(line);
      } catch (cause) {
        throw new StoreUnavailableError('InfluxDB answered a query with text that is not JSON.', { cause });
      }
      const error = doc.error ?? doc.results?.find((r) => r.error)?.error;
      if (error) {
        if (/database not found|bucket .*not found/i.test(error)) throw new StoreUnavailableError(`InfluxDB: ${error}`, { cause: new Error(error) });
        throw new Error(`InfluxDB refused a query: ${error}`);
      }
      for (const r of doc.results ?? []) series.push(...(r.series ?? []));
    }
    return series;
  }
}

function authorization(c: InfluxCredentials): string {
  return 'token' in c ? `Token ${c.token}` : `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

function errorOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: string }).error;
  } catch {
    return text.slice(0, 300) || undefined;
  }
}
