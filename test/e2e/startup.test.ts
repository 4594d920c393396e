import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_ARGS, startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { processState } from '../fixtures/unreaped';

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

describe('npm start after a crash', () => {
  const runtimes: RuntimeProcess[] = [];
  afterAll(async () => {
    for (const rt of runtimes) await rt.close();
  });

  it('starts again at once on the data dir of a runtime killed with kill -9 that is still a zombie', async () => {
    const rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: 'trb_startup-admin-token-0123456789' }, { zombie: true });
    runtimes.push(rt);
    const killed = rt.pid!;
    await rt.kill();
    expect(await processState(killed)).toBe('Z');
    await rt.start(); // throws with the runtime's output if it refused to start
    expect(await processState(killed), 'the killed runtime was still a zombie when the new one had started').toBe('Z');
    const health = await fetch(`${rt.base}/v1/streams`, { headers: { authorization: 'Bearer trb_startup-admin-token-0123456789' } });
    expect(health.status).toBe(200);
  });

  it('starts again when the pid left beside the lock is now a live process that has nothing to do with it', async () => {
    const rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: 'trb_startup-admin-token-0123456789' });
    runtimes.push(rt);
    await rt.kill();
    // as after a crash in a container whose next process reused the runtime's pid
    for (const file of ['queue.lock', 'holder.pid']) await writeFile(join(rt.dataDir, 'queue', file), String(process.ppid));
    await rt.start();
    const health = await fetch(`${rt.base}/v1/streams`, { headers: { authorization: 'Bearer trb_startup-admin-token-0123456789' } });
    expect(health.status).toBe(200);
  });
});
