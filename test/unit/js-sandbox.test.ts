import { describe, expect, it } from 'vitest';
import { checkScript, runScript, ScriptError } from '../../functions/commons/js-sandbox';
import { documentDefinition } from '../fixtures/data-streams';

const LIMITS = { timeoutMs: 500, memoryBytes: 16 << 20 };

async function failure(run: Promise<unknown>): Promise<ScriptError> {
  try {
    await run;
  } catch (err) {
    expect(err).toBeInstanceOf(ScriptError);
    return err as ScriptError;
  }
  throw new Error('expected a ScriptError');
}

describe('runScript (QuickJS in WebAssembly)', () => {
  it('runs the Financial Data Feed transform of the document on an API answer', async () => {
    const script = documentDefinition('financial-data-feed').processing.transform;
    const out = (await runScript(
      script,
      { accounts: [{ id: 'A-1', current_balance: 10.5, currency_code: 'EUR', last_transaction_date: '2024-01-15T10:30:00Z', status: 'ACTIVE' }] },
      LIMITS,
    )) as Record<string, unknown>[];
    expect(out).toEqual([
      { accountId: 'A-1', balance: 10.5, currency: 'EUR', lastTransaction: '2024-01-15T10:30:00Z', status: 'active', timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    ]);
  });

  it('stops a transform that loops forever within its budget, and the next one runs', async () => {
    const started = Date.now();
    const err = await failure(runScript('function transform(d) { for (;;) {} }', {}, { ...LIMITS, timeoutMs: 200 }));
    expect(err.failure).toBe('timeout');
    // generous: the interpreter checks the deadline every few thousand operations; the machine is loaded
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await runScript('function transform(d) { return d + 1; }', 41, LIMITS)).toBe(42);
  });

  it('stops a transform that allocates without bound at the memory limit, and the next one runs', async () => {
    const err = await failure(runScript('function transform(d) { const a = [], s = "x".repeat(1 << 16); for (;;) a.push(s + a.length); }', {}, { ...LIMITS, timeoutMs: 10_000 }));
    expect(err.failure).toBe('memory');
    const deep = await failure(runScript('function transform(d) { return transform(d) + 1; }', {}, LIMITS));
    expect(deep.failure).toBe('memory');
    expect(await runScript('function transform(d) { return [d]; }', 'ok', LIMITS)).toEqual(['ok']);
  });

  it('reaches nothing of the host', async () => {
    const probe = `function transform() {
      return [typeof require, typeof process, typeof module, typeof fetch, typeof setTimeout, typeof globalThis.std, typeof globalThis.os];
    }`;
    expect(await runScript(probe, null, LIMITS)).toEqual(Array(7).fill('undefined'));
    const err = await failure(runScript('function transform() { return require("node:fs").readFileSync("/etc/passwd", "utf8"); }', null, LIMITS));
    expect(err.failure).toBe('thrown');
    expect(err.message).toMatch(/ReferenceError/);
  });

  it('reports a throw with its message and a result JSON cannot carry', async () => {
    expect((await failure(runScript('function t(d) { throw new TypeError("no accounts"); }', {}, LIMITS))).message).toBe('TypeError: no accounts');
    expect((await failure(runScript('function t(d) { return undefined; }', {}, LIMITS))).failure).toBe('result');
  });

  it('checks a script without running its function', async () => {
    expect(await checkScript('function transform(d) { for (;;) {} }')).toBeUndefined();
    expect(await checkScript('function transform(d) { return d.map(; }')).toMatch(/^SyntaxError/);
    expect(await checkScript('const transform = 1;')).toMatch(/must declare a function/);
  });
});
