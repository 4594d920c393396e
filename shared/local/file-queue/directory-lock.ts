/**
 * The queue directory's lock: one holder at a time, in this process and across processes.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QueueUnavailableError } from '../../domain/errors';

/** The lock file's name in the queue directory: it holds the pid of the process that has the queue open. */
export const LOCK_FILE = 'queue.lock';

/** Directories this process holds (the lock file guards against other processes). */
const openDirs = new Set<string>();

/**
 * A held queue directory; `release` gives it up.
 *
 * @example
 * const lock = await lockDirectory(dir);
 * await lock.release();
 */
export interface DirectoryLock {
  release(): Promise<void>;
}

/**
 * Takes the lock of `dir` (an absolute path). Throws `QueueUnavailableError` naming the holder when another
 * process holds it, or when this process already does.
 *
 * @example
 * const lock = await lockDirectory(resolve('.tributary/queue'));
 */
export async function lockDirectory(dir: string): Promise<DirectoryLock> {
  if (openDirs.has(dir)) throw new QueueUnavailableError(`The queue in '${dir}' is already open in this process.`);
  const path = join(dir, LOCK_FILE);
  try {
    await writeFile(path, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number((await readFile(path, 'utf8')).trim());
    if (holder !== process.pid && isAlive(holder)) {
      throw new QueueUnavailableError(`The queue in '${dir}' is open in process ${holder}.`);
    }
    await writeFile(path, String(process.pid));
  }
  openDirs.add(dir);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      openDirs.delete(dir);
      await rm(path, { force: true }).catch(() => {});
    },
  };
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
