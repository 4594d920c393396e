/**
 * What a log line may carry: field names that hold secrets or client content become `[redacted]`, and a
 * Tributary token or signing secret inside any string is masked. Handlers never pass bodies or headers
 * on purpose; this is the guard for the day one slips into an error's message.
 */

const SECRET_KEY = /token|ticket|authorization|subprotocol|sec-websocket-protocol|secret|password|credential|cookie|signature|api[-_ ]?key|^body$|^headers$|^payload$/i;
const SECRET_VALUE = /\b(trb_|whsec_|tkt_)[A-Za-z0-9+/=_-]{4,}/g;
const MAX_DEPTH = 6;

export const REDACTED = '[redacted]';

/**
 * A copy of `fields` safe to log.
 *
 * @example
 * redactFields({ streamId: 's1', token: 'trb_abc' }) // { streamId: 's1', token: '[redacted]' }
 */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactObject(fields, 0);
}

function redactObject(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? REDACTED : redactValue(v, depth + 1);
  return out;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replace(SECRET_VALUE, `$1${REDACTED}`);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: redactValue(value.message, depth + 1) };
  return redactObject(value as Record<string, unknown>, depth);
}
