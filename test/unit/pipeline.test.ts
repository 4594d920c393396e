import { describe, expect, it } from 'vitest';
import { checkPipeline, compilePipeline, FORMULA_FUNCTIONS, PipelineSchema, type ScriptRunner } from '../../shared/domain/pipeline';
import { canConvert, convertValue } from '../../shared/domain/units';
import { runScriptPerRecord } from '../../functions/commons/js-sandbox';

const schema = {
  temperature: { type: 'number', unit: 'celsius' },
  humidity: { type: 'number', unit: 'percent' },
  heat_index: { type: 'number', unit: 'celsius' },
  timestamp: { type: 'datetime' },
  site: { type: 'string' },
};
const NOW = Date.parse('2026-12-03T12:00:00Z');
const runScript: ScriptRunner = (source, records, timeoutMs) => runScriptPerRecord(source, records, { timeoutMs, memoryBytes: 32 << 20 });

function issuesOf(pipeline: unknown): string[] {
  const out: string[] = [];
  checkPipeline(PipelineSchema.parse(pipeline), schema, (path, message) => out.push(`${path.join('.')}: ${message}`));
  return out;
}
const run = (pipeline: unknown, records: unknown[]) => compilePipeline(PipelineSchema.parse(pipeline), schema, { runScript }).run(records, { now: NOW });

describe('units', () => {
  it('converts the documents’ units exactly, and only within one quantity', () => {
    expect(convertValue(212, 'fahrenheit', 'celsius')).toBe(100);
    expect(convertValue(98.6, 'fahrenheit', 'celsius')).toBe(37);
    expect(convertValue(-40, 'F', 'C')).toBe(-40);
    expect(convertValue(0, 'celsius', 'kelvin')).toBe(273.15);
    expect(convertValue(1013.25, 'hPa', 'kPa')).toBe(101.325);
    expect(convertValue(36, 'km/h', 'm/s')).toBe(10);
    expect(canConvert('fahrenheit', 'percent')).toBe(false);
    expect(canConvert('furlongs', 'meters')).toBe(false);
  });
});

describe('the processing stage', () => {
  it('runs the Live Data Handler’s validation filter and enrichment as written', async () => {
    const pipeline = [
      { name: 'validation', type: 'filter', config: { rules: [{ field: 'temperature', operator: 'range', value: [-50, 150] }, { field: 'humidity', operator: 'range', value: [0, 100] }] } },
      {
        name: 'enrichment',
        type: 'transform',
        config: { operations: [{ type: 'add-field', field: 'timestamp', value: 'now()' }, { type: 'calculate', field: 'heat_index', formula: 'heat_index(temperature, humidity)' }] },
      },
    ];
    expect(issuesOf(pipeline)).toEqual([]);
    const out = await run(pipeline, [{ temperature: 32, humidity: 70 }, { temperature: 200, humidity: 50 }, { temperature: 20, humidity: 140 }]);
    expect(out.dropped).toBe(2);
    expect(out.origin).toEqual([0]);
    expect(out.records).toEqual([{ temperature: 32, humidity: 70, timestamp: '2026-12-03T12:00:00.000Z', heat_index: FORMULA_FUNCTIONS.heat_index(32, 70) }]);
    // NOAA's table: 90 °F at 70 % is a heat index of 106 °F (41.1 °C)
    expect(FORMULA_FUNCTIONS.heat_index(32.2222222222, 70)).toBeCloseTo(41.1, 0);
  });

  it('converts °F into the field’s declared °C, and refuses a conversion between quantities at definition time', async () => {
    const out = await run([{ type: 'transform', config: { operations: [{ type: 'convert', field: 'temperature', from: 'fahrenheit' }] } }], [{ temperature: 212 }, { humidity: 3 }]);
    expect(out.records).toEqual([{ temperature: 100 }, { humidity: 3 }]);
    expect(issuesOf([{ type: 'transform', config: { operations: [{ type: 'convert', field: 'humidity', from: 'fahrenheit' }] } }])).toEqual([
      expect.stringMatching(/^pipeline\.0\.config\.operations\.0\.from: cannot convert fahrenheit to percent/),
    ]);
    expect(issuesOf([{ type: 'transform', config: { operations: [{ type: 'calculate', field: 'nope', formula: 'temperature +' }] } }])).toEqual([
      expect.stringMatching(/formula: does not compile/),
      "pipeline.0.config.operations.0.field: 'nope' is not a field of the schema",
    ]);
  });

  it('makes a record whose stage fails invalid with the stage named, and lets the others through', async () => {
    const out = await run(
      [{ name: 'to celsius', type: 'transform', config: { operations: [{ type: 'convert', field: 'temperature', from: 'fahrenheit' }] } }],
      [{ temperature: 'hot' }, { temperature: 50 }],
    );
    expect(out.records).toEqual([{ temperature: 10 }]);
    expect(out.origin).toEqual([1]);
    expect(out.issues).toEqual([{ index: 0, path: ['pipeline', 0], message: "stage 'to celsius': temperature: a fahrenheit value must be a number to convert to celsius" }]);
  });

  it('runs a JavaScript transform per record in the sandbox: a throw fails its record, null drops it', async () => {
    const script = 'function transform(r) { if (r.site === "bad") throw new Error("no bad sites"); if (r.site === "skip") return null; r.temperature = r.temperature * 2; return r; }';
    const out = await run([{ type: 'transform', config: { script } }], [{ site: 'a', temperature: 2 }, { site: 'bad' }, { site: 'skip' }]);
    expect(out.records).toEqual([{ site: 'a', temperature: 4 }]);
    expect(out.dropped).toBe(1);
    expect(out.issues).toEqual([{ index: 1, path: ['pipeline', 0], message: "stage 'pipeline[0] (transform)': the script threw: Error: no bad sites" }]);
  });

  it('stops a script that loops forever within its budget: every record of the batch fails, nothing hangs', async () => {
    const started = Date.now();
    const out = await run([{ type: 'transform', config: { script: 'function transform(r) { for (;;) {} }' } }], [{ site: 'a' }, { site: 'b' }]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(out.records).toEqual([]);
    expect(out.issues.map((i) => i.index)).toEqual([0, 1]);
    expect(out.issues[0]!.message).toMatch(/ran longer than 251 ms/);
  });

  it('filters by expression and by any of its rules', async () => {
    const out = await run(
      [
        { type: 'filter', config: { expression: 'site != "lab"' } },
        { type: 'filter', config: { match: 'any', rules: [{ field: 'temperature', operator: 'gt', value: 30 }, { field: 'site', operator: 'in', value: ['roof'] }] } },
      ],
      [{ site: 'lab', temperature: 40 }, { site: 'roof', temperature: 1 }, { site: 'yard', temperature: 31 }, { site: 'yard', temperature: 3 }],
    );
    expect(out.records).toEqual([{ site: 'roof', temperature: 1 }, { site: 'yard', temperature: 31 }]);
    expect(out.dropped).toBe(2);
  });

  it('leaves records that are not objects for validation to refuse, and never reads a prototype', async () => {
    const out = await run([{ type: 'filter', config: { expression: 'constructor or __proto__' } }], [42, { site: 'x' }]);
    expect(out.records).toEqual([42]);
  });
});
