import { createHash } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CliError, EXIT } from './exit-codes';
import type { InputFormat } from './sources';

/** A line the server or the reader turned down, with why. */
export interface RejectedLine {
  line: number;
  message: string;
}

/**
 * How far an `ingest` got: every line up to `line` (ending at byte `bytes`) is acknowledged by the API.
 * Written after each acknowledged batch; a later run with the same file and stream starts after it.
 */
export interface Checkpoint {
  version: 1;
  stream: string;
  file: string;
  size: number;
  mtimeMs: number;
  format: InputFormat;
  line: number;
  bytes: number;
  accepted: number;
  rejectedCount: number;
  /** The first rejected lines (at most `MAX_REJECTED_KEPT`), for the summary. */
  rejected: RejectedLine[];
}

export const MAX_REJECTED_KEPT = 100;

/** `<file>.tributary-checkpoint.json` unless `--checkpoint` says. */
export const checkpointPathFor = (file: string, given?: string) => given ?? `${file}.tributary-checkpoint.json`;

/** The file's identity: a checkpoint holds only for the same bytes. */
export async function fileIdentity(file: string): Promise<{ file: string; size: number; mtimeMs: number }> {
  const s = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, EXIT.usage);
  });
  return { file: resolve(file), size: s.size, mtimeMs: Math.floor(s.mtimeMs) };
}

/** The checkpoint at `path` if there is one for this file and stream; a stale one is a usage error. */
export async function readCheckpoint(path: string, expect: Pick<Checkpoint, 'stream' | 'file' | 'size' | 'mtimeMs' | 'format'>): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const saved = JSON.parse(text) as Checkpoint;
  const same = saved.version === 1 && saved.stream === expect.stream && saved.file === expect.file && saved.size === expect.size && saved.mtimeMs === expect.mtimeMs && saved.format === expect.format;
  if (!same) throw new CliError(`${path} is the checkpoint of another file, stream or version of the file: delete it or pass --restart`, EXIT.usage);
  return saved;
}

/** Replaces the checkpoint in one rename, so a kill at any moment leaves the old one or the new one. */
export async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(checkpoint));
  await rename(tmp, path);
}

export const removeCheckpoint = (path: string) => rm(path, { force: true });

/**
 * The `Idempotency-Key` of one batch: the same lines of the same file into the same stream always get the
 * same key, so a batch sent again after a crash is answered from the first time and stored once.
 */
export function batchKey(id: Pick<Checkpoint, 'stream' | 'file' | 'size' | 'mtimeMs'>, firstLine: number, lastLine: number, count: number): string {
  const digest = createHash('sha256').update(JSON.stringify([id.stream, id.file, id.size, id.mtimeMs, firstLine, lastLine, count])).digest('base64url');
  return `tributary-cli-${digest.slice(0, 40)}`;
}
