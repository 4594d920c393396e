import { fieldValue, type FieldLike } from './modbus-registers';

/**
 * BACnet points as a building's documentation names them, the fields they fill, and the records they make.
 * Pure: the reads themselves are `functions/pull/bacnet-source.ts`.
 *
 * A point is a BACnet object of the device, named by its `object-name` (`Zone1.Temperature`); a poll reads each
 * point's `present-value`. Given as a list, each point becomes the field named by the **last two segments of its
 * name, in lowerCamelCase**: `Zone1.Temperature` → `zone1Temperature`, `System.Energy.Consumption` →
 * `energyConsumption`, `System.Status` → `systemStatus` (a one-segment name is that segment: `OAT` → `oat`). Given as
 * an object `{field: "Point.Name"}`, the fields are named as written.
 *
 * | field type | the present-value becomes |
 * |---|---|
 * | `number`, `integer` | the value (a binary point's active is 1, inactive 0) |
 * | `boolean` | `true` unless 0 (a binary point's active) |
 * | `string` | a character-string value as it is; a number (a multi-state point) as the enum value at that state, 1 = the first |
 *
 * @example
 * pointFieldName('System.Energy.Consumption'); // 'energyConsumption'
 * pointValue({ type: 'string', enum: ['off', 'heating', 'cooling'] }, 2); // 'heating'
 */

/** What BACnet reads give: a REAL, an unsigned, an enumerated or a boolean as a number or a boolean, a character string as text. */
export type PointReading = number | boolean | string;

/**
 * The field a point of a list fills: its name's last two segments (split on `.`), their words (split on anything
 * but letters and digits) joined in lowerCamelCase; `_` first when it would start with a digit. `undefined` when the
 * name has no letter or digit.
 *
 * @example
 * pointFieldName('Zone1.Temperature');         // 'zone1Temperature'
 * pointFieldName('System.Energy.Consumption'); // 'energyConsumption'
 * pointFieldName('AHU-1.Supply Air Temp');     // 'ahu1SupplyAirTemp'
 */
export function pointFieldName(point: string): string | undefined {
  const segments = point.split('.').filter((s) => /[A-Za-z0-9]/.test(s));
  const words = segments.slice(-2).flatMap((s) => s.split(/[^A-Za-z0-9]+/).filter(Boolean));
  if (words.length === 0) return undefined;
  const [first, ...rest] = words as [string, ...string[]];
  // an all-capitals first word is an acronym: lowered whole (AHU → ahu), any other only at its first letter
  const head = first === first.toUpperCase() ? first.toLowerCase() : first[0]!.toLowerCase() + first.slice(1);
  const name = head + rest.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/**
 * The schema of a BACnet stream defined without one: a `number` field per point (named by `pointFieldName`, or as
 * given) and the required time field, which each poll fills with its time.
 *
 * @example
 * pointsSchema(['zone1Temperature', 'systemStatus'], 'timestamp');
 * // { zone1Temperature: { type: 'number' }, systemStatus: { type: 'number' }, timestamp: { type: 'datetime', required: true } }
 */
export function pointsSchema(fields: readonly string[], timeField: string): Record<string, { type: 'number' } | { type: 'datetime'; required: true }> {
  return Object.fromEntries([...fields.map((f) => [f, { type: 'number' as const }]), [timeField, { type: 'datetime' as const, required: true as const }]]);
}

/**
 * What a schema field makes of a point's present-value (see the table above); a reading the field cannot take is
 * left as it is, for the schema to refuse.
 *
 * @example
 * pointValue({ type: 'number' }, true);                      // 1
 * pointValue({ type: 'string', enum: ['a', 'b'] }, 1);       // 'a'
 * pointValue({ type: 'string' }, 'Occupied');                // 'Occupied'
 */
export function pointValue(spec: FieldLike, reading: PointReading): unknown {
  if (typeof reading === 'boolean') return spec.type === 'number' || spec.type === 'integer' ? (reading ? 1 : 0) : reading;
  if (typeof reading === 'string') return reading;
  // BACnet numbers a multi-state point's states from 1
  return fieldValue(spec, reading, 1);
}

/**
 * The record one poll makes: each point's present-value as its field takes it, the time field the poll's time.
 *
 * @example
 * bacnetRecord({ zone1Temperature: 21.5 }, { zone1Temperature: { type: 'number' } }, 'timestamp', Date.parse('2026-01-01T00:00:00Z'));
 * // { zone1Temperature: 21.5, timestamp: '2026-01-01T00:00:00.000Z' }
 */
export function bacnetRecord(readings: Readonly<Record<string, PointReading>>, schema: Readonly<Record<string, FieldLike>>, timeField: string, now: number): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [field, reading] of Object.entries(readings)) {
    const spec = Object.hasOwn(schema, field) ? schema[field] : undefined;
    record[field] = spec ? pointValue(spec, reading) : reading;
  }
  record[timeField] = new Date(now).toISOString();
  return record;
}
