import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { PullFailedError } from '../../shared/domain/pull-errors';
import type { TargetPolicy } from '../../shared/domain/pull-source';
import { pinnedLookup, resolveChecked } from '../commons/guarded-target';

/** One request of a pull, as resolved (secrets filled in). */
export interface GuardedRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxBytes: number;
  policy: TargetPolicy;
}

export interface GuardedResponse {
  status: number;
  /** The URL that answered, after redirects. */
  url: string;
  body: Buffer;
}

const MAX_REDIRECTS = 5;

/**
 * An HTTP(S) request that may not reach a forbidden address: the host is resolved and checked before
 * each connection (redirects are followed by hand, each checked the same way; headers are dropped when a
 * redirect leaves the origin), the connection goes to the checked address, the body is counted as it
 * streams and cut at `maxBytes`, and the whole exchange is bounded by `timeoutMs`.
 *
 * @example
 * const res = await guardedRequest({ url, method: 'GET', headers: {}, timeoutMs: 10_000, maxBytes: 5 << 20, policy });
 */
export async function guardedRequest(req: GuardedRequest): Promise<GuardedResponse> {
  const signal = AbortSignal.timeout(req.timeoutMs);
  let url = parseUrl(req.url);
  let { method, headers, body } = req;
  try {
    for (let hop = 0; ; hop++) {
      const res = await send(url, method, headers, body, req, signal);
      const location = res.headers.location;
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.statusCode !== 304) {
        res.resume();
        if (!location) throw new PullFailedError('source.redirect', `${url.origin} answered ${res.statusCode} without a Location`);
        if (hop === MAX_REDIRECTS) throw new PullFailedError('source.redirect', `more than ${MAX_REDIRECTS} redirects from ${req.url}`);
        const next = parseUrl(location, url);
        if (next.origin !== url.origin) headers = {};
        if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }
      return { status: res.statusCode ?? 0, url: url.href, body: await readLimited(res, req.maxBytes, url) };
    }
  } catch (err) {
    throw classify(err, url, req.timeoutMs, signal);
  }
}

function parseUrl(text: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new PullFailedError('source.redirect', `not a URL: ${text.slice(0, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PullFailedError('target.forbidden', `refused ${url.protocol} URL; only http and https`);
  return url;
}

async function send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, req: GuardedRequest, signal: AbortSignal): Promise<IncomingMessage> {
  const target = await resolveChecked(url.hostname, req.policy);
  signal.throwIfAborted();
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const r = request(url, {
      method,
      headers: { accept: 'application/json', ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
      lookup: pinnedLookup(target) as never,
      signal,
      // keep-alive agents would reuse a socket opened for another (checked) target's name
      agent: false,
    });
    r.once('response', resolve);
    r.once('error', reject);
    r.end(body);
  });
}

function readLimited(res: IncomingMessage, maxBytes: number, url: URL): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    return Promise.reject(tooLarge(url, maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        reject(tooLarge(url, maxBytes));
      } else chunks.push(chunk);
    });
    res.once('end', () => resolve(Buffer.concat(chunks, size)));
    res.once('error', reject);
    res.once('close', () => {
      if (!res.complete) reject(Object.assign(new Error('the response ended before its end'), { code: 'ECONNRESET' }));
    });
  });
}

const tooLarge = (url: URL, maxBytes: number) => new PullFailedError('source.too_large', `the response of ${url.origin}${url.pathname} is larger than maxBytes (${maxBytes} bytes)`);

function classify(err: unknown, url: URL, timeoutMs: number, signal: AbortSignal): PullFailedError {
  if (err instanceof PullFailedError) return err;
  if (signal.aborted) return new PullFailedError('source.timeout', `no complete answer from ${url.origin} within ${timeoutMs} ms`, { cause: err });
  return new PullFailedError('source.unreachable', `${url.origin}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
