import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The headers that carry a webhook's signature and its time (for replay protection). */
export const SIGNATURE_HEADER = 'x-tributary-signature';
export const TIMESTAMP_HEADER = 'x-tributary-timestamp';

/**
 * Signs a webhook body: `sha256=` and the hex HMAC-SHA256, keyed by the stream's signing secret, of
 * `<timestamp>.<body>` (timestamp in Unix seconds, as sent in `X-Tributary-Timestamp`).
 *
 * @example
 * const signature = signWebhook(secret, Math.floor(Date.now() / 1000), body); // 'sha256=5f2b…'
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does: recompute the signature, compare in constant time, refuse an old timestamp.
 *
 * @example
 * verifyWebhook(secret, req.headers['x-tributary-signature'], req.headers['x-tributary-timestamp'], rawBody, Date.now()); // true
 */
export function verifyWebhook(secret: string, signature: string | undefined, timestamp: string | undefined, body: string, now: number, toleranceSeconds = 300): boolean {
  const ts = Number(timestamp);
  if (!signature || !Number.isInteger(ts) || Math.abs(now / 1000 - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, ts, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * A new signing secret: `whsec_` and 32 random bytes in base64url.
 *
 * @example
 * const secret = newSigningSecret(); // 'whsec_…'
 */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}
