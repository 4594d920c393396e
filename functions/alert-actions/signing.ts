import { createHash, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * The headers of a signed webhook, as the Standard Webhooks specification names them
 * (https://www.standardwebhooks.com): `webhook-id` (the same on every retry of one delivery),
 * `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature` (`v1,<base64>`, space-separated
 * when more than one secret signs).
 *
 * @example
 * const id = req.headers[WEBHOOK_HEADERS.id]; // 'msg_…'
 */
export const WEBHOOK_HEADERS = { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' } as const;

/** The three Standard Webhooks headers of one delivery attempt. */
export interface WebhookSignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

const PREFIX = 'whsec_';

/**
 * The three signature headers out of a request's headers (Node's `req.headers`, any case; a repeated header
 * gives its first value; a missing one `''`), ready for `new Webhook(secret).verify(rawBody, headers)`.
 *
 * @example
 * const alert = new Webhook(secret).verify(rawBody, pickWebhookHeaders(req.headers));
 */
export function pickWebhookHeaders(headers: Record<string, string | string[] | undefined>): WebhookSignatureHeaders {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v[0] : v]));
  return {
    'webhook-id': lower.get(WEBHOOK_HEADERS.id) ?? '',
    'webhook-timestamp': lower.get(WEBHOOK_HEADERS.timestamp) ?? '',
    'webhook-signature': lower.get(WEBHOOK_HEADERS.signature) ?? '',
  };
}

/**
 * Signs a webhook body as Standard Webhooks says: for each secret, `v1,` and the base64 HMAC-SHA256 of
 * `${id}.${timestamp}.${body}`, keyed by the secret's bytes (the base64 after `whsec_`). Several secrets
 * (the current one and, during a rotation, the previous one) give space-separated signatures; a receiver
 * holding either verifies. The `standardwebhooks` library does the signing, so what it verifies is what we sent.
 *
 * @example
 * const headers = signWebhook({ id: webhookId(alert.id, 0), timestamp: Math.floor(Date.now() / 1000), body, secrets: [secret] });
 * new Webhook(secret).verify(body, headers); // the parsed body
 */
export function signWebhook(input: { id: string; timestamp: number; body: string; secrets: readonly string[] }): WebhookSignatureHeaders {
  const { id, timestamp, body, secrets } = input;
  if (secrets.length === 0) throw new TypeError('signWebhook needs at least one secret.');
  const at = new Date(timestamp * 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((secret) => new Webhook(secretKey(secret), { format: 'raw' }).sign(id, at, body)).join(' '),
  };
}

/**
 * The `webhook-id` of one action of one alert: `msg_` and a digest of the alert id and the action's index.
 * The same on every retry of that action (receivers drop duplicates by it), different for each action and
 * alert, and free of `.` (the specification's signed content is `id.timestamp.body`).
 *
 * @example
 * webhookId('freezers.0000000010000000001', 0); // 'msg_…' (always the same for this alert and action)
 */
export function webhookId(alertId: string, index: number): string {
  return `msg_${createHash('sha256').update(`${alertId}\n${index}`).digest('base64url').slice(0, 32)}`;
}

/**
 * A new signing secret: `whsec_` and 32 random bytes in base64, the form Standard Webhooks libraries read.
 *
 * @example
 * const secret = newSigningSecret(); // 'whsec_…'
 */
export function newSigningSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/**
 * The key bytes of a secret. Node's base64 decoder also reads base64url, the alphabet of secrets issued
 * before the Standard Webhooks scheme, so those still sign (their holders convert or rotate them to verify
 * with a library).
 */
function secretKey(secret: string): Uint8Array {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  if (key.length === 0) throw new TypeError('The signing secret is empty.');
  return key;
}
