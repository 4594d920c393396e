import { checkDashboards, DashboardsSchema, type Dashboard } from './dashboards';
import * as z from 'zod';
import { checkRuleCosts } from './alert-rule-cost';
import { AlertRulesSchema, AlertThresholdsSchema, checkAlertRules, checkAlertThresholds, mergeRules, type AlertRule } from './alert-rules';
import { BadRequestError, StreamConflictError, type Issue } from './errors';
import { HighestGranularitySchema, type HighestGranularity } from './rollup-levels';
import { ValueDownsamplersSchema, type ValueDownsampler } from './value-downsampler-names';
import { FIELD_NAME, FIELD_TYPES, MAX_DIMENSIONS, MAX_MEASURES, measureFields, RESERVED_FIELDS, STREAM_ID, STREAM_TYPES, toIssues, type FieldType, type StreamType, type ValidationMode } from './stream-names';
import { DefaultQuerySchema, NamedAggregationsSchema, NUMERIC_DOWNSAMPLERS, type DefaultQuery, type NamedAggregation } from './granularity';
import { findUnsafeJson } from './json-safety';
import { checkReservedTags, TagsSchema, type Tags } from './stream-tags';
import { checkPipeline, PipelineSchema, type Pipeline } from './pipeline';
import { checkSourceFits, PullSourceSchema, type PullSource } from './pull-source';
import { MqttFormatSchema, type MqttFormat } from './mqtt-format';
import { SubscriptionSchema, type Subscription } from './subscription';
import { assignFieldNumbers, fieldNumbersOf, protoFieldNames } from './stream-proto';
import { checkDeriveBody, checkDeriveShape, checkValueType, DeriveMembers, FIELD_OF_VALUE_TYPE, VALUE_FIELD, type DeriveOp, type DeriveSource, type ValueType } from './derive-definition';
import { checkWindows, withStreamIds, WindowsSchema, type WindowDef } from './window-streams';
import { checkSections, DeviceInputSchema, EventTypesSchema, VaultIdSchema, WebhookSchema, type Device, type EventTypes, type Webhook } from './stream-sections';

/**
 * Stream definitions: what a client sends to create or change a stream, and the stored form.
 *
 * @example
 * const input = parseStreamInput({
 *   name: 'Freezers',
 *   type: 'iot_sensor',
 *   schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number', unit: '°C' } },
 *   dimensions: ['deviceId'],
 * });
 */

// the names and helpers every function needs live in a module of their own: importing them from here would
// bundle the whole definition parser (JSONata, croner) into functions that never parse a definition
export { FIELD_NAME, FIELD_TYPES, MAX_DIMENSIONS, MAX_MEASURES, measureFields, RESERVED_FIELDS, STREAM_ID, STREAM_TYPES, toIssues } from './stream-names';
export type { FieldType, StreamType, ValidationMode } from './stream-names';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const FieldSpecSchema = z
  .strictObject({
    type: z.enum(FIELD_TYPES),
    unit: z.string().min(1).max(32).optional(),
    description: z.string().max(512).optional(),
    range: z
      .strictObject({ min: finite.optional(), max: finite.optional() })
      .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'range.min must not exceed range.max')
      .optional(),
    enum: z
      .array(z.union([z.string().max(2048), finite]))
      .min(1)
      .max(1024)
      .optional(),
    required: z.boolean().optional(),
    maxLength: z.number().int().positive().max(2048).optional(),
  })
  .superRefine((f, ctx) => {
    if (f.range && f.type !== 'number' && f.type !== 'integer') {
      ctx.addIssue({ code: 'custom', path: ['range'], message: `range applies to number and integer fields, not ${f.type}` });
    }
    if (f.enum) {
      const want = f.type === 'string' ? 'string' : f.type === 'number' || f.type === 'integer' ? 'number' : undefined;
      if (!want) ctx.addIssue({ code: 'custom', path: ['enum'], message: `enum applies to string, number and integer fields, not ${f.type}` });
      else if (f.enum.some((v) => typeof v !== want)) ctx.addIssue({ code: 'custom', path: ['enum'], message: `every enum value must be a ${want}` });
    }
  });
export type FieldSpec = z.infer<typeof FieldSpecSchema>;

/** Paths under `/v1/streams/` that are routes, not stream ids. */
const ROUTE_WORDS: ReadonlySet<string> = new Set(['data', 'ensure', 'backprocess', 'downsample']);

const FieldName = z.string().regex(FIELD_NAME, 'must start with a letter or _, then letters, digits or _, at most 60 characters');
export { TAG_KEY } from './stream-tags';
export type { Tags, TagValue } from './stream-tags';

const CreateShape = z.strictObject({
  id: z
    .string()
    .regex(STREAM_ID, 'must be 1-64 of a-z 0-9 _ - and start with a letter or digit')
    // POST /v1/streams/data, /v1/streams/ensure, /v1/streams/backprocess and /v1/streams/downsample are routes of their own
    .refine((id) => !ROUTE_WORDS.has(id), { message: `must not be ${[...ROUTE_WORDS].slice(0, -1).join(', ')} or ${[...ROUTE_WORDS].at(-1)}: those are routes under /v1/streams` })
    .optional(),
  name: z.string().trim().min(1).max(128),
  description: z.string().max(1024).optional(),
  type: z.enum(STREAM_TYPES),
  schema: z.record(FieldName, FieldSpecSchema).default({}),
  /**
   * The records' own fields extend the schema: a field not in it is added, typed by its first value (a
   * number, string, boolean, object or array), and later records must keep that type. For sources whose
   * fields are not known beforehand; the documents' definitions without a schema get it.
   */
  learnSchema: z.boolean().optional(),
  timeField: FieldName.default('timestamp'),
  dimensions: z.array(FieldName).max(MAX_DIMENSIONS).default([]),
  tags: TagsSchema.default({}),
  validation: z.enum(['strict', 'lenient']).default('strict'),
  /** Where an `api_pull` or `database` stream pulls from, and when (see `pull-source.ts`). */
  source: PullSourceSchema.optional(),
  /** Alert rules (`alert-rules.ts`); `alertThresholds` is the legacy shorthand, folded into `alerts`. */
  alerts: AlertRulesSchema.optional(),
  alertThresholds: AlertThresholdsSchema.optional(),
  /** The sections of `stream-sections.ts` and the default query (`granularity.ts`). */
  vaultId: VaultIdSchema.optional(),
  webhook: WebhookSchema.optional(),
  device: DeviceInputSchema.optional(),
  /** `iot_sensor` only: topics of another MQTT broker this stream takes its records from (`subscription.ts`). */
  subscription: SubscriptionSchema.optional(),
  /** The format of the stream's MQTT payloads (`mqtt-format.ts`); JSON unless given. */
  mqttFormat: MqttFormatSchema.optional(),
  eventTypes: EventTypesSchema.optional(),
  defaultQuery: DefaultQuerySchema.optional(),
  /** The finest resolution the stream's data will have (the document's `highest_granularity`): stored rollup levels finer than it are skipped (`rollup-levels.ts`). Fixed once created. */
  highestGranularity: HighestGranularitySchema.optional(),
  /** The value downsamplers queries may ask of it (the document's `value_downsamplers`); any of them when absent. */
  valueDownsamplers: ValueDownsamplersSchema.optional(),
  /** The processing stage (`pipeline.ts`): filters and transforms run on every record before validation. */
  pipeline: PipelineSchema.optional(),
  /** Named aggregations, answered by `GET …/data?aggregation=NAME`. */
  aggregations: NamedAggregationsSchema.optional(),
  /** Saved dashboards (`dashboards.ts`), as the Data Streams document writes them; the web dashboard renders them. */
  dashboards: DashboardsSchema.optional(),
  /** Continuous windows (`window-streams.ts`): each is a stream of its own, computed by the writer as data arrives. */
  windows: WindowsSchema.optional(),
  /** A derived stream (`derive-definition.ts`): computed by the writer from its sources, never appended to; and the document's value type. */
  ...DeriveMembers,
});

/** What `POST /v1/streams` accepts. */
export const StreamInputSchema = CreateShape.superRefine((s, ctx) => checkCoherence(s, ctx));
export type StreamInput = z.output<typeof StreamInputSchema>;

/** What `PATCH /v1/streams/{id}` accepts: fields may be added, never retyped or removed. */
export const StreamPatchSchema = z.strictObject({
  name: z.string().trim().min(1).max(128).optional(),
  description: z.string().max(1024).optional(),
  schema: z.record(FieldName, FieldSpecSchema).optional(),
  /** `false` freezes a learned schema: fields it does not have are refused again. */
  learnSchema: z.boolean().optional(),
  tags: TagsSchema.optional(),
  validation: z.enum(['strict', 'lenient']).optional(),
  /** Replaces a pull stream's source as a whole. */
  source: PullSourceSchema.optional(),
  /** Replaces every alert rule (the shorthand's rules included). */
  alerts: AlertRulesSchema.optional(),
  alertThresholds: AlertThresholdsSchema.optional(),
  vaultId: VaultIdSchema.optional(),
  webhook: WebhookSchema.optional(),
  /** Replaces the device as a whole. */
  device: DeviceInputSchema.optional(),
  /** Replaces the subscription as a whole. */
  subscription: SubscriptionSchema.optional(),
  mqttFormat: MqttFormatSchema.optional(),
  defaultQuery: DefaultQuerySchema.optional(),
  /** Replaces the processing stage as a whole; `[]` removes it. */
  pipeline: PipelineSchema.optional(),
  /** Replaces the named aggregations as a whole; `[]` removes them. */
  aggregations: NamedAggregationsSchema.optional(),
  /** Replaces the saved dashboards as a whole; `[]` removes them. */
  dashboards: DashboardsSchema.optional(),
});
export type StreamPatch = z.output<typeof StreamPatchSchema>;

export type StreamState = 'active' | 'paused';

/** A stream as stored and returned by the API. */
export interface Stream {
  id: string;
  name: string;
  description?: string;
  type: StreamType;
  schema: Record<string, FieldSpec>;
  /** The records' new fields extend the schema (the writer adds them); absent: the schema is as declared. */
  learnSchema?: true;
  timeField: string;
  dimensions: string[];
  /** Any JSON value under each key (`stream-tags.ts`); never a reserved name. */
  tags: Tags;
  validation: ValidationMode;
  /** Pull streams only: where and when records are pulled. */
  source?: PullSource;
  /** Alert rules, the legacy `alertThresholds` already mapped onto them; absent when the stream has none. */
  alerts?: AlertRule[];
  /** The vault the stream belongs to. */
  vaultId?: string;
  /** `event_stream` only: how its webhook sender signs (the secret as a reference). */
  webhook?: Webhook;
  /** `iot_sensor` only: its device (a password only as a hash, set by the streams function). */
  device?: Device;
  /** `iot_sensor` only: the other broker's topics this stream subscribes to. */
  subscription?: Subscription;
  /** The format of its MQTT payloads; JSON when absent. */
  mqttFormat?: MqttFormat;
  /** `event_stream` only: the event types, the record's `eventType` naming one. */
  eventTypes?: EventTypes;
  /** What `GET …/data` answers without a granularity; raw points when absent. */
  defaultQuery?: DefaultQuery;
  /** The finest resolution of its data: rollup levels finer than it are not stored. All levels when absent. */
  highestGranularity?: HighestGranularity;
  /** The value downsamplers `GET …/data?valueDownsamplers=` may ask of it; all of them when absent. */
  valueDownsamplers?: ValueDownsampler[];
  /** The processing stage, run on every record before validation; absent when the stream has none. */
  pipeline?: Pipeline;
  /** Named aggregations, answered by `GET …/data?aggregation=NAME`; absent when the stream has none. */
  aggregations?: NamedAggregation[];
  /** Saved dashboards; absent when the stream has none. */
  dashboards?: Dashboard[];
  /** A derived stream's sources (each field resolved) and operator (`derive-definition.ts`); absent on a stream records are appended to. */
  deriveFrom?: DeriveSource[];
  /** `window` for a window stream (`window-streams.ts`): made by the streams function with its source, never by a client. */
  deriveOp?: DeriveOp | 'window';
  deriveArgs?: Record<string, unknown>;
  /** The derived streams computed from this one (kept by the streams function): the writer feeds them, a delete waits for them. */
  derivedBy?: string[];
  /** Continuous windows (`window-streams.ts`), each with the id of the stream its points are written to. */
  windows?: WindowDef[];
  /** The document's value type of the measure fields (`numeric`, `nominal`, `graph`) and its options; absent: as the schema types them. */
  valueType?: ValueType;
  valueTypeOptions?: Record<string, unknown>;
  state: StreamState;
  createdAt: string;
  updatedAt: string;
  /** Increases on every change; compiled validators are cached by (id, version). */
  version: number;
  /** The protobuf field number of each schema field, never changed once given (see `stream-proto.ts`). */
  fieldNumbers?: Record<string, number>;
}

function checkCoherence(s: z.output<typeof CreateShape>, ctx: z.RefinementCtx): void {
  checkSourceFits(s, ctx);
  const names = Object.keys(s.schema);
  // a derived stream's schema comes from its sources, a value type's from the type (`newStream`)
  if (names.length === 0 && !s.learnSchema && s.deriveOp === undefined && s.valueType === undefined) ctx.addIssue({ code: 'custom', path: ['schema'], message: 'a stream needs at least one field, or learnSchema: true to take its fields from its records' });
  for (const name of names) {
    // Timestream reserves these names and prefixes for its own columns
    if (RESERVED_FIELDS.has(name) || name.startsWith('measure_') || name.startsWith('ts_') || name === '__proto__') {
      ctx.addIssue({ code: 'custom', path: ['schema', name], message: `'${name}' is reserved by the store` });
    }
  }
  const own = (name: string) => (Object.hasOwn(s.schema, name) ? s.schema[name] : undefined);
  const timeSpec = own(s.timeField);
  if (timeSpec && timeSpec.type !== 'datetime') {
    ctx.addIssue({ code: 'custom', path: ['schema', s.timeField], message: `the time field '${s.timeField}' must have type datetime` });
  }
  const seen = new Set<string>();
  s.dimensions.forEach((d, i) => {
    const spec = own(d);
    if (seen.has(d)) ctx.addIssue({ code: 'custom', path: ['dimensions', i], message: `'${d}' is listed twice` });
    seen.add(d);
    // a stream that learns its schema has its dimensions as string fields from the start (`newStream`)
    if (!spec && !s.learnSchema) ctx.addIssue({ code: 'custom', path: ['dimensions', i], message: `'${d}' is not a field of the schema` });
    else if (spec && spec.type !== 'string' && spec.type !== 'integer' && spec.type !== 'boolean') {
      ctx.addIssue({ code: 'custom', path: ['dimensions', i], message: `dimension '${d}' must be a string, integer or boolean field` });
    }
    if (d === s.timeField) ctx.addIssue({ code: 'custom', path: ['dimensions', i], message: 'the time field cannot be a dimension' });
  });
  const report = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (s.alerts) checkAlertRules(s.alerts, s.schema, ['alerts'], report);
  if (s.alerts) checkRuleCosts(s.alerts, ['alerts'], report);
  if (s.alertThresholds) checkAlertThresholds(s.alertThresholds, s.schema, report);
  checkSections(s, report);
  if (s.subscription !== undefined && s.type !== 'iot_sensor') report(['subscription'], `a ${s.type} stream has no subscription: only iot_sensor streams subscribe to a broker`);
  if (s.pipeline) checkPipeline(s.pipeline, s.schema, report);
  if (s.aggregations) checkAggregations(s.aggregations, s, report);
  if (s.dashboards) checkDashboards(s.dashboards, s, report);
  if (s.windows) checkWindows(s.windows, s, report);
  if (s.windows?.length && s.deriveOp !== undefined) report(['windows'], 'a derived stream has no windows of its own: give them to its source');
  checkValueType(s, report);
  const measures = names.filter((n) => n !== s.timeField && !seen.has(n)).length;
  if (measures > MAX_MEASURES) ctx.addIssue({ code: 'custom', path: ['schema'], message: `at most ${MAX_MEASURES} measure fields` });
}

/** Each named aggregation reads measure fields of the schema (numeric ones for numeric downsamplers); names are unique. */
function checkAggregations(aggregations: NamedAggregation[], s: { schema: Record<string, FieldSpec>; timeField: string; dimensions: string[] }, report: (path: (string | number)[], message: string) => void): void {
  const names = new Set<string>();
  aggregations.forEach((a, i) => {
    if (names.has(a.name)) report(['aggregations', i, 'name'], `'${a.name}' is named twice`);
    names.add(a.name);
    const numeric = a.downsamplers.some((d) => NUMERIC_DOWNSAMPLERS.has(d));
    a.fields.forEach((f, j) => {
      const spec = Object.hasOwn(s.schema, f) ? s.schema[f] : undefined;
      if (!spec || f === s.timeField || s.dimensions.includes(f)) report(['aggregations', i, 'fields', j], `'${f}' is not a measure field of the schema`);
      else if (numeric && spec.type !== 'number' && spec.type !== 'integer') report(['aggregations', i, 'fields', j], `'${f}' is a ${spec.type} field: ${a.downsamplers.join(', ')} need numbers`);
    });
  });
}

function parseWith<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  // before zod, which drops a `__proto__` key unseen; a lone surrogate would not survive storage
  const unsafe = findUnsafeJson(body);
  if (unsafe) throw new BadRequestError(`Invalid ${what}.`, [unsafe]);
  checkReservedTags((body as { tags?: unknown } | null)?.tags, ['tags']);
  const r = schema.safeParse(body);
  if (!r.success) throw new BadRequestError(`Invalid ${what}.`, toIssues(r.error));
  return r.data;
}

/** Parses a stream creation body or throws a `BadRequestError` listing every problem with its path. */
export function parseStreamInput(body: unknown): StreamInput {
  checkDeriveBody(body);
  const input = parseWith(StreamInputSchema, body, 'stream definition');
  checkDeriveShape(input);
  return input;
}

/** Parses a stream patch body or throws a `BadRequestError`. */
export function parseStreamPatch(body: unknown): StreamPatch {
  return parseWith(StreamPatchSchema, body, 'stream patch');
}

/**
 * Applies a patch: new fields may be added (never required, since stored records lack them); existing
 * fields keep their type. Returns the stream with `version` bumped.
 */
export function applyPatch(stream: Stream, patch: StreamPatch, now: Date): Stream {
  const schema = { ...stream.schema };
  for (const [name, spec] of Object.entries(patch.schema ?? {})) {
    const old = schema[name];
    if (old && old.type !== spec.type) {
      throw new StreamConflictError(`Field '${name}' is ${old.type}; a field's type cannot change.`);
    }
    if (!old && spec.required) {
      throw new BadRequestError('Invalid stream patch.', [
        { path: ['schema', name, 'required'], message: 'a field added to an existing stream cannot be required' },
      ]);
    }
    schema[name] = spec;
  }
  const next: Stream = {
    ...stream,
    ...(patch.name !== undefined && { name: patch.name }),
    ...(patch.description !== undefined && { description: patch.description }),
    ...(patch.tags !== undefined && { tags: patch.tags }),
    ...(patch.validation !== undefined && { validation: patch.validation }),
    ...(patch.learnSchema === true && { learnSchema: true as const }),
    ...(patch.source !== undefined && { source: patch.source }),
    ...((patch.alerts !== undefined || patch.alertThresholds !== undefined) && { alerts: mergeRules(patch.alerts, patch.alertThresholds) }),
    ...(patch.vaultId !== undefined && { vaultId: patch.vaultId }),
    ...(patch.webhook !== undefined && { webhook: patch.webhook }),
    ...(patch.device !== undefined && { device: storedDevice(patch.device) }),
    ...(patch.subscription !== undefined && { subscription: patch.subscription }),
    ...(patch.mqttFormat !== undefined && { mqttFormat: patch.mqttFormat }),
    ...(patch.defaultQuery !== undefined && { defaultQuery: patch.defaultQuery }),
    ...(patch.pipeline !== undefined && { pipeline: patch.pipeline }),
    ...(patch.aggregations !== undefined && { aggregations: patch.aggregations }),
    ...(patch.dashboards !== undefined && { dashboards: patch.dashboards }),
    schema,
    fieldNumbers: assignFieldNumbers(fieldNumbersOf(stream), protoFieldNames({ schema, timeField: stream.timeField })),
    updatedAt: now.toISOString(),
    version: stream.version + 1,
  };
  if (patch.learnSchema === false) delete next.learnSchema;
  if (next.pipeline?.length === 0) delete next.pipeline;
  if (next.aggregations?.length === 0) delete next.aggregations;
  if (next.dashboards?.length === 0) delete next.dashboards;
  parseWith(StreamInputSchema, toInput(next), 'stream patch');
  return next;
}

function toInput(s: Stream): z.input<typeof CreateShape> {
  return {
    id: s.id,
    name: s.name,
    ...(s.description !== undefined && { description: s.description }),
    type: s.type,
    schema: s.schema,
    ...(s.learnSchema && { learnSchema: true }),
    timeField: s.timeField,
    dimensions: s.dimensions,
    tags: s.tags,
    validation: s.validation,
    ...(s.source !== undefined && { source: s.source }),
    ...(s.alerts !== undefined && { alerts: s.alerts }),
    ...(s.vaultId !== undefined && { vaultId: s.vaultId }),
    ...(s.webhook !== undefined && { webhook: s.webhook }),
    // the stored device's password is a hash, checked when it was set: only its kind is checked again
    ...(s.device !== undefined && { device: { protocol: s.device.protocol } }),
    ...(s.subscription !== undefined && { subscription: s.subscription }),
    ...(s.mqttFormat !== undefined && { mqttFormat: s.mqttFormat }),
    ...(s.eventTypes !== undefined && { eventTypes: s.eventTypes }),
    ...(s.defaultQuery !== undefined && { defaultQuery: s.defaultQuery }),
    ...(s.highestGranularity !== undefined && { highestGranularity: s.highestGranularity }),
    ...(s.valueDownsamplers !== undefined && { valueDownsamplers: s.valueDownsamplers }),
    ...(s.pipeline !== undefined && { pipeline: s.pipeline }),
    ...(s.aggregations !== undefined && { aggregations: s.aggregations }),
    ...(s.dashboards !== undefined && { dashboards: s.dashboards }),
    // a window stream's (and a source's windows) were checked when its source was created, and cannot change
    ...(s.deriveFrom !== undefined && s.deriveOp !== 'window' && { deriveFrom: s.deriveFrom }),
    ...(s.deriveOp !== undefined && s.deriveOp !== 'window' && { deriveOp: s.deriveOp }),
    ...(s.deriveArgs !== undefined && s.deriveOp !== 'window' && { deriveArgs: s.deriveArgs }),
    ...(s.valueType !== undefined && { valueType: s.valueType }),
    ...(s.valueTypeOptions !== undefined && { valueTypeOptions: s.valueTypeOptions }),
  };
}

/** The device without its password: the streams function adds the password's hash. */
function storedDevice(device: z.output<typeof DeviceInputSchema>): Device {
  const { credentials: _password, ...rest } = device;
  return rest;
}

/**
 * Builds a new stream from its input. The id is the client's, or a slug of the name plus a random suffix.
 *
 * @example
 * const stream = newStream(input, new Date(), () => 'k3x9qa');
 */
export function newStream(input: StreamInput, now: Date, randomSuffix: () => string): Stream {
  const slug =
    input.name
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'stream';
  const id = input.id ?? `${slug}-${randomSuffix()}`;
  const at = now.toISOString();
  // a stream declared by its value type alone keeps its value in one field of that type
  const typed = Object.keys(input.schema).length === 0 && input.valueType !== undefined && input.deriveOp === undefined && !input.learnSchema;
  const schema = typed ? { [VALUE_FIELD]: { type: FIELD_OF_VALUE_TYPE[input.valueType!] } } : input.schema;
  return {
    id,
    name: input.name,
    ...(input.description !== undefined && { description: input.description }),
    type: input.type,
    schema: input.learnSchema ? { ...Object.fromEntries(input.dimensions.map((d) => [d, { type: 'string' as const }])), ...input.schema } : schema,
    ...(input.learnSchema && { learnSchema: true as const }),
    timeField: input.timeField,
    dimensions: input.dimensions,
    tags: input.tags,
    validation: input.validation,
    ...(input.source !== undefined && { source: input.source }),
    ...((input.alerts !== undefined || input.alertThresholds !== undefined) && { alerts: mergeRules(input.alerts, input.alertThresholds) }),
    ...(input.vaultId !== undefined && { vaultId: input.vaultId }),
    ...(input.webhook !== undefined && { webhook: input.webhook }),
    ...(input.device !== undefined && { device: storedDevice(input.device) }),
    ...(input.subscription !== undefined && { subscription: input.subscription }),
    ...(input.mqttFormat !== undefined && { mqttFormat: input.mqttFormat }),
    ...(input.eventTypes !== undefined && { eventTypes: input.eventTypes }),
    ...(input.defaultQuery !== undefined && { defaultQuery: input.defaultQuery }),
    ...(input.highestGranularity !== undefined && { highestGranularity: input.highestGranularity }),
    ...(input.valueDownsamplers !== undefined && { valueDownsamplers: input.valueDownsamplers }),
    ...(input.pipeline !== undefined && input.pipeline.length > 0 && { pipeline: input.pipeline }),
    ...(input.aggregations !== undefined && input.aggregations.length > 0 && { aggregations: input.aggregations }),
    ...(input.dashboards !== undefined && input.dashboards.length > 0 && { dashboards: input.dashboards }),
    ...(input.windows !== undefined && input.windows.length > 0 && { windows: withStreamIds(id, checkWindows(input.windows, input, () => {})) }),
    ...(input.deriveFrom !== undefined && { deriveFrom: input.deriveFrom.map((src) => ({ ...src, field: src.field ?? VALUE_FIELD })) }),
    ...(input.deriveOp !== undefined && { deriveOp: input.deriveOp }),
    ...(input.deriveArgs !== undefined && { deriveArgs: input.deriveArgs }),
    ...(input.valueType !== undefined && { valueType: input.valueType }),
    ...(input.valueTypeOptions !== undefined && { valueTypeOptions: input.valueTypeOptions }),
    state: 'active',
    createdAt: at,
    updatedAt: at,
    version: 1,
    fieldNumbers: assignFieldNumbers(undefined, protoFieldNames({ ...input, schema })),
  };
}
