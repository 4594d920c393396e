import { TributaryApiError, type TributaryClient } from '../../client/src/index';
import { batchKey, checkpointPathFor, fileIdentity, MAX_REJECTED_KEPT, readCheckpoint, removeCheckpoint, writeCheckpoint, type Checkpoint, type RejectedLine } from './checkpoint';
import { EXIT } from './exit-codes';
import { progress, type Progress } from './progress';
import { readSource, type InputFormat } from './sources';

export interface IngestCommand {
  stream: string;
  file: string;
  format: InputFormat;
  /** Records (or lines) per request; 5,000 unless given, at most the API's 10,000. */
  batchSize?: number;
  /** Requests in flight; 2 unless given. */
  concurrency?: number;
  checkpoint?: string;
  /** Forget a checkpoint and start from the first line. */
  restart?: boolean;
  /** The stream's ingest token, when the logged-in token is not admin. */
  token?: string;
  /** How often the checkpoint is written, at most; 1 s unless given. */
  checkpointEveryMs?: number;
  /** Set by Ctrl-C: no new batch is sent, the ones in flight finish and the checkpoint is kept. */
  signal?: AbortSignal;
  progress?: (label: string, total: number) => Progress;
}

export interface IngestSummary {
  accepted: number;
  rejectedCount: number;
  rejected: RejectedLine[];
  resumedFromLine: number;
  interrupted: boolean;
}

/** One request: its lines, and for JSON the records' text. */
interface Batch {
  seq: number;
  firstLine: number;
  lastLine: number;
  endBytes: number;
  lines: number[];
  parts: string[];
  bytes: number;
}

const MAX_BODY = 4 * 1024 * 1024; // under the API's 5 MiB, with room for the array's commas

/**
 * `tributary ingest STREAM FILE`: streams the file's records to the API in batches (constant memory), each
 * with an `Idempotency-Key` made from its lines, and after each acknowledged batch moves a checkpoint past
 * every line acknowledged so far. A run that is killed starts again after the checkpoint, and re-sends at
 * most the batches that were in flight: their keys are the same, so the API answers them from the first time
 * and stores nothing twice (within its idempotency window, 24 hours by default). Line protocol goes to
 * `/api/v2/write`, which takes no key: there a resumed run may store the in-flight batches twice.
 */
export async function ingestFile(client: TributaryClient, cmd: IngestCommand): Promise<IngestSummary> {
  const identity = await fileIdentity(cmd.file);
  const where = checkpointPathFor(cmd.file, cmd.checkpoint);
  if (cmd.restart) await removeCheckpoint(where);
  const saved = await readCheckpoint(where, { stream: cmd.stream, format: cmd.format, ...identity });
  const state: Checkpoint = saved ?? { version: 1, stream: cmd.stream, format: cmd.format, ...identity, line: 0, bytes: 0, accepted: 0, rejectedCount: 0, rejected: [] };
  const resumedFromLine = state.line;
  const batchSize = Math.min(10_000, Math.max(1, cmd.batchSize ?? 5_000));
  const concurrency = Math.max(1, cmd.concurrency ?? 2);
  const bar = (cmd.progress ?? progress)(`ingest ${cmd.stream}`, identity.size);
  bar.update(state.bytes, state.accepted);

  const reject = (line: number, message: string) => {
    state.rejectedCount++;
    if (state.rejected.length < MAX_REJECTED_KEPT) state.rejected.push({ line, message });
  };

  // batches finish out of order; the checkpoint moves only over the ones done in sequence
  const finished = new Map<number, Batch>();
  let nextToCommit = 0;
  let saving = Promise.resolve();
  let savedAt = 0;
  let unsaved = false;
  const save = () => {
    const snapshot = { ...state, rejected: [...state.rejected] };
    savedAt = Date.now();
    unsaved = false;
    saving = saving.then(() => writeCheckpoint(where, snapshot));
  };
  // at most one checkpoint write a second: batches acknowledged since are sent again after a crash, and
  // answered from the first time by their keys
  const commit = () => {
    for (let b = finished.get(nextToCommit); b; b = finished.get(nextToCommit)) {
      finished.delete(nextToCommit++);
      state.line = b.lastLine;
      state.bytes = b.endBytes;
      unsaved = true;
    }
    if (unsaved && Date.now() - savedAt >= (cmd.checkpointEveryMs ?? 1_000)) save();
  };

  const send = async (b: Batch) => {
    const key = batchKey({ stream: cmd.stream, ...identity }, b.firstLine, b.lastLine, b.lines.length);
    try {
      if (cmd.format === 'line') {
        await client.streams.http.send({
          method: 'POST',
          path: '/api/v2/write',
          query: new URLSearchParams({ bucket: cmd.stream, org: 'tributary', precision: 'ns' }),
          body: b.parts.join('\n'),
          headers: { 'content-type': 'text/plain; charset=utf-8', ...(cmd.token && { authorization: `Token ${cmd.token}` }) },
          repeatable: false,
        });
        state.accepted += b.lines.length;
      } else {
        const answer = await client.streams.ingestText(cmd.stream, `[${b.parts.join(',')}]`, { idempotencyKey: key, ...(cmd.token && { token: cmd.token }) });
        state.accepted += answer.accepted;
        for (const issue of answer.rejected ?? []) reject(b.lines[issue.index ?? 0] ?? b.firstLine, `${issue.path.join('.') || 'record'}: ${issue.message}`);
      }
    } catch (err) {
      // a refused batch (a strict stream's invalid record, a line-protocol error) is reported and passed
      if (!(err instanceof TributaryApiError) || err.status === 401 || err.status === 403 || err.status === 404 || err.status === 429 || err.status >= 500) throw err;
      const issues = err.problem?.errors ?? [];
      if (issues.length === 0) for (const line of b.lines) reject(line, err.message);
      else {
        for (const issue of issues) reject(b.lines[issue.index ?? 0] ?? b.firstLine, `${issue.path.join('.') || 'record'}: ${issue.message}`);
        // the rest of a refused batch is not stored either
        const named = new Set(issues.map((i) => i.index ?? 0));
        for (let i = 0; i < b.lines.length; i++) if (!named.has(i)) reject(b.lines[i]!, 'not stored: another record of its batch was refused (the stream is strict)');
      }
    }
    finished.set(b.seq, b);
    commit();
    bar.update(b.endBytes, state.accepted);
  };

  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let seq = 0;
  let batch: Batch | undefined;
  const flush = async () => {
    if (!batch) return;
    const b = batch;
    batch = undefined;
    const p = send(b).catch((err) => void (failure ??= err));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
  };

  for await (const item of readSource(cmd.file, cmd.format, saved && { line: saved.line, bytes: saved.bytes })) {
    if (failure || cmd.signal?.aborted) break;
    if (item.error !== undefined) {
      reject(item.line, item.error);
      // a bad line is still a line the next batch covers, so the checkpoint can pass it
      batch ??= { seq: seq++, firstLine: item.line, lastLine: item.line, endBytes: item.bytes, lines: [], parts: [], bytes: 0 };
      batch.lastLine = item.line;
      batch.endBytes = item.bytes;
      continue;
    }
    const text = item.text ?? JSON.stringify(item.record);
    if (batch && (batch.lines.length >= batchSize || batch.bytes + text.length + 1 > MAX_BODY)) await flush();
    batch ??= { seq: seq++, firstLine: item.line, lastLine: item.line, endBytes: item.bytes, lines: [], parts: [], bytes: 0 };
    batch.lines.push(item.line);
    batch.parts.push(text);
    batch.bytes += text.length + 1;
    batch.lastLine = item.line;
    batch.endBytes = item.bytes;
  }
  const interrupted = cmd.signal?.aborted === true && failure === undefined;
  if (!failure && !interrupted) {
    if (batch && batch.lines.length === 0) {
      // only unreadable lines since the last batch: nothing to send, the checkpoint passes them
      finished.set(batch.seq, batch);
      batch = undefined;
      commit();
    }
    await flush();
  }
  await Promise.all(inFlight);
  if (unsaved) save();
  await saving;
  bar.stop();
  if (failure) throw failure;
  if (!interrupted) await removeCheckpoint(where);
  return { accepted: state.accepted, rejectedCount: state.rejectedCount, rejected: state.rejected, resumedFromLine, interrupted };
}

/** The summary `ingest` prints, and the code it exits with. */
export function ingestReport(s: IngestSummary, stream: string, checkpoint: string): { text: string; code: number } {
  const lines = [`${s.accepted} records accepted into ${stream}${s.resumedFromLine > 0 ? ` (resumed after line ${s.resumedFromLine})` : ''}`];
  if (s.rejectedCount > 0) {
    lines.push(`${s.rejectedCount} rejected${s.rejectedCount > s.rejected.length ? ` (the first ${s.rejected.length} listed)` : ''}:`);
    for (const r of s.rejected) lines.push(`  line ${r.line}: ${r.message}`);
  }
  if (s.interrupted) lines.push(`interrupted: run the same command again to go on from ${checkpoint}`);
  const code = s.interrupted ? EXIT.interrupted : s.rejectedCount > 0 ? EXIT.partial : EXIT.ok;
  return { text: lines.join('\n'), code };
}

