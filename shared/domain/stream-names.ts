import type * as z from 'zod';
import type { Issue } from './errors';

/**
 * The names a stream is made of and the helpers every function uses on them, apart from the definition
 * parser (`stream-definition.ts`): a function that only checks an id or lists measure fields bundles this
 * module, not JSONata and croner, which the parser needs for alert expressions, transforms and schedules.
 */

/** Field names become Timestream dimension or measure names and SQL identifiers: keep them plain. */
export const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,59}$/;
/** Stream ids appear in MQTT topics, URLs and Timestream dimension values. */
export const STREAM_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Names Timestream or Tributary use themselves. */
export const RESERVED_FIELDS = new Set(['time', 'measure_name', 'stream_id', 'measure_value']);
export const MAX_DIMENSIONS = 127; // Timestream allows 128, one is stream_id
export const MAX_MEASURES = 256; // Timestream multi-measure limit

export const FIELD_TYPES = ['number', 'integer', 'string', 'boolean', 'datetime', 'object', 'array', 'graph'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
export const STREAM_TYPES = ['iot_sensor', 'api_pull', 'event_stream', 'database'] as const;
export type StreamType = (typeof STREAM_TYPES)[number];
export type ValidationMode = 'strict' | 'lenient';

export const PULL_STREAM_TYPES = ['api_pull', 'database'] as const;
export type PullStreamType = (typeof PULL_STREAM_TYPES)[number];

/** The sources that poll a device on the stream's network; an `iot_sensor` stream may have one. */
export const DEVICE_SOURCE_KINDS = ['modbus_tcp', 'bacnet'] as const;
export type DeviceSourceKind = (typeof DEVICE_SOURCE_KINDS)[number];

/** Whether a stream of this type must (and may) have a `source` (an `iot_sensor` may have a device source). */
export const isPullType = (type: string): type is PullStreamType => (PULL_STREAM_TYPES as readonly string[]).includes(type);


/** The measure fields of a stream: every schema field but the time field and the dimensions. */
export function measureFields(stream: { schema: object; timeField: string; dimensions: readonly string[] }): string[] {
  return Object.keys(stream.schema).filter((n) => n !== stream.timeField && !stream.dimensions.includes(n));
}

/** Turns zod issues into Tributary issues that keep the field path. */
export function toIssues(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    // zod reports a bad record key as "Invalid key in record"; the key schema's own message says what to fix
    message: i.code === 'invalid_key' ? (i.issues[0]?.message ?? i.message) : i.message,
  }));
}

/** A ticket system the deployment names in its settings (`alerts.ticketSystems`, `TRIBUTARY_TICKET_SYSTEM_<NAME>`). */
export const TICKET_SYSTEM_NAME = /^[a-z][a-z0-9_]{0,63}$/;
