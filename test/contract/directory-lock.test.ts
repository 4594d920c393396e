import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueUnavailableError } from '../../shared/domain/errors';
import { lockDirectory } from '../../shared/local/file-queue/directory-lock';
import { spawnUnreaped, waitForZombie } from '../fixtures/unreaped';

const holderScript = fileURLToPath(new URL('../fixtures/lock-holder.ts', import.meta.url));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'directory-lock-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Another process holding the lock of `dir`; resolves once it holds it. */
async function holder(dir: string): Promise<{ child: ChildProcess; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', holderScript, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (/locked \d+/.test(out)) resolve();
    });
    child.once('exit', () => reject(new Error(`the holder exited: ${err}`)));
  });
  return { child, exited };
}

describe('lockDirectory', () => {
  it('refuses a second holder in this process, and is free again once released', async () => {
    const dir = await tempDir();
    const lock = await lockDirectory(dir);
    await expect(lockDirectory(dir)).rejects.toThrow(/already open in this process/);
    await lock.release();
    const again = await lockDirectory(dir);
    await again.release();
  });

  it('refuses while another live process holds the directory, naming that process', async () => {
    const dir = await tempDir();
    const { child } = await holder(dir);
    const refused = lockDirectory(dir);
    await expect(refused).rejects.toBeInstanceOf(QueueUnavailableError);
    await expect(refused).rejects.toThrow(`The queue in '${dir}' is open in process ${child.pid}.`);
  });

  it('is free once its holder has exited after releasing it', async () => {
    const dir = await tempDir();
    const { child, exited } = await holder(dir);
    child.kill('SIGTERM');
    await exited;
    const lock = await lockDirectory(dir);
    await lock.release();
  });

  it('is free as soon as its holder is killed, while the holder is still a zombie', async () => {
    const dir = await tempDir();
    const holder = await spawnUnreaped(process.execPath, ['--import', 'tsx', holderScript, dir], process.env);
    cleanups.push(() => holder.reap());
    await expect.poll(() => holder.output(), { timeout: 15_000 }).toMatch(/locked \d+/);
    process.kill(holder.pid, 'SIGKILL');
    expect(await waitForZombie(holder.pid)).toBe('Z');
    const lock = await lockDirectory(dir);
    await lock.release();
  });

  it('is free when the pid written beside it names a live process that does not hold it', async () => {
    const dir = await tempDir();
    const alive = String(process.ppid);
    for (const file of ['queue.lock', 'holder.pid']) await writeFile(join(dir, file), alive);
    const lock = await lockDirectory(dir);
    await lock.release();
  });
});
