/**
 * Bearer tokens: minted here, stored only as SHA-256 hashes (`TokenStore`), compared in constant time.
 * Kept out of `shared/domain` because it needs `node:crypto`.
 *
 * @example
 * const token = newToken(); // shown to the client once
 * await tokens.put({ hash: hashToken(token), scopes: ['ingest:freezers'], streamId: 'freezers', createdAt });
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Every token starts with it, so a leaked one is easy to recognise (secret scanners, logs).
 *
 * @example
 * if (!password.startsWith(TOKEN_PREFIX)) return { ok: false, reason: 'not a Tributary token' };
 */
export const TOKEN_PREFIX = 'trb_';
const TOKEN_BYTES = 32;

/**
 * A new bearer token: `trb_` and 32 random bytes in base64url (256 bits, 47 characters in all).
 *
 * @example
 * newToken(); // 'trb_q5Vv0oX…' (47 characters)
 */
export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * The hash a token is stored and looked up by: SHA-256 of its UTF-8 bytes, lowercase hex (64 characters).
 * A plain hash is enough: tokens carry 256 random bits, so there is nothing to brute-force.
 *
 * @example
 * hashToken('trb_abc'); // '7b6a…' (64 hex characters)
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Compares two hashes in constant time; different lengths are simply unequal.
 *
 * @example
 * sameHash(hashToken(presented), stored.hash); // true only for the same token
 */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
