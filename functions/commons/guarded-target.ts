import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { PullFailedError } from '../../shared/domain/pull-errors';
import { addressInWords, refusalReason, type TargetPolicy } from '../../shared/domain/address-class';

/** An address that passed the policy, and the name it was resolved from (for TLS SNI and certificates). */
export interface CheckedTarget {
  host: string;
  address: string;
  family: 4 | 6;
}

/**
 * The errors a refused or unresolvable target becomes: pulls report `PullFailedError`s (the default), alert
 * actions their own permanent or retried failures.
 *
 * @example
 * const errors: GuardErrors = { forbidden: (host, address) => new ActionPermanentError(`refused ${host} (${address})`), unresolvable: (message) => new ActionFailedError(message) };
 */
export interface GuardErrors {
  /** `reason` is the policy's wording (pull-specific hints included); `address` the address refused. */
  forbidden(host: string, address: string, reason: string): Error;
  unresolvable(message: string, cause?: unknown): Error;
}

const PULL_ERRORS: GuardErrors = {
  forbidden: (host, _address, reason) => new PullFailedError('target.forbidden', `refused to connect to ${host}: it resolves to ${reason}`),
  unresolvable: (message, cause) => new PullFailedError('source.unreachable', message, { cause }),
};

/**
 * Resolves `host` once (DNS, or the literal itself) and checks every address it resolves to against the
 * policy; the caller then connects to `address`, never to the name again, so a DNS answer that changes
 * between the check and the connection (rebinding) cannot reach a forbidden address.
 *
 * @example
 * const target = await resolveChecked('api.example.com', { allowPrivate: false, allowLoopback: false });
 * http.request(url, { lookup: pinnedLookup(target) });
 */
export async function resolveChecked(host: string, policy: TargetPolicy, errors: GuardErrors = PULL_ERRORS): Promise<CheckedTarget> {
  const bare = host.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  if (isIP(bare)) addresses = [{ address: bare, family: isIP(bare) }];
  else {
    try {
      addresses = await lookup(bare, { all: true, verbatim: true });
    } catch (err) {
      throw errors.unresolvable(`cannot resolve ${bare}: ${(err as Error).message}`, err);
    }
  }
  for (const a of addresses) {
    const reason = refusalReason(a.address, policy);
    if (reason) throw errors.forbidden(bare, a.address, reason);
  }
  const first = addresses[0];
  if (!first) throw errors.unresolvable(`${bare} resolves to no address`);
  return { host: bare, address: first.address, family: first.family === 6 ? 6 : 4 };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | { address: string; family: number }[], family?: number) => void;

/**
 * A `lookup` for `http.request` / `net.connect` that always answers with the checked address.
 *
 * @example
 * https.request(url, { lookup: pinnedLookup(target) });
 */
export function pinnedLookup(target: CheckedTarget) {
  return (_host: string, options: { all?: boolean } | number | LookupCallback, callback?: LookupCallback): void => {
    const cb = (typeof options === 'function' ? options : callback)!;
    const all = typeof options === 'object' && options?.all;
    if (all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  };
}

/**
 * The class of a refused address in plain words, without the pull-specific hint of `refusalReason`.
 *
 * @example
 * addressKind('169.254.169.254'); // 'a link-local address (169.254.169.254)'
 */
export function addressKind(address: string): string {
  return addressInWords(address);
}

/** One POST to a checked target, as an alert action sends it. */
export interface GuardedPost {
  url: URL;
  headers: Record<string, string>;
  body: string;
  policy: TargetPolicy;
  errors: GuardErrors;
  /** Bounds resolving, connecting, the answer and reading its body. */
  signal: AbortSignal;
  /** At most this much of the answer's body is read (it is then dropped); the status is what counts. */
  maxResponseBytes: number;
}

/**
 * POSTs once to a URL whose host passed `resolveChecked`, connecting to the checked address; a redirect is
 * answered with its status and never followed. The body of the answer is read up to `maxResponseBytes` and
 * discarded. Rejects with `errors`' error for a refused or unresolvable host, with the abort reason when the
 * signal fires first.
 *
 * @example
 * const { status } = await postChecked({ url: new URL(hook), headers, body, policy, errors, signal: AbortSignal.timeout(10_000), maxResponseBytes: 65_536 });
 */
export async function postChecked(req: GuardedPost): Promise<{ status: number }> {
  const target = await abortable(resolveChecked(req.url.hostname, req.policy, req.errors), req.signal);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = req.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const r = request(req.url, {
      method: 'POST',
      // a length, not chunked encoding: some receivers refuse a chunked POST
      headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
      lookup: pinnedLookup(target) as never,
      signal: req.signal,
      // a keep-alive agent could hand over a socket opened for another target's name
      agent: false,
    });
    r.once('response', resolve);
    r.once('error', reject);
    r.end(req.body);
  });
  await abortable(drain(res, req.maxResponseBytes), req.signal);
  return { status: res.statusCode ?? 0 };
}

/** Reads and drops at most `maxBytes` of a body, then closes the socket. */
function drain(res: IncomingMessage, maxBytes: number): Promise<void> {
  return new Promise((resolve) => {
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        resolve();
      }
    });
    res.once('end', () => resolve());
    res.once('close', () => resolve());
    res.once('error', () => resolve());
  });
}

/** `work`, or the signal's reason if it fires first (a DNS lookup cannot be aborted, only outrun). */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
