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
