import * as z from 'zod';
import { TICKET_SYSTEM_NAME } from '../../shared/domain/stream-names';

/**
 * Parses a function's environment once, at cold start, reporting every bad variable at once; returns a
 * frozen object. Tests pass a plain object instead of touching `process.env`.
 *
 * @example
 * const config = loadConfig(z.object({ TABLE_NAME: z.string().min(1) }), process.env);
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): Readonly<z.output<S>> {
  const r = schema.safeParse(env);
  if (!r.success) {
    throw new Error(`Invalid configuration: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return Object.freeze(r.data);
}

export const name = z.string().min(1);

/**
 * `TICKET_SYSTEMS`: the deployment's named ticket systems as JSON `{"name": "https://…"}` (from the
 * `alerts.ticketSystems` setting); `{}` when unset.
 *
 * @example
 * z.object({ TICKET_SYSTEMS: ticketSystems }).parse({ TICKET_SYSTEMS: '{"maintenance_system":"https://t.example.com/api"}' });
 */
export const ticketSystems = z
  .string()
  .default('{}')
  .transform((text, ctx) => {
    try {
      return z.record(z.string().regex(TICKET_SYSTEM_NAME), z.url({ protocol: /^https?$/ })).parse(JSON.parse(text));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON {"name": "https://…"} with names of a-z 0-9 _' });
      return z.NEVER;
    }
  });

const liveAnalyticsSettings = z.object({ POINT_STORE: z.literal('liveanalytics'), TIMESTREAM_DATABASE: name, TIMESTREAM_TABLE: name });
const influxDbSettings = z.object({ POINT_STORE: z.literal('influxdb'), INFLUX_URL: z.url({ protocol: /^https?$/ }), INFLUX_DATABASE: name, INFLUX_SECRET_ARN: name });

/**
 * The point store's variables, as the stack's `store` setting sets them: `POINT_STORE` (`liveanalytics`, the
 * default, with `TIMESTREAM_DATABASE` and `TIMESTREAM_TABLE`; or `influxdb` with `INFLUX_URL`,
 * `INFLUX_DATABASE` and `INFLUX_SECRET_ARN`). Merge into a function's schema with `withPointStore`.
 *
 * @example
 * const QueryConfig = withPointStore(z.object({ TABLE_NAME: name }));
 */
export function withPointStore<S extends z.ZodRawShape>(schema: z.ZodObject<S>) {
  const branches = z.discriminatedUnion('POINT_STORE', [schema.extend(liveAnalyticsSettings.shape), schema.extend(influxDbSettings.shape)]);
  return z.preprocess((env) => (typeof env === 'object' && env !== null ? { ...env, POINT_STORE: (env as { POINT_STORE?: unknown }).POINT_STORE ?? 'liveanalytics' } : env), branches);
}
