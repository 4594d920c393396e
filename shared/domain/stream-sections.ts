import * as z from 'zod';

/**
 * The optional sections of a canonical stream definition that the product documents brought in: the vault a
 * stream belongs to, how an `event_stream`'s webhook signs, what an `iot_sensor`'s device is, and the event
 * types of an `event_stream`. `seed-dialect.ts` translates the documents' spelling into these.
 *
 * @example
 * const webhook = WebhookSchema.parse({ authentication: 'hmac-sha256', secret: '${secret:WEBHOOK_SECRET}' });
 */

/** A vault groups streams; `GET /v1/streams?vaultId=` lists one vault's. */
export const VaultIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 of A-Z a-z 0-9 _ . : -');

/** `${secret:NAME}`, the only way a webhook secret is stored: the value itself stays in the secret store. */
export const WEBHOOK_SECRET_REF = /^\$\{secret:([A-Za-z0-9_]{1,64})\}$/;

/** How an `event_stream`'s sender signs its webhook requests. Verification is the webhook ingest's. */
export const WebhookSchema = z.strictObject({
  authentication: z.literal('hmac-sha256'),
  secret: z.string().regex(WEBHOOK_SECRET_REF, 'must be a secret reference ${secret:NAME} (or ${NAME}), never the secret itself'),
});
export type Webhook = z.output<typeof WebhookSchema>;

const DeviceCommon = {
  deviceId: z.string().min(1).max(128).optional(),
  protocol: z.enum(['mqtt', 'http']).default('mqtt'),
  /** The broker or URL the device talks to, as its definition names it (informational: devices use Tributary's). */
  endpoint: z.string().min(1).max(2048).optional(),
  /** The topic the device publishes on, as its definition names it. */
  topic: z
    .string()
    .min(1)
    .max(200)
    .refine(
      // * and ? are wildcards in an IoT policy's topic ARN, ${ a policy variable: the device's policy names this topic
      (t) => !/[#+*?]/.test(t) && !t.includes('${') && !t.startsWith('$') && !t.startsWith('tributary/'),
      'must be a topic without wildcards (# + * ?) or ${, not starting with $ or tributary/ (both reserved)',
    )
    .optional(),
  /** How the device authenticates over HTTP: with the stream's ingest token. */
  authentication: z.literal('api_key').optional(),
};

/** An `iot_sensor`'s device, as a client sends it: the password in clear, hashed before it is stored. */
export const DeviceInputSchema = z.strictObject({
  ...DeviceCommon,
  credentials: z.strictObject({ username: z.string().min(1).max(128), password: z.string().min(8, 'must be at least 8 characters').max(256) }).optional(),
});
export type DeviceInput = z.output<typeof DeviceInputSchema>;

/** An `iot_sensor`'s device as stored: the password only as a hash. */
export interface Device extends Omit<DeviceInput, 'credentials'> {
  credentials?: { username: string; passwordHash: string };
}

/** The field of an `event_stream` record that names its event type, when the stream has `eventTypes`. */
export const EVENT_TYPE_FIELD = 'eventType';

/** Event type name → the names of its fields (each declared in `schema`) and which of them it requires. */
export const EventTypesSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'event type names are 1-64 of letters, digits, _ . - and start with a letter or _'),
  z.strictObject({ fields: z.array(z.string().min(1).max(60)).max(256), required: z.array(z.string().min(1).max(60)).max(256) }),
);
export type EventTypes = z.output<typeof EventTypesSchema>;

/**
 * What the stored device says to a reader: never the password hash.
 *
 * @example
 * publicDevice({ protocol: 'mqtt', credentials: { username: 'u', passwordHash: 'scrypt$…' } }); // { protocol: 'mqtt', credentials: { username: 'u' } }
 */
export function publicDevice(device: Device): Omit<Device, 'credentials'> & { credentials?: { username: string } } {
  if (!device.credentials) return device;
  return { ...device, credentials: { username: device.credentials.username } };
}

type IssueSink = (path: (string | number)[], message: string) => void;

/**
 * Checks the sections against the stream: a webhook only on an `event_stream`, a device only on an
 * `iot_sensor`, and event types whose fields are the schema's, with an `eventType` string field naming them.
 *
 * @example
 * checkSections(input, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
 */
export function checkSections(
  s: { type: string; schema: Record<string, { type: string; enum?: unknown[] | undefined }>; webhook?: unknown; device?: unknown; eventTypes?: EventTypes | undefined },
  report: IssueSink,
): void {
  if (s.webhook !== undefined && s.type !== 'event_stream') report(['webhook'], `a ${s.type} stream has no webhook: only event_stream streams do`);
  if (s.device !== undefined && s.type !== 'iot_sensor') report(['device'], `a ${s.type} stream has no device: only iot_sensor streams do`);
  if (!s.eventTypes) return;
  if (s.type !== 'event_stream') report(['eventTypes'], `a ${s.type} stream has no event types: only event_stream streams do`);
  const names = Object.keys(s.eventTypes);
  const typeField = s.schema[EVENT_TYPE_FIELD];
  if (names.length === 0) report(['eventTypes'], 'needs at least one event type');
  if (!typeField || typeField.type !== 'string' || !typeField.enum || names.some((n) => !typeField.enum!.includes(n))) {
    report(['schema', EVENT_TYPE_FIELD], `a stream with eventTypes needs a string field '${EVENT_TYPE_FIELD}' whose enum lists every event type`);
  }
  for (const [name, t] of Object.entries(s.eventTypes)) {
    t.fields.forEach((f, i) => {
      if (!s.schema[f]) report(['eventTypes', name, 'fields', i], `'${f}' is not a field of the schema`);
    });
    t.required.forEach((f, i) => {
      if (!t.fields.includes(f)) report(['eventTypes', name, 'required', i], `'${f}' is not one of the event type's fields`);
    });
  }
}
