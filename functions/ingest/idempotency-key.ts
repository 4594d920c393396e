import { createHash } from 'node:crypto';
import { BadRequestError } from '../../shared/domain/errors';
import type { HttpEvent } from '../commons/http';

/** The request header that makes a retried ingest request a no-op (Stripe's; draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** The header a replayed answer carries. */
export const REPLAYED_HEADER = 'idempotent-replayed';

/** Longest key accepted, in characters (Stripe's limit). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * The request's idempotency key, or `undefined` without the header. A key is 1-255 printable ASCII
 * characters; it may be sent bare (`Idempotency-Key: 8e03978e-40d5`, as Stripe's clients do) or as the
 * draft's structured-field string (`Idempotency-Key: "8e03978e-40d5"`): both are the same key. Anything else
 * is a 400 naming the header.
 *
 * @example
 * idempotencyKeyOf('"8e03978e-40d5"'); // '8e03978e-40d5'
 * idempotencyKeyOf(undefined); // undefined
 */
export function idempotencyKeyOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const key = unquoted(value.trim());
  const problem =
    key.length === 0
      ? 'is empty'
      : key.length > MAX_IDEMPOTENCY_KEY_LENGTH
        ? `is ${key.length} characters long; at most ${MAX_IDEMPOTENCY_KEY_LENGTH} are allowed`
        : !PRINTABLE_ASCII.test(key)
          ? 'holds characters other than printable ASCII (U+0020 to U+007E)'
          : undefined;
  if (problem) {
    throw new BadRequestError(`The ${IDEMPOTENCY_KEY_HEADER} header ${problem}; send 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters, e.g. a UUID.`, [
      { path: ['headers', IDEMPOTENCY_KEY_HEADER], message: problem },
    ]);
  }
  return key;
}

/** A structured-field string (`"a\"b"`) as its content; any other value as it is. */
function unquoted(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  const inner = value.slice(1, -1);
  // a bare `"` or a backslash not escaping `"` or `\` makes it no sf-string: kept as sent
  if (!/^(?:[^"\\]|\\["\\])*$/.test(inner)) return value;
  return inner.replace(/\\(["\\])/g, '$1');
}

/**
 * What identifies a request's body for its key: the SHA-256 of the bytes as received, so a retry of the
 * same body matches and any other body (one byte or one record more) does not.
 *
 * @example
 * const fingerprint = bodyFingerprint(event);
 */
export function bodyFingerprint(event: HttpEvent): string {
  return createHash('sha256')
    .update(event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64') : Buffer.from(event.body ?? '', 'utf8'))
    .digest('base64');
}
