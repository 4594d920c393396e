import * as z from 'zod';
import { TICKET_SYSTEM_NAME } from '../../shared/domain/stream-names';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

const ConfigSchema = z.object({
  PORT: port(3000),
  MQTT_PORT: port(1883),
  TRIBUTARY_HOST: z.string().min(1).default('127.0.0.1'),
  TRIBUTARY_DATA_DIR: z.string().min(1).default('./.tributary'),
  TRIBUTARY_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  TRIBUTARY_QUIET: z.enum(['0', '1']).default('0'),
  TRIBUTARY_ROLLUPS: z.enum(['0', '1']).default('1'),
  TRIBUTARY_ROLLUP_COMPACT_MS: z.coerce.number().int().min(10).max(3_600_000).default(1000),
  TRIBUTARY_SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be smtp://[user:password@]host[:port] or smtps://…' }).optional(),
  TRIBUTARY_EMAIL_FROM: z.email().default('tributary@localhost'),
  TRIBUTARY_STORE: z.enum(['duckdb', 'influxdb']).default('duckdb'),
  TRIBUTARY_INFLUX_URL: z.url({ protocol: /^https?$/, error: 'must be the http(s) URL of an InfluxDB (http://127.0.0.1:8086)' }).optional(),
  TRIBUTARY_INFLUX_DATABASE: z.string().min(1).max(255).default('tributary'),
  TRIBUTARY_INFLUX_USERNAME: z.string().min(1).optional(),
  TRIBUTARY_INFLUX_PASSWORD: z.string().min(1).optional(),
  TRIBUTARY_INFLUX_TOKEN: z.string().min(1).optional(),
  TRIBUTARY_ALERT_EMAIL_TO: z
    .string()
    .transform((s) => s.split(',').map((a) => a.trim()).filter(Boolean))
    .pipe(z.array(z.email()))
    .default([]),
});

/** `TRIBUTARY_TICKET_SYSTEM_<NAME>=<url>`: a ticket system alert actions name (`system: "<name>"`, lower case). */
export const TICKET_SYSTEM_ENV_PREFIX = 'TRIBUTARY_TICKET_SYSTEM_';
const TicketSystemUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL where the ticket system takes new tickets' });

/**
 * Every setting of `npm start`, for `--help` and the README's settings table (a test checks the README lists
 * each one).
 */
export const LOCAL_SETTINGS: readonly { name: string; default: string; what: string }[] = [
  { name: 'PORT', default: '3000', what: 'HTTP port of the API (0: any free port)' },
  { name: 'MQTT_PORT', default: '1883', what: 'MQTT port of the broker (0: any free port)' },
  { name: 'TRIBUTARY_HOST', default: '127.0.0.1', what: 'address both listen on; anything but loopback exposes the API and the broker to your network' },
  { name: 'TRIBUTARY_DATA_DIR', default: '.tributary', what: 'where streams, points, events (dynamodb/, s3/), the queue and the generated admin token are kept' },
  { name: 'TRIBUTARY_ADMIN_TOKEN', default: '(generated)', what: 'admin token (16+ characters); unset: one is generated on the first start, printed once and kept in <data dir>/admin-token' },
  { name: 'TRIBUTARY_QUIET', default: '0', what: '1: print only the first line at start and error lines (no info lines: alerts fired, pulls run, MQTT refusals)' },
  { name: 'TRIBUTARY_ROLLUPS', default: '1', what: '0: keep no stored rollups (every downsampled query reads the raw points); only to measure what rollups cost' },
  { name: 'TRIBUTARY_ROLLUP_COMPACT_MS', default: '1000', what: 'how often the rollup compactor recomputes pending bins (10 to 3600000 ms); each run spends about a quarter of it, and one that overruns waits three times as long as it took' },
  { name: 'TRIBUTARY_SMTP_URL', default: '', what: 'SMTP server alert emails are sent through (smtp://[user:password@]host[:port], smtps://…); unset: alert emails are written to the log' },
  { name: 'TRIBUTARY_EMAIL_FROM', default: 'tributary@localhost', what: 'the From address of alert emails' },
  { name: 'TRIBUTARY_ALERT_EMAIL_TO', default: '', what: "comma-separated addresses of email actions that name no recipients (AWS: the alert topic's subscribers)" },
  { name: 'TRIBUTARY_STORE', default: 'duckdb', what: 'where points are kept: duckdb (<data dir>/points.duckdb) or influxdb (the InfluxDB at TRIBUTARY_INFLUX_URL)' },
  { name: 'TRIBUTARY_INFLUX_URL', default: '', what: 'with TRIBUTARY_STORE=influxdb: the InfluxDB HTTP API (http://127.0.0.1:8086; 1.x, or 2.x through its v1 endpoints)' },
  { name: 'TRIBUTARY_INFLUX_DATABASE', default: 'tributary', what: 'with TRIBUTARY_STORE=influxdb: the database (created at start if missing; on 2.x the bucket of that name)' },
  { name: 'TRIBUTARY_INFLUX_USERNAME', default: '', what: 'with TRIBUTARY_STORE=influxdb: user and password (TRIBUTARY_INFLUX_PASSWORD) sent as Basic auth; unset: no authentication' },
  { name: 'TRIBUTARY_INFLUX_PASSWORD', default: '', what: 'the password of TRIBUTARY_INFLUX_USERNAME' },
  { name: 'TRIBUTARY_INFLUX_TOKEN', default: '', what: 'with TRIBUTARY_STORE=influxdb: an API token (Authorization: Token), instead of a user' },
  { name: 'TRIBUTARY_TICKET_SYSTEM_<NAME>', default: '', what: 'the URL a create_ticket action with system: "<name>" (lower case) POSTs its signed ticket to' },
  { name: 'TRIBUTARY_SECRET_<NAME>', default: '', what: "the value of ${secret:NAME} in pull sources and webhook secrets (else NAME in <data dir>/secrets.json, mode 0600)" },
  { name: 'TRIBUTARY_BACNET_PORT', default: '47808', what: 'UDP port of the BACnet/IP client of bacnet sources, where I-Am broadcasts arrive (0: any free port, enough when each source gives its address)' },
  { name: 'TRIBUTARY_BACNET_BROADCAST', default: '255.255.255.255', what: 'host[:port] the Who-Is of a bacnet source without an address goes to (your subnet\'s broadcast address)' },
  { name: 'TRIBUTARY_TEST_CRASH_MID_PULL', default: '0', what: 'tests only: 1 kills the process right after a pull\'s first durable write' },
  { name: 'TRIBUTARY_TEST_CRASH_MID_IDEMPOTENT_INGEST', default: '0', what: 'tests only: 1 kills the process after a keyed ingest request is queued, before its key is recorded' },
];

export interface LocalConfig {
  httpPort: number;
  mqttPort: number;
  host: string;
  dataDir: string;
  adminToken?: string;
  quiet: boolean;
  /** `false` keeps no stored rollups, only to measure their cost; kept when absent. */
  rollups?: boolean;
  /** Milliseconds between two runs of the rollup compactor (default 1000); each run spends at most a quarter of it. */
  rollupCompactMs?: number;
  /** Alert email through SMTP; absent: emails are logged. */
  smtp?: { url: string; from: string; defaultTo: string[] };
  /** Points in InfluxDB (`TRIBUTARY_STORE=influxdb`); absent: DuckDB in the data dir. */
  influx?: { url: string; database: string; credentials?: { token: string } | { username: string; password: string }; createDatabase: boolean };
  /** Named ticket systems: name → URL (none unless given). */
  ticketSystems?: Readonly<Record<string, string>>;
}

/**
 * Reads the local runtime's settings once, reporting every bad variable at once.
 *
 * @example
 * const config = loadLocalConfig(process.env);
 */
export function loadLocalConfig(env: Record<string, string | undefined>): Readonly<LocalConfig> {
  // an empty variable (`TRIBUTARY_ADMIN_TOKEN= npm start`) means unset, as in most shells' habits
  const r = ConfigSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  const bad = r.success ? [] : r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
  const ticketSystems: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(TICKET_SYSTEM_ENV_PREFIX) || !value) continue;
    const name = key.slice(TICKET_SYSTEM_ENV_PREFIX.length).toLowerCase();
    const url = TicketSystemUrl.safeParse(value);
    if (!TICKET_SYSTEM_NAME.test(name)) bad.push(`  ${key}: the name must be A-Z 0-9 _ starting with a letter`);
    else if (!url.success) bad.push(`  ${key}: ${url.error.issues[0]!.message}`);
    else ticketSystems[name] = url.data;
  }
  if (r.success && r.data.TRIBUTARY_STORE === 'influxdb') {
    const c = r.data;
    if (!c.TRIBUTARY_INFLUX_URL) bad.push('  TRIBUTARY_INFLUX_URL: required with TRIBUTARY_STORE=influxdb');
    if ((c.TRIBUTARY_INFLUX_USERNAME === undefined) !== (c.TRIBUTARY_INFLUX_PASSWORD === undefined)) bad.push('  TRIBUTARY_INFLUX_PASSWORD: give both TRIBUTARY_INFLUX_USERNAME and TRIBUTARY_INFLUX_PASSWORD, or neither');
    if (c.TRIBUTARY_INFLUX_TOKEN && c.TRIBUTARY_INFLUX_USERNAME) bad.push('  TRIBUTARY_INFLUX_TOKEN: give a token or a user, not both');
  }
  if (!r.success || bad.length) throw new Error(`Invalid settings:\n${bad.join('\n')}`);
  const c = r.data;
  return Object.freeze({
    httpPort: c.PORT,
    mqttPort: c.MQTT_PORT,
    host: c.TRIBUTARY_HOST,
    dataDir: c.TRIBUTARY_DATA_DIR,
    ...(c.TRIBUTARY_ADMIN_TOKEN && { adminToken: c.TRIBUTARY_ADMIN_TOKEN }),
    quiet: c.TRIBUTARY_QUIET === '1',
    ...(c.TRIBUTARY_ROLLUPS === '0' && { rollups: false }),
    rollupCompactMs: c.TRIBUTARY_ROLLUP_COMPACT_MS,
    ...(c.TRIBUTARY_SMTP_URL && { smtp: { url: c.TRIBUTARY_SMTP_URL, from: c.TRIBUTARY_EMAIL_FROM, defaultTo: c.TRIBUTARY_ALERT_EMAIL_TO } }),
    ticketSystems: Object.freeze(ticketSystems),
    ...(c.TRIBUTARY_STORE === 'influxdb' && {
      influx: Object.freeze({
        url: c.TRIBUTARY_INFLUX_URL!,
        database: c.TRIBUTARY_INFLUX_DATABASE,
        ...(c.TRIBUTARY_INFLUX_TOKEN && { credentials: { token: c.TRIBUTARY_INFLUX_TOKEN } }),
        ...(c.TRIBUTARY_INFLUX_USERNAME && c.TRIBUTARY_INFLUX_PASSWORD && { credentials: { username: c.TRIBUTARY_INFLUX_USERNAME, password: c.TRIBUTARY_INFLUX_PASSWORD } }),
        createDatabase: true,
      }),
    }),
  });
}
