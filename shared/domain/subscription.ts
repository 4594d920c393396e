import * as z from 'zod';

/**
 * An `iot_sensor` stream whose devices publish to another MQTT broker (a building's, a plant's) rather than to
 * Tributary's: the stream subscribes to that broker's topics and takes every message on them as if a device
 * had published it to the stream's own topic (same payload forms, processing and validation). Only the local
 * runtime holds such subscriptions: a Lambda cannot keep a connection open, so in AWS the broker is bridged
 * to IoT Core instead (the README shows a Mosquitto bridge).
 *
 * @example
 * SubscriptionSchema.parse({ url: 'mqtt://building.sensors.example:1883', topics: ['building/hq/occupancy/+/count'] });
 * // { url: …, topics: […], qos: 1, allowPrivateTargets: false }
 */

/** `${secret:NAME}`: the broker's password stays in the secret store, as a pull's credentials do. */
const SECRET_ONLY = /^\$\{secret:[A-Za-z0-9_]{1,64}\}$/;

/** At most this many topic filters per stream: each one is a subscription the broker keeps for us. */
export const MAX_SUBSCRIPTION_TOPICS = 16;

/**
 * An MQTT topic filter as MQTT 3.1.1 §4.7 defines it: `+` alone in a level, `#` alone and last, no NUL, and
 * no `$`-topics (a broker's own) since they are not data.
 */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter.length === 0 || filter.length > 256) return 'must be 1-256 characters';
  if (filter.includes('\u0000')) return 'must not contain NUL';
  if (filter.startsWith('$')) return "topics starting with $ are the broker's own, not data";
  const levels = filter.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return "'#' must be a whole level, and the last one";
    if (level.includes('+') && level !== '+') return "'+' must be a whole level";
  }
  return undefined;
}

export const SubscriptionSchema = z.strictObject({
  /** The broker: `mqtt://host:port` (1883 by default) or `mqtts://host:port` (TLS, 8883 by default). */
  url: z
    .string()
    .max(2048)
    .refine((u) => {
      try {
        const url = new URL(u);
        return (url.protocol === 'mqtt:' || url.protocol === 'mqtts:') && url.hostname !== '' && url.username === '' && url.password === '';
      } catch {
        return false;
      }
    }, 'must be mqtt://host[:port] or mqtts://host[:port], without credentials (give username and password)'),
  topics: z
    .array(z.string().superRefine((t, ctx) => {
      const problem = topicFilterProblem(t);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }))
    .min(1)
    .max(MAX_SUBSCRIPTION_TOPICS),
  /** 1 (the default): the broker keeps what arrives while Tributary is down, and redelivers what it did not acknowledge. */
  qos: z.union([z.literal(0), z.literal(1)]).default(1),
  username: z.string().min(1).max(256).optional(),
  password: z.string().regex(SECRET_ONLY, 'must be a secret reference ${secret:NAME}, never the password itself').optional(),
  /** The client id Tributary connects with; `tributary-{streamId}` by default, so its session survives restarts. */
  clientId: z.string().min(1).max(128).optional(),
  /** Private addresses (10/8, 192.168/16, …) are refused unless this is set, as for a pull's source. */
  allowPrivateTargets: z.boolean().default(false),
});
export type Subscription = z.output<typeof SubscriptionSchema>;

/** The secret names a subscription reads, to resolve at connect time. */
export function subscriptionSecretName(subscription: Subscription): string | undefined {
  return subscription.password?.slice('${secret:'.length, -1);
}
