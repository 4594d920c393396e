import * as z from 'zod';
import { DERIVE_OPS, isDeriveOp, type DeriveArgs, type DeriveOp } from './derive-ops';
import { IncompatibleTypesError, InvalidOperatorArgumentsError, UnsupportedDeriveOperatorError, UnsupportedValueTypeError, type Issue } from './errors';
import { FIELD_NAME, measureFields, STREAM_ID, type FieldType } from './stream-names';

/**
 * Derived streams and value types in a stream definition, as the datastream document's `ensure_stream` has
 * them (`derive_from`, `derive_op`, `derive_args`, `derive_backprocess`, `value_type`): the members' shapes,
 * the checks that need only the body, and the checks against the source streams once they are read.
 *
 * @example
 * const input = { name: 'Rate', type: 'iot_sensor', deriveOp: 'derivative', deriveFrom: [{ stream: 'counter', field: 'bytes' }] };
 * checkDeriveBody(input); // throws UnsupportedDeriveOperatorError for an operator the document does not define
 */

export { DERIVE_OPS, type DeriveOp } from './derive-ops';

/** The document's value types; a stream's `valueType` says what its measure fields hold. */
export const VALUE_TYPES = ['numeric', 'nominal', 'graph'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** The field a derived stream (or a stream declared by `valueType` alone) keeps its value in. */
export const VALUE_FIELD = 'value';

/** Derived streams nest at most this deep (a derived stream of a derived stream of …). */
export const MAX_DERIVE_DEPTH = 8;

/** At most this many sources: the writer reads each of them per batch and series. */
export const MAX_DERIVE_SOURCES = 16;

/** One source of a derived stream: its id, the field read (its only measure field by default), the name the operator knows it by. */
export const DeriveSourceSchema = z.strictObject({
  stream: z.string().regex(STREAM_ID, 'must be a stream id'),
  field: z.string().regex(FIELD_NAME, 'must be a field name').optional(),
  name: z.string().min(1).max(64).optional(),
});
export type DeriveSourceInput = z.output<typeof DeriveSourceSchema>;

/** A source as stored: its field resolved. */
export interface DeriveSource {
  stream: string;
  field: string;
  name?: string;
}

export const DeriveMembers = {
  deriveFrom: z.array(DeriveSourceSchema).min(1).max(MAX_DERIVE_SOURCES).optional(),
  deriveOp: z.enum(DERIVE_OPS).optional(),
  /** Checked per operator by `checkDeriveShape` (an `InvalidOperatorArguments`, not a generic 400). */
  deriveArgs: z.record(z.string(), z.unknown()).optional(),
  /** Fill the new derived stream from its sources' history (default true). Not stored. */
  deriveBackprocess: z.boolean().optional(),
  valueType: z.enum(VALUE_TYPES).optional(),
  valueTypeOptions: z.record(z.string(), z.unknown()).optional(),
};

/** What `checkDeriveShape` and `derivedShape` read of a parsed definition. */
export interface DeriveInput {
  deriveFrom?: DeriveSourceInput[] | undefined;
  deriveOp?: DeriveOp | undefined;
  deriveArgs?: Record<string, unknown> | undefined;
  valueType?: ValueType | undefined;
  schema: Record<string, { type: FieldType }>;
  timeField: string;
  dimensions: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Before the schema: an operator or value type the document does not define is its own error (400
 * `UnsupportedDeriveOperator`, `UnsupportedValueType`), not a generic bad request.
 */
export function checkDeriveBody(body: unknown): void {
  if (!isObj(body)) return;
  if (body.deriveOp !== undefined && !isDeriveOp(body.deriveOp)) {
    throw new UnsupportedDeriveOperatorError(`Unsupported derive operator ${JSON.stringify(body.deriveOp)}; the operators are ${DERIVE_OPS.join(', ')}.`, [
      { path: ['deriveOp'], message: `must be one of ${DERIVE_OPS.join(', ')}` },
    ]);
  }
  if (body.valueType !== undefined && !(VALUE_TYPES as readonly unknown[]).includes(body.valueType)) {
    throw new UnsupportedValueTypeError(`Unsupported value type ${JSON.stringify(body.valueType)}; the types are ${VALUE_TYPES.join(', ')}.`, [
      { path: ['valueType'], message: `must be one of ${VALUE_TYPES.join(', ')}` },
    ]);
  }
}

/** The checks of one operator's sources and arguments that need no source stream: an `InvalidOperatorArgumentsError` listing each. */
export function checkDeriveShape(s: DeriveInput): void {
  const issues: Issue[] = [];
  const report = (path: (string | number)[], message: string) => issues.push({ path, message });
  if ((s.deriveOp === undefined) !== (s.deriveFrom === undefined)) {
    report([s.deriveOp === undefined ? 'deriveOp' : 'deriveFrom'], 'a derived stream needs both deriveFrom and deriveOp');
  } else if (s.deriveOp === undefined) {
    if (s.deriveArgs !== undefined) report(['deriveArgs'], 'only a derived stream (deriveOp) takes deriveArgs');
  } else {
    const from = s.deriveFrom!;
    const args = s.deriveArgs ?? {};
    const allowed = s.deriveOp === 'counter_derivative' ? ['maxValue'] : [];
    for (const key of Object.keys(args)) if (!allowed.includes(key)) report(['deriveArgs', key], `${s.deriveOp} takes ${allowed.length ? allowed.join(', ') : 'no arguments'}`);
    if (args.maxValue !== undefined && !(typeof args.maxValue === 'number' && Number.isFinite(args.maxValue) && args.maxValue > 0)) report(['deriveArgs', 'maxValue'], 'must be a positive finite number');
    if (s.deriveOp === 'derivative' || s.deriveOp === 'counter_reset') {
      if (from.length !== 1) report(['deriveFrom'], `${s.deriveOp} takes exactly one source, got ${from.length}`);
    } else if (s.deriveOp === 'counter_derivative') {
      if (from.length !== 2) report(['deriveFrom'], `counter_derivative takes exactly two sources, the reset stream (name 'reset') first and the counter second; got ${from.length}`);
      else {
        if (from[0]!.name !== 'reset') report(['deriveFrom', 0, 'name'], "the first source is the reset stream: name it 'reset'");
        if (from[1]!.name !== undefined) report(['deriveFrom', 1, 'name'], 'the second source is the counter: it has no name');
      }
    }
    const seen = new Set<string>();
    from.forEach((src, i) => {
      const key = `${src.stream}.${src.field ?? ''}`;
      if (seen.has(key)) report(['deriveFrom', i], `'${src.stream}' is listed twice`);
      seen.add(key);
    });
  }
  if (issues.length) throw new InvalidOperatorArgumentsError(`Invalid derive operator arguments (${issues.map((i) => i.path.join('.')).join(', ')}).`, issues);
}

/** What a source stream must show of itself for `derivedShape`. */
export interface SourceStream {
  id: string;
  schema: Record<string, { type: FieldType }>;
  timeField: string;
  dimensions: string[];
  deriveOp?: DeriveOp | 'window';
}

const NUMERIC: ReadonlySet<FieldType> = new Set(['number', 'integer']);

/**
 * The derived stream's sources (each field resolved), its dimensions (its sources', which must be the same
 * names) and its schema (those dimensions and a `value` number), against the sources as read. A source field
 * an operator cannot take (a derivative of a string) is an `IncompatibleTypesError`.
 *
 * @example
 * const shape = derivedShape(input, [counter]); // { deriveFrom: [{ stream: 'counter', field: 'bytes' }], dimensions: ['host'], schema: { host: …, value: { type: 'number' } } }
 */
export function derivedShape(s: DeriveInput & { deriveOp: DeriveOp; deriveFrom: DeriveSourceInput[] }, sources: SourceStream[]): { deriveFrom: DeriveSource[]; dimensions: string[]; schema: Record<string, { type: FieldType }> } {
  const argIssues: Issue[] = [];
  const typeIssues: Issue[] = [];
  const deriveFrom = s.deriveFrom.map((src, i): DeriveSource => {
    const stream = sources[i]!;
    const measures = measureFields(stream);
    const field = src.field ?? (measures.length === 1 ? measures[0] : undefined);
    if (field === undefined) {
      argIssues.push({ path: ['deriveFrom', i, 'field'], message: `stream '${stream.id}' has ${measures.length} measure fields (${measures.join(', ')}): name one` });
      return { stream: src.stream, field: '', ...(src.name !== undefined && { name: src.name }) };
    }
    const spec = Object.hasOwn(stream.schema, field) && measures.includes(field) ? stream.schema[field] : undefined;
    if (!spec) argIssues.push({ path: ['deriveFrom', i, 'field'], message: `'${field}' is not a measure field of stream '${stream.id}'` });
    else {
      const resetSource = s.deriveOp === 'counter_derivative' && i === 0;
      const fits = resetSource ? NUMERIC.has(spec.type) || spec.type === 'boolean' : NUMERIC.has(spec.type);
      if (!fits) typeIssues.push({ path: ['deriveFrom', i, 'field'], message: `${s.deriveOp} needs ${resetSource ? 'a numeric or boolean' : 'a numeric'} field; '${stream.id}.${field}' is ${spec.type}` });
    }
    return { stream: src.stream, field, ...(src.name !== undefined && { name: src.name }) };
  });
  const first = sources[0]!;
  sources.forEach((src, i) => {
    const same = src.dimensions.length === first.dimensions.length && src.dimensions.every((d) => first.dimensions.includes(d));
    if (!same) argIssues.push({ path: ['deriveFrom', i, 'stream'], message: `stream '${src.id}' has dimensions [${src.dimensions.join(', ')}], '${first.id}' [${first.dimensions.join(', ')}]: a derived stream's sources have the same dimensions` });
  });
  if (s.dimensions.length > 0 && (s.dimensions.length !== first.dimensions.length || s.dimensions.some((d) => !first.dimensions.includes(d)))) {
    argIssues.push({ path: ['dimensions'], message: `a derived stream has its sources' dimensions [${first.dimensions.join(', ')}]; leave dimensions out` });
  }
  const own = Object.entries(s.schema).filter(([name]) => name !== s.timeField && !first.dimensions.includes(name));
  if (own.length > 1 || own.some(([name, spec]) => name !== VALUE_FIELD || !NUMERIC.has(spec.type))) {
    argIssues.push({ path: ['schema'], message: `a derived stream's one measure field is '${VALUE_FIELD}', a number; leave schema out or declare only that` });
  }
  if (argIssues.length) throw new InvalidOperatorArgumentsError(`Invalid derived stream (${argIssues.map((i) => i.path.join('.')).join(', ')}).`, argIssues);
  if (typeIssues.length) throw new IncompatibleTypesError(`A source's value type does not fit ${s.deriveOp} (${typeIssues.map((i) => i.path.join('.')).join(', ')}).`, typeIssues);
  const schema: Record<string, { type: FieldType }> = Object.create(null);
  for (const d of first.dimensions) schema[d] = { type: first.schema[d]?.type ?? 'string' };
  schema[VALUE_FIELD] = { ...(Object.hasOwn(s.schema, VALUE_FIELD) ? s.schema[VALUE_FIELD] : undefined), type: s.deriveOp === 'counter_reset' ? 'integer' : 'number' };
  return { deriveFrom, dimensions: [...first.dimensions], schema: { ...schema } };
}

/** The field type a stream declared by `valueType` alone keeps its `value` in. */
export const FIELD_OF_VALUE_TYPE: Readonly<Record<ValueType, FieldType>> = { numeric: 'number', nominal: 'string', graph: 'graph' };

/**
 * A stream's `valueType` against its measure fields: `numeric` ones are numbers or integers, `graph` ones
 * graphs, `nominal` ones anything but a graph.
 */
export function checkValueType(s: { valueType?: ValueType | undefined; schema: Record<string, { type: FieldType }>; timeField: string; dimensions: string[] }, report: (path: (string | number)[], message: string) => void): void {
  if (s.valueType === undefined) return;
  for (const name of measureFields(s)) {
    const type = s.schema[name]!.type;
    const fits = s.valueType === 'numeric' ? NUMERIC.has(type) : s.valueType === 'graph' ? type === 'graph' : type !== 'graph';
    if (!fits) report(['schema', name, 'type'], `a ${s.valueType} stream's measure fields are ${s.valueType === 'numeric' ? 'number or integer' : s.valueType === 'graph' ? 'graph' : 'not graph'}, not ${type}`);
  }
}

/** The operator's arguments as the writer runs them. */
export const deriveArgsOf = (s: { deriveArgs?: Record<string, unknown> }): DeriveArgs => (typeof s.deriveArgs?.maxValue === 'number' ? { maxValue: s.deriveArgs.maxValue } : {});
