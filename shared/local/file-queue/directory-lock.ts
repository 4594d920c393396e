/**
 * The queue directory's lock: one holder at a time, in this process and across processes, released by the
 * operating system when its holder dies.
 *
 * The lock is LevelDB's: `lock/` is an empty LevelDB store, and opening it takes an `fcntl` write lock on its
 * `LOCK` file (classic-level). The kernel drops such a lock as it closes the holder's files on exit, `kill -9`
 * included, before the process is a zombie, so neither a zombie nor a reused pid can keep a crashed runtime's
 * lock. A second open elsewhere fails at once (`LEVEL_LOCKED`). `holder.pid` beside it names the holder, for
 * the refusal message only: it never decides who holds the lock.
 *
 * Closing any descriptor of `LOCK` drops this process's lock on it (a POSIX rule), so the store is opened once
 * per process and per directory: a second open in this process is refused before it reaches LevelDB.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { QueueUnavailableError } from '../../domain/errors';

/** The LevelDB store whose `LOCK` file is the lock, in the queue directory. */
export const LOCK_STORE = 'lock';
/** The pid of the process holding the lock, written once it holds it. */
export const HOLDER_FILE = 'holder.pid';
/** The lock file of earlier versions (a pid checked with kill(pid, 0)): removed once the lock is held. */
const LEGACY_LOCK_FILE = 'queue.lock';

/** Directories this process holds or is taking. */
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
 * Takes the lock of `dir` (an absolute path). Throws `QueueUnavailableError` when another live process holds
 * it (naming that process when it could write its pid), or when this process already does.
 *
 * @example
 * const lock = await lockDirectory(resolve('.tributary/queue'));
 */
export async function lockDirectory(dir: string): Promise<DirectoryLock> {
  if (openDirs.has(dir)) throw new QueueUnavailableError(`The queue in '${dir}' is already open in this process.`);
  openDirs.add(dir);
  const store = new ClassicLevel(join(dir, LOCK_STORE));
  try {
    await store.open();
  } catch (err) {
    openDirs.delete(dir);
    if ((err as { cause?: { code?: unknown } }).cause?.code !== 'LEVEL_LOCKED') throw err;
    const holder = await readHolder(dir);
    throw new QueueUnavailableError(`The queue in '${dir}' is open in ${holder === undefined ? 'another process' : `process ${holder}`}.`, { cause: err });
  }
  const holderPath = join(dir, HOLDER_FILE);
  try {
    await writeFile(holderPath, String(process.pid));
    await rm(join(dir, LEGACY_LOCK_FILE), { force: true });
  } catch (err) {
    await store.close().catch(() => {});
    openDirs.delete(dir);
    throw err;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await rm(holderPath, { force: true }).catch(() => {});
      await store.close().catch(() => {});
      openDirs.delete(dir);
    },
  };
}

async function readHolder(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, HOLDER_FILE), 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}
