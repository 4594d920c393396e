import { compileExpression } from 'filtrex';
import * as z from 'zod';
import type { Issue } from './errors';
import { canConvert, convertValue, KNOWN_UNITS } from './units';

/**
 * A stream's processing stage, the Live Data Handler's pipeline: stages run in the definition's order on
 * every record, whatever way it came (HTTPS, MQTT, pulls), before the schema's validation.
 *
 * - `filter` keeps the records that match its `rules` (all of them, or `match: "any"`) and its
 *   `expression`; the others are dropped and counted on the stream's status, not refused.
 * - `transform` applies its `operations` in order (`add-field`, with `"now()"` for the receive time;
 *   `calculate`, a formula over the record's fields; `convert`, a value from one unit into the field's
 *   declared one; `rename`; `remove`), or calls its `script`, a JavaScript `function transform(record)`
 *   run in the sandbox, which returns the record to keep (or null to drop it).
 *
 * A stage that fails on a record (a formula that cannot be computed, a script that throws or overruns its
 * budget) makes that record invalid with the stage named; the other records go on.
 *
 * @example
 * const pipeline = compilePipeline(PipelineSchema.parse([
 *   { type: 'filter', config: { rules: [{ field: 'temperature', operator: 'range', value: [-50, 150] }] } },
 *   { type: 'transform', config: { operations: [{ type: 'convert', field: 'temperature', from: 'fahrenheit' }] } },
 * ]), { temperature: { unit: 'celsius' } });
 * await pipeline.run([{ temperature: 212 }, { temperature: 900 }], { now: Date.now() });
 * // { records: [{ temperature: 100 }], origin: [0], dropped: 1, issues: [], failed: 0 }
 */

const Field = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,59}$/, 'must be a field name');
const Expression = z.string().min(1).max(1000);

const FilterRuleSchema = z.strictObject({
  field: Field,
  operator: z.enum(['range', 'gt', 'gte', 'lt', 'lte', 'eq', 'ne', 'in', 'not_in', 'exists', 'missing']),
  value: z.union([z.number(), z.string().max(256), z.boolean(), z.array(z.union([z.number(), z.string().max(256), z.boolean()])).max(256)]).optional(),
});
export type FilterRule = z.output<typeof FilterRuleSchema>;

const OperationSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('add-field'), field: Field, value: z.union([z.string().max(1000), z.number(), z.boolean()]) }),
  z.strictObject({ type: z.literal('calculate'), field: Field, formula: Expression }),
  z.strictObject({ type: z.literal('convert'), field: Field, from: z.string().min(1).max(32), to: z.string().min(1).max(32).optional() }),
  z.strictObject({ type: z.literal('rename'), field: Field, to: Field }),
  z.strictObject({ type: z.literal('remove'), field: Field }),
]);
export type Operation = z.output<typeof OperationSchema>;

const StageName = z.string().min(1).max(64).optional();

const FilterStageSchema = z.strictObject({
  name: StageName,
  type: z.literal('filter'),
  config: z
    .strictObject({
      rules: z.array(FilterRuleSchema).min(1).max(32).optional(),
      expression: Expression.optional(),
      match: z.enum(['all', 'any']).default('all'),
    })
    .refine((c) => c.rules !== undefined || c.expression !== undefined, 'a filter needs rules or an expression'),
});

const TransformStageSchema = z.strictObject({
  name: StageName,
  type: z.literal('transform'),
  config: z.union([
    z.strictObject({ operations: z.array(OperationSchema).min(1).max(64) }),
    z.strictObject({ script: z.string().min(1).max(64_000) }),
  ]),
});

export const PipelineSchema = z.array(z.discriminatedUnion('type', [FilterStageSchema, TransformStageSchema])).max(16);
export type Pipeline = z.output<typeof PipelineSchema>;
export type Stage = Pipeline[number];

/**
 * Runs a `function transform(record)` script over a batch in one sandbox: per record, what it returned or
 * what it threw; a whole-batch failure (a syntax error, the time or memory budget) is thrown.
 */
export type ScriptRunner = (source: string, records: unknown[], timeoutMs: number) => Promise<({ ok: unknown } | { error: string })[]>;

/** Time a script stage may run on a batch: like alert rules, a base plus a share per record. */
export const scriptBudgetMs = (records: number) => 250 + Math.ceil(records / 20);

/** Functions a `calculate` formula (or a filter expression) may call besides filtrex's own (abs, round, min, max, sqrt, …). */
export const FORMULA_FUNCTIONS = {
  /** NOAA's heat index (Rothfusz regression, with its adjustments) of a temperature in °C and a relative humidity in %, in °C. */
  heat_index(celsius: number, humidity: number): number {
    const t = (celsius * 9) / 5 + 32;
    const rh = humidity;
    let hi = 0.5 * (t + 61 + (t - 68) * 1.2 + rh * 0.094);
    if ((hi + t) / 2 >= 80) {
      hi = -42.379 + 2.04901523 * t + 10.14333127 * rh - 0.22475541 * t * rh - 0.00683783 * t * t - 0.05481717 * rh * rh + 0.00122874 * t * t * rh + 0.00085282 * t * rh * rh - 0.00000199 * t * t * rh * rh;
      if (rh < 13 && t >= 80 && t <= 112) hi -= ((13 - rh) / 4) * Math.sqrt((17 - Math.abs(t - 95)) / 17);
      else if (rh > 85 && t >= 80 && t <= 87) hi += ((rh - 85) / 10) * ((87 - t) / 5);
    }
    return Number((((hi - 32) * 5) / 9).toPrecision(12));
  },
  /** Dew point (Magnus formula, Alduchov–Eskridge constants) of a temperature in °C and a relative humidity in %, in °C. */
  dew_point(celsius: number, humidity: number): number {
    const a = 17.625;
    const b = 243.04;
    const g = Math.log(humidity / 100) + (a * celsius) / (b + celsius);
    return Number(((b * g) / (a - g)).toPrecision(12));
  },
};

type Report = (path: (string | number)[], message: string) => void;
type FieldUnits = Record<string, { unit?: string | undefined; type?: string }>;

const compileFormula = (text: string) => compileExpression(text, { extraFunctions: FORMULA_FUNCTIONS });

/**
 * Checks a pipeline against the stream's schema at definition time: expressions that do not compile,
 * conversions between units that are not of one quantity, fields written that the schema lacks.
 */
export function checkPipeline(pipeline: Pipeline, schema: FieldUnits, report: Report): void {
  const has = (f: string) => Object.hasOwn(schema, f);
  pipeline.forEach((stage, s) => {
    const at = (...path: (string | number)[]) => ['pipeline', s, 'config', ...path];
    if (stage.type === 'filter') {
      if (stage.config.expression !== undefined) tryCompile(stage.config.expression, at('expression'), report);
      stage.config.rules?.forEach((r, i) => checkRule(r, at('rules', i), report));
      return;
    }
    if (!('operations' in stage.config)) return;
    stage.config.operations.forEach((op, i) => {
      const path = at('operations', i);
      if (op.type === 'calculate') tryCompile(op.formula, [...path, 'formula'], report);
      if ((op.type === 'calculate' || op.type === 'add-field') && !has(op.field)) report([...path, 'field'], `'${op.field}' is not a field of the schema`);
      if (op.type === 'rename' && !has(op.to)) report([...path, 'to'], `'${op.to}' is not a field of the schema`);
      if (op.type === 'convert') {
        const to = op.to ?? (has(op.field) ? schema[op.field]!.unit : undefined);
        if (to === undefined) report([...path, 'to'], `'${op.field}' declares no unit: give the unit to convert to`);
        else if (!canConvert(op.from, to)) report([...path, 'from'], `cannot convert ${op.from} to ${to} (known units: ${KNOWN_UNITS.join(', ')})`);
      }
    });
  });
}

function tryCompile(text: string, path: (string | number)[], report: Report): void {
  try {
    compileFormula(text);
  } catch (err) {
    report(path, `does not compile: ${(err as Error).message.split('\n')[0]}`);
  }
}

function checkRule(r: FilterRule, path: (string | number)[], report: Report): void {
  const v = r.value;
  const needs = (ok: boolean, what: string) => ok || report([...path, 'value'], `the ${r.operator} operator needs ${what}`);
  if (r.operator === 'range') needs(Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number' && v[0] <= v[1], 'a value [min, max] of two numbers, min ≤ max');
  else if (r.operator === 'in' || r.operator === 'not_in') needs(Array.isArray(v), 'a list of values');
  else if (r.operator === 'exists' || r.operator === 'missing') needs(v === undefined, 'no value');
  else if (r.operator === 'eq' || r.operator === 'ne') needs(v !== undefined && !Array.isArray(v), 'one value');
  else needs(typeof v === 'number', 'a number');
}

export interface PipelineOutcome {
  /** The records that went through, transformed, in order; `origin[i]` is the batch position of `records[i]`. */
  records: unknown[];
  origin: number[];
  /** Records a filter (or a script returning null) dropped. */
  dropped: number;
  /** One issue per failed record, its index the batch position, its path the stage. */
  issues: Issue[];
  failed: number;
}

export interface CompiledPipeline {
  run(records: readonly unknown[], ctx: { now: number }): Promise<PipelineOutcome>;
}

type Row = { record: Record<string, unknown>; index: number } | { raw: unknown; index: number };
type StageFn = (rows: Row[], ctx: { now: number }, fail: (row: Row, message: string) => void) => Promise<Row[]> | Row[];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (r: Record<string, unknown>, f: string) => (Object.hasOwn(r, f) ? r[f] : undefined);

/**
 * Compiles a checked pipeline once per stream version. Records that are not objects pass through
 * untouched, for validation to refuse.
 */
export function compilePipeline(pipeline: Pipeline, schema: FieldUnits, deps: { runScript?: ScriptRunner } = {}): CompiledPipeline {
  const stages = pipeline.map((stage, s) => ({ at: s, label: stage.name ?? `pipeline[${s}] (${stage.type})`, fn: compileStage(stage, schema, deps) }));
  return {
    async run(records, ctx) {
      let rows: Row[] = records.map((r, index) => (isRecord(r) ? { record: { ...r }, index } : { raw: r, index }));
      const issues: Issue[] = [];
      const total = rows.length;
      for (const { at, label, fn } of stages) {
        const failed = new Set<Row>();
        const fail = (row: Row, message: string) => {
          failed.add(row);
          issues.push({ index: row.index, path: ['pipeline', at], message: `stage '${label}': ${message}` });
        };
        const kept = await fn(rows, ctx, fail);
        rows = failed.size ? kept.filter((r) => !failed.has(r)) : kept;
      }
      const dropped = total - rows.length - issues.length;
      issues.sort((a, b) => a.index! - b.index!);
      return { records: rows.map((r) => ('record' in r ? r.record : r.raw)), origin: rows.map((r) => r.index), dropped, issues, failed: issues.length };
    },
  };
}

function compileStage(stage: Stage, schema: FieldUnits, deps: { runScript?: ScriptRunner }): StageFn {
  if (stage.type === 'filter') {
    const tests = (stage.config.rules ?? []).map(ruleTest);
    const expression = stage.config.expression === undefined ? undefined : compileFormula(stage.config.expression);
    const any = stage.config.match === 'any';
    return (rows) =>
      rows.filter((row) => {
        if (!('record' in row)) return true;
        const r = row.record;
        const byRules = tests.length === 0 || (any ? tests.some((t) => t(r)) : tests.every((t) => t(r)));
        if (!expression) return byRules;
        const v: unknown = expression(r);
        return byRules && !(v instanceof Error) && Boolean(v);
      });
  }
  const config = stage.config;
  if ('script' in config) {
    return async (rows, _ctx, fail) => {
      if (!deps.runScript) throw new Error('no script runner for a script stage');
      const objects = rows.filter((r): r is Extract<Row, { record: unknown }> => 'record' in r);
      if (objects.length === 0) return rows;
      let answers: ({ ok: unknown } | { error: string })[];
      try {
        answers = await deps.runScript(config.script, objects.map((r) => r.record), scriptBudgetMs(objects.length));
      } catch (err) {
        for (const r of objects) fail(r, (err as Error).message);
        return rows;
      }
      const out = new Map<Row, Row | undefined>();
      objects.forEach((row, i) => {
        const a = answers[i];
        if (!a) fail(row, 'the script returned no answer for this record');
        else if ('error' in a) fail(row, `the script threw: ${a.error}`);
        else if (a.ok === null) out.set(row, undefined);
        else if (!isRecord(a.ok)) fail(row, 'the script must return the record (an object) or null to drop it');
        else out.set(row, { record: a.ok, index: row.index });
      });
      return rows.flatMap((r) => (out.has(r) ? (out.get(r) ? [out.get(r)!] : []) : [r]));
    };
  }
  const ops = config.operations.map((op) => compileOperation(op, schema));
  return (rows, ctx, fail) => {
    for (const row of rows) {
      if (!('record' in row)) continue;
      for (const op of ops) {
        const problem = op(row.record, ctx);
        if (problem) {
          fail(row, problem);
          break;
        }
      }
    }
    return rows;
  };
}

function ruleTest(rule: FilterRule): (r: Record<string, unknown>) => boolean {
  const { field, operator, value } = rule;
  const num = (r: Record<string, unknown>) => {
    const v = own(r, field);
    return typeof v === 'number' ? v : undefined;
  };
  switch (operator) {
    case 'range': {
      const [min, max] = value as [number, number];
      return (r) => {
        const v = num(r);
        return v !== undefined && v >= min && v <= max;
      };
    }
    case 'gt':
      return (r) => (num(r) ?? Number.NaN) > (value as number);
    case 'gte':
      return (r) => (num(r) ?? Number.NaN) >= (value as number);
    case 'lt':
      return (r) => (num(r) ?? Number.NaN) < (value as number);
    case 'lte':
      return (r) => (num(r) ?? Number.NaN) <= (value as number);
    case 'eq':
      return (r) => own(r, field) === value;
    case 'ne':
      return (r) => own(r, field) !== value;
    case 'in':
      return (r) => (value as unknown[]).includes(own(r, field));
    case 'not_in':
      return (r) => !(value as unknown[]).includes(own(r, field));
    case 'exists':
      return (r) => own(r, field) !== undefined && own(r, field) !== null;
    case 'missing':
      return (r) => own(r, field) === undefined || own(r, field) === null;
  }
}

type OperationFn = (r: Record<string, unknown>, ctx: { now: number }) => string | undefined;

function compileOperation(op: Operation, schema: FieldUnits): OperationFn {
  switch (op.type) {
    case 'add-field': {
      const now = typeof op.value === 'string' && op.value.trim() === 'now()';
      return (r, ctx) => {
        r[op.field] = now ? new Date(ctx.now).toISOString() : op.value;
        return undefined;
      };
    }
    case 'calculate': {
      const formula = compileFormula(op.formula);
      return (r) => {
        const v: unknown = formula(r);
        if (v instanceof Error) return `${op.field}: ${v.message}`;
        if (typeof v === 'number' && !Number.isFinite(v)) return `${op.field}: the formula gave ${v} (a field it needs is missing or not a number)`;
        if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') return `${op.field}: the formula gave no value`;
        r[op.field] = v;
        return undefined;
      };
    }
    case 'convert': {
      const to = op.to ?? schema[op.field]!.unit!;
      return (r) => {
        const v = own(r, op.field);
        if (v === undefined || v === null) return undefined;
        if (typeof v !== 'number' || !Number.isFinite(v)) return `${op.field}: a ${op.from} value must be a number to convert to ${to}`;
        r[op.field] = convertValue(v, op.from, to);
        return undefined;
      };
    }
    case 'rename':
      return (r) => {
        if (Object.hasOwn(r, op.field)) {
          r[op.to] = r[op.field];
          delete r[op.field];
        }
        return undefined;
      };
    case 'remove':
      return (r) => {
        delete r[op.field];
        return undefined;
      };
  }
}
