import { PullFailedError } from '../../shared/domain/pull-errors';
import { resolveSecretRefs, type ApiPullSource, type TargetPolicy } from '../../shared/domain/pull-source';
import { guardedRequest } from './http-source';
import { transformed } from './transform';

/** What a source gave: records (transformed) and, for a database, the greatest cursor value of its rows. */
export interface Pulled {
  records: unknown[];
  cursor?: string | number | null;
}

/**
 * Pulls a REST API: the request with its secrets filled in, page after page (`paging`, up to `maxPages`),
 * each page's JSON body through the transform (or taken as the array of records it must then be).
 *
 * @example
 * const { records } = await pullApi(source, { VENDOR_TOKEN: '…' }, { allowPrivate: false, allowLoopback: false });
 */
export async function pullApi(source: ApiPullSource, secrets: Record<string, string>, policy: TargetPolicy): Promise<Pulled> {
  const headers = Object.fromEntries(Object.entries(source.headers).map(([k, v]) => [k, resolveSecretRefs(v, secrets)]));
  const body = source.body === undefined ? undefined : resolveSecretRefs(JSON.stringify(source.body), secrets);
  const records: unknown[] = [];
  let url: string | undefined = resolveSecretRefs(source.url, secrets);
  const first = new URL(url);
  const maxPages = source.paging?.maxPages ?? 1;
  for (let page = 0; url && page < maxPages; page++) {
    const res = await guardedRequest({ url, method: source.method, headers, ...(body !== undefined && { body }), timeoutMs: source.timeoutMs, maxBytes: source.maxBytes, policy });
    const where = `${source.method} ${new URL(res.url).origin}${new URL(res.url).pathname}`;
    if (res.status < 200 || res.status > 299) {
      throw new PullFailedError('source.http_status', `${where} answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new PullFailedError('source.http_status', `${where} answered ${res.status} with a body that is not JSON`);
    }
    records.push(...((await transformed(source, json)) ?? asRecords(json)));
    url = nextPage(source, json, res.url, first);
  }
  return { records };
}

/** The next page's URL from the response, or `undefined` when there is none. */
function nextPage(source: ApiPullSource, json: unknown, current: string, first: URL): string | undefined {
  const paging = source.paging;
  if (!paging) return undefined;
  const value = paging.path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), json);
  if (value === undefined || value === null || value === '') return undefined;
  if (paging.type === 'next_link') return typeof value === 'string' ? new URL(value, current).href : undefined;
  const next = new URL(first);
  next.searchParams.set(paging.param, String(value));
  return next.href;
}

function asRecords(json: unknown): unknown[] {
  if (Array.isArray(json)) return json;
  throw new PullFailedError('transform.failed', 'the response is not an array of records; give the source a transform that maps it to one');
}

