import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SETTINGS } from '../../infra/local/config';
import { freePort, RUNTIME_ARGS, startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { processState } from '../fixtures/unreaped';

/** Runs `npm start`'s entry point to its exit; resolves with the code and what it printed. */
function runToExit(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...RUNTIME_ARGS, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts the entry point, resolves with what it printed once it says it runs, then stops it. */
function banner(env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, RUNTIME_ARGS, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (/Tributary is running[\s\S]*ADMIN=.*\n/.test(out)) child.kill('SIGTERM');
    });
    child.stderr!.on('data', (d: Buffer) => (out += d));
    child.once('exit', () => {
      clearTimeout(timer);
      if (out.includes('Tributary is running')) resolve(out);
      else reject(new Error(`did not start: ${out}`));
    });
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

  it('answers GET /healthz without a token, and with nothing but that it is up', async () => {
    const res = await fetch(`${first.base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('exits 1 naming every bad setting', async () => {
    const bad = await runToExit({ PORT: 'http', TRIBUTARY_ADMIN_TOKEN: 'short', TRIBUTARY_DATA_DIR: first.dataDir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Tributary could not start: Invalid settings:');
    expect(bad.stderr).toMatch(/PORT/);
    expect(bad.stderr).toMatch(/TRIBUTARY_ADMIN_TOKEN: must be at least 16 characters/);
  });
});

describe('npm start: the first hour', () => {
  let dataDir: string;
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-first-'));
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    busy?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('names the setting that moves a busy port, and leaves no half-made first start behind', async () => {
    const dir = join(dataDir, 'busy');
    const failed = await runToExit({ TRIBUTARY_DATA_DIR: dir, PORT: String(busyPort), MQTT_PORT: '0', TRIBUTARY_ADMIN_TOKEN: '' });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`Tributary could not start: port ${busyPort} on 127.0.0.1 is in use (another program listens there); set PORT to another port`);
    expect(existsSync(join(dir, 'admin-token'))).toBe(false);
    const mqttBusy = await runToExit({ TRIBUTARY_DATA_DIR: dir, PORT: '0', MQTT_PORT: String(busyPort), TRIBUTARY_ADMIN_TOKEN: '' });
    expect(mqttBusy.stderr).toContain('set MQTT_PORT to another port');

    const out = await banner({ TRIBUTARY_DATA_DIR: dir, PORT: String(await freePort()), MQTT_PORT: '0', TRIBUTARY_ADMIN_TOKEN: '' });
    const token = /Admin token \(shown once; kept in .*admin-token, mode 0600\):\n {2}(trb_\S+)/.exec(out)?.[1];
    expect(token).toBeDefined();
    expect(readFileSync(join(dir, 'admin-token'), 'utf8').trim()).toBe(token);
    expect(out).toContain(`ADMIN=$(cat ${join(dir, 'admin-token')})`);
    expect(out).toContain("A demo stream 'demo' was created");

    const later = await banner({ TRIBUTARY_DATA_DIR: dir, PORT: String(await freePort()), MQTT_PORT: '0', TRIBUTARY_ADMIN_TOKEN: '' });
    expect(later).toContain(`Admin token: in ${join(dir, 'admin-token')}.`);
    expect(later).not.toContain(token!);
    expect(later).not.toContain('demo stream');
  });

  it('with TRIBUTARY_ADMIN_TOKEN set, points to the setting and removes a data dir token that no longer opens anything', async () => {
    const dir = join(dataDir, 'setting');
    await runToExit({ TRIBUTARY_DATA_DIR: dir }, ['--version']);
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
    await writeFile(join(dir, 'admin-token'), 'trb_an-old-generated-token-000000\n', { mode: 0o600 });
    const out = await banner({ TRIBUTARY_DATA_DIR: dir, PORT: String(await freePort()), MQTT_PORT: '0', TRIBUTARY_ADMIN_TOKEN: 'trb_set-in-the-environment-0123' });
    expect(out).toContain('Admin token: the one in TRIBUTARY_ADMIN_TOKEN.');
    expect(out).toContain('ADMIN=$TRIBUTARY_ADMIN_TOKEN');
    expect(out).not.toContain('cat ');
    expect(existsSync(join(dir, 'admin-token'))).toBe(false);
  });

  it('answers --help with every setting and --version with the package version, without starting', async () => {
    const help = await runToExit({ PORT: String(busyPort) }, ['--help']);
    expect(help.code).toBe(0);
    for (const s of LOCAL_SETTINGS) expect(help.stdout).toContain(s.name);
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const v = await runToExit({ PORT: String(busyPort) }, ['--version']);
    expect(v.stdout.trim()).toBe(`tributary ${version} (node ${process.version})`);
    const bad = await runToExit({}, ['--prot', '80']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown arguments: --prot 80');
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
