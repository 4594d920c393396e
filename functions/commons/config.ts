import * as z from 'zod';

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
