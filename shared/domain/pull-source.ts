import jsonata from 'jsonata';
import * as z from 'zod';
import { fieldRefusal, parseRegisterAddress, REGISTER_TYPES, registerWords } from './modbus-registers';
import { parseSchedule } from './pull-schedule';
import { DEVICE_SOURCE_KINDS, FIELD_NAME, isPullType } from './stream-names';

/**
 * Where a pull stream (`api_pull`, `database`, or an `iot_sensor` polled over Modbus TCP or BACnet/IP) gets its
 * records, and when: the `source` of its definition.
 * Parsing checks everything that can be checked without the network: the schedule (EventBridge syntax,
 * converted to a croner pattern), the JSONata transform's syntax, secret references, the SQL's `$1`.
 *
 * @example
 * const source = PullSourceSchema.parse({
 *   kind: 'api_pull', url: 'https://api.example.com/v1/readings', schedule: 'rate(5 minutes)',
 *   headers: { authorization: 'Bearer ${secret:VENDOR_TOKEN}' }, transform: 'data[]',
 * });
 */

/** `${secret:NAME}`: resolved at pull time from Secrets Manager (`tributary/pull/NAME`) or, locally, the environment. */
export const SECRET_NAME = /^[A-Za-z0-9_]{1,64}$/;
const SECRET_REF_GLOBAL = /\$\{secret:([^}]*)\}/g;
const WHOLE_SECRET_REF = /^\$\{secret:([A-Za-z0-9_]{1,64})\}$/;

export { DEVICE_SOURCE_KINDS, isPullType, PULL_STREAM_TYPES, type PullStreamType } from './stream-names';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const MAX_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
export const MAX_MAX_BYTES = 50 * 1024 * 1024;
export const DEFAULT_MAX_ROWS = 10_000;
export const DEFAULT_MAX_PAGES = 10;
/** A device on the plant floor answers in milliseconds or not at all: a poll every few seconds should not wait long. */
export const DEFAULT_DEVICE_TIMEOUT_MS = 5_000;
export const DEFAULT_MODBUS_PORT = 502;
export const DEFAULT_BACNET_PORT = 47808;

// ---------------------------------------------------------------------------------------------------------
// Schedules: in `pull-schedule.ts` (croner only), which the pull dispatcher imports without this module's
// JSONata and zod schemas

export { CRONER_OPTIONS, firstRunAt, nextRunAfter, parseSchedule, type Schedule } from './pull-schedule';
// ---------------------------------------------------------------------------------------------------------
// Addresses: classed in `address-class.ts`, shared with alert actions

export { classifyAddress, refusalReason, type AddressClass, type TargetPolicy } from './address-class';

// ---------------------------------------------------------------------------------------------------------
// Source definitions

const SecretRefCheck = (s: string, ctx: z.RefinementCtx) => {
  for (const m of s.matchAll(SECRET_REF_GLOBAL)) {
    if (!SECRET_NAME.test(m[1]!)) ctx.addIssue({ code: 'custom', message: `secret name '${m[1]}' must be 1-64 of A-Z a-z 0-9 _` });
  }
};
const WithSecrets = z.string().max(8192).superRefine(SecretRefCheck);
const SecretOnly = z.string().regex(WHOLE_SECRET_REF, 'must be a secret reference ${secret:NAME}, never the password itself');

const ScheduleField = z.string().superRefine((s, ctx) => {
  try {
    parseSchedule(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const Transform = z
  .string()
  .min(1)
  .max(16_384)
  .superRefine((s, ctx) => {
    try {
      jsonata(s);
    } catch (err) {
      const e = err as { message?: string; position?: number };
      ctx.addIssue({ code: 'custom', message: `invalid JSONata${e.position === undefined ? '' : ` at ${e.position}`}: ${e.message ?? String(err)}` });
    }
  });

/** A script declares its function first (comments before it allowed). */
const SCRIPT_DECLARES = /^\s*(?:(?:\/\/[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*function\s+[A-Za-z_$][\w$]*\s*\(/;
const oneTransform = (s: { transform?: string | undefined; script?: string | undefined }) => !(s.transform !== undefined && s.script !== undefined);

const FieldList = z.array(z.string().min(1).max(128)).min(1).max(16);
/** A dotted path into a JSON document, e.g. `links.next` or `meta.cursor`. */
const JsonPath = z.string().regex(/^[A-Za-z_$][A-Za-z0-9_$-]*(\.[A-Za-z_$][A-Za-z0-9_$-]*)*$/, 'must be a dotted path like links.next');

const Paging = z.discriminatedUnion('type', [
  z.strictObject({
    /** The response names the next page's URL (absolute or relative to the current one). */
    type: z.literal('next_link'),
    path: JsonPath,
    maxPages: z.number().int().min(1).max(100).default(DEFAULT_MAX_PAGES),
  }),
  z.strictObject({
    /** The response names a cursor, sent back as the query parameter `param`. */
    type: z.literal('cursor'),
    path: JsonPath,
    param: z.string().min(1).max(64),
    maxPages: z.number().int().min(1).max(100).default(DEFAULT_MAX_PAGES),
  }),
]);

const Common = {
  schedule: ScheduleField,
  /** A JSONata expression from the response (or the rows) to an array of records. */
  transform: Transform.optional(),
  /** Or a JavaScript function doing the same, `function transform(apiData) { … }`, run sandboxed (checked fully on save). */
  script: z
    .string()
    .max(16_384)
    .regex(SCRIPT_DECLARES, 'must declare a function first, e.g. function transform(apiData) { … }')
    .optional(),
  /** Records seen before with the same values of these fields and the same time are not sent again. */
  dedupe: z.strictObject({ key: FieldList }).optional(),
  timeoutMs: z.number().int().min(100).max(MAX_TIMEOUT_MS).default(DEFAULT_TIMEOUT_MS),
  /** Reach RFC 1918 / CGNAT / unique-local addresses (never loopback, link-local or metadata). */
  allowPrivateTargets: z.boolean().default(false),
};

export const ApiPullSourceSchema = z.strictObject({
  kind: z.literal('api_pull'),
  url: z
    .string()
    .max(4096)
    .superRefine(SecretRefCheck)
    .refine((u) => {
      try {
        const p = new URL(u).protocol;
        return p === 'http:' || p === 'https:';
      } catch {
        return false;
      }
    }, 'must be an absolute http(s) URL'),
  method: z.enum(['GET', 'POST']).default('GET'),
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, 'must be a header name'), WithSecrets).default({}),
  /** Sent as JSON with POST. */
  body: z.unknown().optional(),
  maxBytes: z.number().int().min(1).max(MAX_MAX_BYTES).default(DEFAULT_MAX_BYTES),
  paging: Paging.optional(),
  ...Common,
}).refine(oneTransform, { message: 'use transform (JSONata) or script (JavaScript), not both', path: ['script'] });
export type ApiPullSource = z.output<typeof ApiPullSourceSchema>;

export const DatabaseSourceSchema = z
  .strictObject({
    kind: z.literal('database'),
    engine: z.literal('postgresql'),
    connection: z.strictObject({
      host: z.string().min(1).max(253),
      port: z.number().int().min(1).max(65_535).default(5432),
      database: z.string().min(1).max(63),
      user: z.string().min(1).max(128).superRefine(SecretRefCheck),
      password: SecretOnly,
      /** `true` (verify the server certificate), `false`, or `'no-verify'` (encrypt without verifying). */
      ssl: z.union([z.boolean(), z.literal('no-verify')]).default(true),
    }),
    /** A SELECT whose `$1` is bound to the last cursor value; order it by the incremental column and limit it. */
    query: z
      .string()
      .min(1)
      .max(16_384)
      .refine((q) => /\$1\b/.test(q), 'must use $1 for the last cursor value, e.g. WHERE id > $1 ORDER BY id LIMIT 1000')
      .refine((q) => !/\$([2-9]|\d{2,})\b/.test(q), 'only $1 is bound'),
    /** The column whose greatest pulled value becomes the next cursor. */
    incrementalColumn: z.string().min(1).max(63),
    /** `$1` on the first run (default null). */
    initialCursor: z.union([z.string().max(256), z.number()]).nullable().default(null),
    /** Record field ← column; the rows go through as they are when neither this nor `transform` is set. */
    mapping: z.record(z.string().min(1).max(60), z.string().min(1).max(63)).optional(),
    maxRows: z.number().int().min(1).max(100_000).default(DEFAULT_MAX_ROWS),
    ...Common,
  })
  .refine((s) => !(s.mapping && (s.transform || s.script)), { message: 'use mapping or a transform, not both', path: ['mapping'] })
  .refine(oneTransform, { message: 'use transform (JSONata) or script (JavaScript), not both', path: ['script'] });
export type DatabaseSource = z.output<typeof DatabaseSourceSchema>;

const FieldKey = z.string().regex(FIELD_NAME, 'must be a field name of the schema');
/** Devices sit on private networks: unlike an API's, a device source reaches them unless told otherwise. */
const DeviceCommon = {
  ...Common,
  timeoutMs: z.number().int().min(100).max(MAX_TIMEOUT_MS).default(DEFAULT_DEVICE_TIMEOUT_MS),
  allowPrivateTargets: z.boolean().default(true),
};

const RegisterSpecSchema = z.preprocess(
  // `{field: 40001}` is `{field: {address: 40001}}`
  (v) => (typeof v === 'number' ? { address: v } : v),
  z
    .strictObject({
      /** The documented address: 4xxxx a holding register, 3xxxx an input register (see `modbus-registers.ts`). */
      address: z.number().int(),
      type: z.enum(REGISTER_TYPES).optional(),
    })
    .superRefine((r, ctx) => {
      const loc = parseRegisterAddress(r.address);
      if (typeof loc === 'string') ctx.addIssue({ code: 'custom', path: ['address'], message: loc });
      else if (loc.offset + registerWords(r.type) > 65_536) ctx.addIssue({ code: 'custom', path: ['type'], message: `a ${r.type} reads two registers: ${r.address} is the last one` });
    }),
);

/**
 * A PLC polled over Modbus TCP: its holding (4xxxx) and input (3xxxx) registers read on `schedule`, each into
 * the schema field it is keyed by; the time field is the poll's time.
 */
export const ModbusSourceSchema = z.strictObject({
  kind: z.literal('modbus_tcp'),
  host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:-]+$/, 'must be a host name or an IP address'),
  port: z.number().int().min(1).max(65_535).default(DEFAULT_MODBUS_PORT),
  /** The Modbus unit (slave) id; gateways route by it, most PLCs answer any. */
  unitId: z.number().int().min(0).max(255).default(1),
  registers: z
    .record(FieldKey, RegisterSpecSchema)
    .refine((r) => Object.keys(r).length > 0, 'name at least one register')
    .refine((r) => Object.keys(r).length <= 256, 'at most 256 registers'),
  ...DeviceCommon,
}).refine(oneTransform, { message: 'use transform (JSONata) or script (JavaScript), not both', path: ['script'] });
export type ModbusSource = z.output<typeof ModbusSourceSchema>;

/**
 * A BACnet/IP device polled for its points' present-values: `device` is the device's object-name, found by
 * Who-Is (broadcast) or at `address`; each point is an object of that device named by its object-name.
 */
export const BacnetSourceSchema = z.strictObject({
  kind: z.literal('bacnet'),
  device: z.string().min(1).max(255),
  /** `host` or `host:port` (default port 47808): asks that address instead of broadcasting Who-Is (needed in AWS: a VPC has no broadcast). */
  address: z
    .string()
    .max(260)
    .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be host or host:port')
    .refine((a) => !a.includes(':') || (Number(a.split(':')[1]) >= 1 && Number(a.split(':')[1]) <= 65_535), 'the port must be 1-65535')
    .optional(),
  /** Field → the point's object-name. */
  points: z
    .record(FieldKey, z.string().min(1).max(255))
    .refine((p) => Object.keys(p).length > 0, 'name at least one point')
    .refine((p) => Object.keys(p).length <= 256, 'at most 256 points'),
  ...DeviceCommon,
}).refine(oneTransform, { message: 'use transform (JSONata) or script (JavaScript), not both', path: ['script'] });
export type BacnetSource = z.output<typeof BacnetSourceSchema>;

/** The `source` of a pull stream. `kind` must match the stream's `type` (`modbus_tcp` and `bacnet`: an `iot_sensor`). */
export const PullSourceSchema = z.discriminatedUnion('kind', [ApiPullSourceSchema, DatabaseSourceSchema, ModbusSourceSchema, BacnetSourceSchema]);
export type PullSource = z.output<typeof PullSourceSchema>;
export type PullSourceInput = z.input<typeof PullSourceSchema>;

/**
 * The `source` checks that depend on the stream: present exactly for pull types, of the matching kind; an
 * `iot_sensor` may be polled from a device (`modbus_tcp`, `bacnet`), each register or point filling a field of
 * its schema.
 *
 * @example
 * checkSourceFits({ type: 'iot_sensor', source: undefined }, ctx); // nothing to report
 */
export function checkSourceFits(
  s: { type: string; source?: { kind: string } | undefined; schema?: Readonly<Record<string, { type: string; enum?: readonly (string | number)[] | undefined }>>; timeField?: string },
  ctx: z.RefinementCtx,
): void {
  const device = s.source !== undefined && (DEVICE_SOURCE_KINDS as readonly string[]).includes(s.source.kind);
  if (isPullType(s.type)) {
    if (!s.source) ctx.addIssue({ code: 'custom', path: ['source'], message: `a ${s.type} stream needs a source` });
    else if (s.source.kind !== s.type) ctx.addIssue({ code: 'custom', path: ['source', 'kind'], message: `must be '${s.type}' for a ${s.type} stream` });
  } else if (s.source && !(device && s.type === 'iot_sensor')) {
    ctx.addIssue({
      code: 'custom',
      path: device ? ['type'] : ['source'],
      message: device ? `a ${s.source.kind} source polls a device: the stream is an iot_sensor` : `a ${s.type} stream has no source: only api_pull and database streams, and iot_sensor streams polled from a device, pull`,
    });
  }
  if (device && s.schema) checkDeviceFields(s.source as ModbusSource | BacnetSource, s.schema, s.timeField ?? 'timestamp', ctx);
}

/** Each register or point fills a field of the schema that can take a number; the time field is the poll's. */
function checkDeviceFields(source: ModbusSource | BacnetSource, schema: NonNullable<Parameters<typeof checkSourceFits>[0]['schema']>, timeField: string, ctx: z.RefinementCtx): void {
  const key = source.kind === 'modbus_tcp' ? 'registers' : 'points';
  const what = source.kind === 'modbus_tcp' ? 'register' : 'point';
  const entries = Object.keys(source.kind === 'modbus_tcp' ? source.registers : source.points);
  for (const field of entries) {
    const spec = Object.hasOwn(schema, field) ? schema[field] : undefined;
    const refusal =
      field === timeField
        ? `'${field}' is the time field: each poll sets it to the poll's time`
        : !spec
          ? `'${field}' is not a field of the schema: each ${what} fills the schema field of its name`
          : fieldRefusal(spec, what);
    if (refusal) ctx.addIssue({ code: 'custom', path: ['source', key, field], message: refusal });
  }
}

/**
 * Every secret name a source refers to, each once.
 *
 * @example
 * secretNames(source); // ['VENDOR_TOKEN']
 */
export function secretNames(source: PullSource): string[] {
  if (source.kind === 'modbus_tcp' || source.kind === 'bacnet') return [];
  const texts = source.kind === 'api_pull' ? [source.url, ...Object.values(source.headers), JSON.stringify(source.body ?? null)] : [source.connection.user, source.connection.password];
  return [...new Set(texts.flatMap((t) => [...t.matchAll(SECRET_REF_GLOBAL)].map((m) => m[1]!)))];
}

/**
 * Replaces every `${secret:NAME}` in `text` with its value from `secrets`.
 *
 * @example
 * resolveSecretRefs('Bearer ${secret:T}', { T: 'abc' }); // 'Bearer abc'
 */
export function resolveSecretRefs(text: string, secrets: Readonly<Record<string, string>>): string {
  return text.replace(SECRET_REF_GLOBAL, (_, name: string) => secrets[name] ?? '');
}

/** Secrets shorter than this are not looked for in messages: hiding them would hide ordinary words too. */
export const MIN_REDACTED_SECRET = 4;

/**
 * `text` with every secret value, as it is and URL-encoded, replaced by `***`: for the messages a stream's
 * status and the logs keep, since a source's error may quote the URL or a header a secret was put into.
 *
 * @example
 * redactSecrets('more than 5 redirects from https://api.example/r?key=s3cr3t', { KEY: 's3cr3t' }); // '…?key=***'
 */
export function redactSecrets(text: string, secrets: Readonly<Record<string, string>>): string {
  let out = text;
  for (const value of Object.values(secrets)) {
    if (value.length < MIN_REDACTED_SECRET) continue;
    for (const form of new Set([value, encodeURIComponent(value)])) out = out.split(form).join('***');
  }
  return out;
}
