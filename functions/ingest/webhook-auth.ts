import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { UnauthenticatedError } from '../../shared/domain/errors';

/** How a signed webhook request proved itself; a Standard Webhooks delivery has an id to refuse again. */
export type WebhookProof = { scheme: 'standard-webhooks'; deliveryId: string } | { scheme: 'x-signature' };

const X_SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/** The one answer to every failed check: which check failed is not told to an unauthenticated caller. */
export const unsigned = () =>
  new UnauthenticatedError("The request carries neither a valid signature of the stream's webhook secret (Standard Webhooks or X-Signature: sha256=…) nor a token with the stream's ingest scope.");

/**
 * Checks a webhook request's signature over its raw body, in constant time: the Standard Webhooks scheme
 * (`webhook-id`, `webhook-timestamp` within 5 minutes, `webhook-signature: v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>`; a `whsec_` secret is base64, any other is used as its bytes) when its headers are
 * there, else GitHub-style `X-Signature: sha256=<hex HMAC-SHA256 of the body>`. Throws `UnauthenticatedError`.
 * `secretValue` may hold several secrets separated by spaces (`new old` while a rotation is under way).
 *
 * @example
 * verifySignature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', body, headers); // { scheme: 'standard-webhooks', deliveryId: 'msg_…' }
 */
export function verifySignature(secretValue: string, body: string | Buffer, headers: Record<string, string | undefined>): WebhookProof {
  // a rotation: the secret's value lists the new and the old secret, space-separated, for as long as senders
  // may still sign with the old one; any of them proves the request
  const secrets = secretValue.split(/\s+/).filter(Boolean);
  for (const secret of secrets.slice(0, -1)) {
    try {
      return verifyWith(secret, body, headers);
    } catch (err) {
      if (!(err instanceof UnauthenticatedError)) throw err;
    }
  }
  return verifyWith(secrets.at(-1) ?? '', body, headers);
}

function verifyWith(secret: string, body: string | Buffer, headers: Record<string, string | undefined>): WebhookProof {
  if (secret === '') throw unsigned();
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signature = headers['webhook-signature'];
  if (id !== undefined || timestamp !== undefined || signature !== undefined) {
    if (!id || !timestamp || !signature) throw unsigned();
    try {
      const hook = secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(secret, { format: 'raw' });
      hook.verify(body, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature });
    } catch (err) {
      if (err instanceof WebhookVerificationError || err instanceof Error) throw unsigned();
      throw err;
    }
    return { scheme: 'standard-webhooks', deliveryId: id };
  }
  const given = X_SIGNATURE.exec(headers['x-signature'] ?? headers['x-hub-signature-256'] ?? '')?.[1];
  if (!given) throw unsigned();
  const expected = (typeof body === 'string' ? createHmac('sha256', secret).update(body, 'utf8') : createHmac('sha256', secret).update(body)).digest();
  const actual = Buffer.from(given, 'hex');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw unsigned();
  return { scheme: 'x-signature' };
}
