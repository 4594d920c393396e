import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_ARGS, startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';

/** Runs `npm start`'s entry point to its exit; resolves with the code and what it printed on stderr. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, RUNTIME_ARGS, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('npm start refuses what it cannot run', () => {
  let first: RuntimeProcess;
  beforeAll(async () => {
    first = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: 'trb_startup-admin-token-0123456789' });
  });
  afterAll(async () => {
    await first?.close();
  });

  it('exits 1 with one line naming the holder when another runtime has the data dir, and leaves that one serving', async () => {
    const second = await runToExit({ TRIBUTARY_DATA_DIR: first.dataDir, PORT: '0', MQTT_PORT: '0' });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/Tributary could not start: .*is open in process \d+/);
    expect(second.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const health = await fetch(`${first.base}/v1/streams`, { headers: { authorization: 'Bearer trb_startup-admin-token-0123456789' } });
    expect(health.status).toBe(200);
  });

  it('exits 1 naming every bad setting', async () => {
    const bad = await runToExit({ PORT: 'http', TRIBUTARY_ADMIN_TOKEN: 'short', TRIBUTARY_DATA_DIR: first.dataDir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Tributary could not start: Invalid settings:');
    expect(bad.stderr).toMatch(/PORT/);
    expect(bad.stderr).toMatch(/TRIBUTARY_ADMIN_TOKEN: must be at least 16 characters/);
  });
});
