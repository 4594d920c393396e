import { getQuickJS, type QuickJSContext, type QuickJSHandle, type QuickJSWASMModule } from 'quickjs-emscripten';

/**
 * JavaScript written by clients (a stream's `function transform(apiData) { … }`), run in QuickJS compiled
 * to WebAssembly: a fresh runtime per run with a memory limit, a stack limit and a deadline checked by the
 * interpreter, and nothing of the host inside it (no `require`, `process`, file system, network or timers;
 * values cross as JSON text). `node:vm` is not a security boundary; this is.
 *
 * The WebAssembly module is loaded once per process; each run then costs a new runtime (well under a
 * millisecond). A run blocks the event loop for at most its deadline.
 *
 * @example
 * const records = await runScript('function transform(d) { return d.items; }', { items: [1, 2] }, { timeoutMs: 1000, memoryBytes: 32 << 20 });
 * // [1, 2]
 */

export interface ScriptLimits {
  /** Wall time the interpreter may run, checked between operations. */
  timeoutMs: number;
  /** Heap the script may allocate, its input included. */
  memoryBytes: number;
  /** Native stack for recursion (default 256 KiB). */
  stackBytes?: number;
}

export type ScriptFailure = 'syntax' | 'timeout' | 'memory' | 'thrown' | 'result';

/** A script that does not parse, overruns its limits, throws, or returns what JSON cannot carry. */
export class ScriptError extends Error {
  override readonly name = 'ScriptError';
  constructor(
    readonly failure: ScriptFailure,
    message: string,
  ) {
    super(message);
  }
}

/** `function name(`, the function a script declares first: the one that is called. */
const DECLARED = /^\s*(?:(?:\/\/[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*function\s+([A-Za-z_$][\w$]*)\s*\(/;

let loading: Promise<QuickJSWASMModule> | undefined;
const quickjs = () => (loading ??= getQuickJS());

/**
 * The name of the function the script declares first, or a `ScriptError('syntax')` when it declares none.
 *
 * @example
 * declaredFunction('// maps\nfunction transform(apiData) { return []; }'); // 'transform'
 */
export function declaredFunction(source: string): string {
  const m = DECLARED.exec(source);
  if (!m) throw new ScriptError('syntax', 'must declare a function first, e.g. function transform(apiData) { … }');
  return m[1]!;
}

/**
 * Checks that the script parses and declares its function, without running its body; the problem as text, or `undefined`.
 *
 * @example
 * await checkScript('function transform(x) { return x.map(; }'); // 'SyntaxError: unexpected token …'
 */
export async function checkScript(source: string): Promise<string | undefined> {
  try {
    const name = declaredFunction(source);
    await evaluate(`${source}\n;typeof ${name} === 'function' ? 'null' : ${JSON.stringify(JSON.stringify(`${name} is not a function`))}`, undefined, { timeoutMs: 1000, memoryBytes: 16 << 20 }, true);
    return undefined;
  } catch (err) {
    if (err instanceof ScriptError) return err.message;
    throw err;
  }
}

/**
 * Calls the script's function with `input` (as JSON) and returns what it returns (as JSON). Throws a
 * `ScriptError` saying which limit it hit, or what it threw.
 *
 * @example
 * await runScript('function f(x) { for (;;) {} }', {}, { timeoutMs: 100, memoryBytes: 8 << 20 }); // ScriptError('timeout')
 */
export async function runScript(source: string, input: unknown, limits: ScriptLimits): Promise<unknown> {
  const name = declaredFunction(source);
  return evaluate(`${source}\n;JSON.stringify(${name}(JSON.parse(globalThis.__input)))`, JSON.stringify(input ?? null), limits, false);
}

/**
 * Calls the script's function once per record, all in one sandbox run: per record, what it returned (as
 * JSON; `null` for nothing) or what it threw. The limits hold for the whole batch, whose failure (syntax,
 * time, memory) is thrown as a `ScriptError`.
 *
 * @example
 * await runScriptPerRecord('function transform(r) { if (r.t > 9) throw new Error("hot"); return r; }', [{ t: 1 }, { t: 10 }], { timeoutMs: 250, memoryBytes: 32 << 20 });
 * // [{ ok: { t: 1 } }, { error: 'Error: hot' }]
 */
export async function runScriptPerRecord(source: string, records: unknown[], limits: ScriptLimits): Promise<({ ok: unknown } | { error: string })[]> {
  const name = declaredFunction(source);
  const call = `JSON.parse(globalThis.__input).map(function (r) { try { var v = ${name}(r); return { ok: v === undefined ? null : v }; } catch (e) { return { error: String(e && e.name ? e.name + ': ' + e.message : e).slice(0, 300) }; } })`;
  const answers = await evaluate(`${source}\n;JSON.stringify(${call})`, JSON.stringify(records), limits, false);
  if (!Array.isArray(answers) || answers.length !== records.length) throw new ScriptError('result', 'the script changed the batch it was given');
  return answers as ({ ok: unknown } | { error: string })[];
}

async function evaluate(code: string, input: string | undefined, limits: ScriptLimits, checkOnly: boolean): Promise<unknown> {
  const module = await quickjs();
  const runtime = module.newRuntime();
  let vm: QuickJSContext | undefined;
  try {
    runtime.setMemoryLimit(limits.memoryBytes);
    runtime.setMaxStackSize(limits.stackBytes ?? 256 * 1024);
    const deadline = Date.now() + limits.timeoutMs;
    let interrupted = false;
    runtime.setInterruptHandler(() => {
      if (Date.now() > deadline) interrupted = true;
      return interrupted;
    });
    vm = runtime.newContext();
    if (input !== undefined) {
      const text = vm.newString(input);
      vm.setProp(vm.global, '__input', text);
      text.dispose();
    }
    const result = vm.evalCode(code, 'transform.js');
    if (result.error) {
      const error = describeError(vm, result.error);
      result.error.dispose();
      if (interrupted) throw new ScriptError('timeout', `ran longer than ${limits.timeoutMs} ms`);
      if (/out of memory/i.test(error)) throw new ScriptError('memory', `used more than ${Math.round(limits.memoryBytes / 1048576)} MiB`);
      if (/stack overflow/i.test(error)) throw new ScriptError('memory', 'recursed too deep (stack overflow)');
      throw new ScriptError(/^SyntaxError/.test(error) ? 'syntax' : 'thrown', error);
    }
    const value: unknown = vm.dump(result.value);
    result.value.dispose();
    if (checkOnly) {
      const problem = JSON.parse(String(value)) as string | null;
      if (problem) throw new ScriptError('syntax', problem);
      return undefined;
    }
    if (typeof value !== 'string') throw new ScriptError('result', 'the function returned nothing JSON can carry (undefined or a function)');
    return JSON.parse(value) as unknown;
  } finally {
    vm?.dispose();
    runtime.dispose();
  }
}

function describeError(vm: QuickJSContext, handle: QuickJSHandle): string {
  const e = vm.dump(handle) as { name?: string; message?: string } | string | undefined;
  if (typeof e === 'object' && e !== null) return `${e.name ?? 'Error'}: ${e.message ?? ''}`.slice(0, 500);
  return String(e).slice(0, 500);
}
