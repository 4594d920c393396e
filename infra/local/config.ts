import { z } from 'zod';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

const ConfigSchema = z.object({
  PORT: port(3000),
  MQTT_PORT: port(1883),
  TRIBUTARY_HOST: z.string().min(1).default('127.0.0.1'),
  TRIBUTARY_DATA_DIR: z.string().min(1).default('./.tributary'),
  TRIBUTARY_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  TRIBUTARY_QUIET: z.enum(['0', '1']).default('0'),
});

export interface LocalConfig {
  httpPort: number;
  mqttPort: number;
  host: string;
  dataDir: string;
  adminToken?: string;
  quiet: boolean;
}

/**
 * Reads the local runtime's settings once, reporting every bad variable at once.
 *
 * @example
 * const config = loadLocalConfig(process.env);
 */
export function loadLocalConfig(env: Record<string, string | undefined>): Readonly<LocalConfig> {
  const r = ConfigSchema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid settings:\n${lines}`);
  }
  const c = r.data;
  return Object.freeze({
    httpPort: c.PORT,
    mqttPort: c.MQTT_PORT,
    host: c.TRIBUTARY_HOST,
    dataDir: c.TRIBUTARY_DATA_DIR,
    ...(c.TRIBUTARY_ADMIN_TOKEN && { adminToken: c.TRIBUTARY_ADMIN_TOKEN }),
    quiet: c.TRIBUTARY_QUIET === '1',
  });
}
