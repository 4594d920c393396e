import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PullFailedError } from '../../shared/domain/pull-errors';
import { refusalReason, type TargetPolicy } from '../../shared/domain/pull-source';

/** An address that passed the policy, and the name it was resolved from (for TLS SNI and certificates). */
export interface CheckedTarget {
  host: string;
  address: string;
  family: 4 | 6;
}

/**
 * Resolves `host` once (DNS, or the literal itself) and checks every address it resolves to against the
 * policy; the caller then connects to `address`, never to the name again, so a DNS answer that changes
 * between the check and the connection (rebinding) cannot reach a forbidden address.
 *
 * @example
 * const target = await resolveChecked('api.example.com', { allowPrivate: false, allowLoopback: false });
 * http.request(url, { lookup: pinnedLookup(target) });
 */
export async function resolveChecked(host: string, policy: TargetPolicy): Promise<CheckedTarget> {
  const bare = host.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  if (isIP(bare)) addresses = [{ address: bare, family: isIP(bare) }];
  else {
    try {
      addresses = await lookup(bare, { all: true, verbatim: true });
    } catch (err) {
      throw new PullFailedError('source.unreachable', `cannot resolve ${bare}: ${(err as Error).message}`, { cause: err });
    }
  }
  for (const a of addresses) {
    const reason = refusalReason(a.address, policy);
    if (reason) throw new PullFailedError('target.forbidden', `refused to connect to ${bare}: it resolves to ${reason}`);
  }
  const first = addresses[0];
  if (!first) throw new PullFailedError('source.unreachable', `${bare} resolves to no address`);
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
