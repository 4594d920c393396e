import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, type FileHandle, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackPressureError, QueueUnavailableError } from '../../shared/domain/errors';
import { FileQueue } from '../../shared/local/file-queue/file-queue';
import type { DeadLetter, FileQueueMessage, FileQueueOptions } from '../../shared/local/file-queue/types';
import type { IngestEnvelope } from '../../shared/ports';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const envelope = (n: number, records = 1, pad = 0): IngestEnvelope => ({
  streamId: 'freezers',
  receivedAt: T0 + n,
  source: 'http',
  records: Array.from({ length: records }, (_, i) => ({ n, i, pad: 'x'.repeat(pad) })),
});
const nOf = (m: { envelope: IngestEnvelope }) => (m.envelope.records[0] as { n: number }).n;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

const dirs: string[] = [];
const queues: FileQueue[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'file-queue-'));
  dirs.push(dir);
  return dir;
}
async function openQueue(options: FileQueueOptions): Promise<FileQueue> {
  const queue = await FileQueue.open({ onError: () => {}, ...options });
  queues.push(queue);
  return queue;
}
const until = <T>(check: () => T | Promise<T>, timeout = 5_000) => vi.waitFor(check, { timeout, interval: 10 });
const segmentFiles = async (dir: string) => (await readdir(dir)).filter((f) => f.startsWith('segment-')).sort();

/** node:fs/promises does not export the FileHandle class; its prototype is where to spy on writes. */
async function fileHandlePrototype(dir: string): Promise<FileHandle> {
  const probe = await open(join(dir, 'probe'), 'w');
  await probe.close();
  return Object.getPrototypeOf(probe) as FileHandle;
}

/** A handler that records every delivery and fails the messages `fail` picks. */
function recorder(fail: (m: FileQueueMessage) => boolean = () => false) {
  const batches: FileQueueMessage[][] = [];
  const times: number[] = [];
  const handler = async (messages: FileQueueMessage[]) => {
    batches.push(messages);
    times.push(Date.now());
    return { failedIds: messages.filter(fail).map((m) => m.id) };
  };
  return { batches, times, handler, deliveries: () => batches.flat() };
}

afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('FileQueue', () => {
  it('delivers messages in the order their sends were called, concurrent sends included', async () => {
    const queue = await openQueue({ dir: await tempDir(), batchSize: 16, batchWindowMs: 5 });
    await Promise.all(range(0, 200).map((n) => queue.send([envelope(n)])));
    await queue.send(range(200, 230).map((n) => envelope(n)));
    const { handler, deliveries, batches } = recorder();
    queue.start(handler);
    await until(() => expect(deliveries()).toHaveLength(230));
    expect(deliveries().map(nOf)).toEqual(range(0, 230));
    expect(Math.max(...batches.map((b) => b.length))).toBe(16);
    expect(queue.stats()).toMatchObject({ depth: 0, inFlight: 0, depthRecords: 0 });
  });

  it('delivers a full batch of batchSize at once, without waiting for the batching window', async () => {
    const queue = await openQueue({ dir: await tempDir(), batchSize: 10, batchWindowMs: 5_000 });
    await queue.send(range(0, 25).map((n) => envelope(n)));
    const { handler, batches } = recorder();
    const started = Date.now();
    queue.start(handler);
    await until(() => expect(batches.length).toBeGreaterThanOrEqual(2));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(batches.slice(0, 2).map((b) => b.map(nOf))).toEqual([range(0, 10), range(10, 20)]);
  });

  it('closes a batch at batchRecords records, without waiting for the window, and never splits a message', async () => {
    const queue = await openQueue({ dir: await tempDir(), batchSize: 1_000, batchRecords: 10, batchWindowMs: 5_000 });
    await queue.send([envelope(0, 4), envelope(1, 4), envelope(2, 4), envelope(3, 25), envelope(4, 1)]);
    const { handler, batches } = recorder();
    const started = Date.now();
    queue.start(handler);
    await until(() => expect(batches.length).toBeGreaterThanOrEqual(2));
    expect(Date.now() - started).toBeLessThan(2_000);
    // 4+4+4 reaches the cap of 10; 25 alone is over it but still delivered whole; the 1 left waits for the window
    expect(batches.map((b) => b.map(nOf))).toEqual([[0, 1, 2], [3]]);
  });

  it('waits up to batchWindowMs to fill a batch, then delivers what it has', async () => {
    const queue = await openQueue({ dir: await tempDir(), batchSize: 100, batchWindowMs: 300 });
    const { handler, batches } = recorder();
    queue.start(handler);
    const sent = Date.now();
    await queue.send([envelope(0)]);
    await new Promise((r) => setTimeout(r, 100));
    await queue.send([envelope(1)]);
    await until(() => expect(batches).toHaveLength(1));
    const waited = Date.now() - sent;
    expect(batches[0]!.map(nOf)).toEqual([0, 1]);
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(waited).toBeLessThan(2_000);
  });

  it('shares one fdatasync among sends made together (group commit)', async () => {
    const dir = await tempDir();
    const queue = await openQueue({ dir });
    const datasync = vi.spyOn(await fileHandlePrototype(dir), 'datasync');
    try {
      await Promise.all(range(0, 100).map((n) => queue.send([envelope(n)])));
      expect(datasync.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(datasync.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      datasync.mockRestore();
    }
  });

  it('redelivers only the failed messages of a batch, after retryDelayMs, with receiveCount incremented', async () => {
    const queue = await openQueue({ dir: await tempDir(), batchSize: 10, batchWindowMs: 5, retryDelayMs: 100 });
    await queue.send(range(0, 6).map((n) => envelope(n)));
    const { handler, batches, times } = recorder((m) => nOf(m) % 2 === 0 && m.receiveCount === 1);
    queue.start(handler);
    await until(() => expect(batches).toHaveLength(2));
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(90);
    const [first, second] = batches;
    expect(first!.map((m) => [nOf(m), m.receiveCount])).toEqual(range(0, 6).map((n) => [n, 1]));
    expect(second!.map((m) => [nOf(m), m.receiveCount])).toEqual([[0, 2], [2, 2], [4, 2]]);
    expect(second!.map((m) => m.id)).toEqual([0, 2, 4].map((i) => first![i]!.id));
    await until(() => expect(queue.stats()).toMatchObject({ depth: 0, inFlight: 0 }));
    await new Promise((r) => setTimeout(r, 150));
    expect(batches).toHaveLength(2);
  });

  it('counts a handler that throws as a failure of its whole batch', async () => {
    const errors: string[] = [];
    const queue = await openQueue({ dir: await tempDir(), batchWindowMs: 5, retryDelayMs: 10, onError: (_err, context) => errors.push(context) });
    await queue.send(range(0, 3).map((n) => envelope(n)));
    const seen: [number, number][] = [];
    queue.start(async (messages) => {
      seen.push(...messages.map((m): [number, number] => [nOf(m), m.receiveCount]));
      if (seen.length === 3) throw new Error('store down');
      return { failedIds: [] };
    });
    await until(() => expect(seen).toHaveLength(6));
    expect(seen).toEqual([[0, 1], [1, 1], [2, 1], [0, 2], [1, 2], [2, 2]]);
    expect(errors).toEqual(['handler']);
  });

  it('redelivers a batch whose handler outlives visibilityTimeoutMs', async () => {
    const queue = await openQueue({ dir: await tempDir(), batchWindowMs: 5, retryDelayMs: 10, visibilityTimeoutMs: 100 });
    await queue.send([envelope(0)]);
    const seen: number[] = [];
    queue.start(async (messages) => {
      seen.push(messages[0]!.receiveCount);
      if (seen.length === 1) await new Promise(() => {});
      return { failedIds: [] };
    });
    await until(() => expect(seen).toEqual([1, 2]));
    await until(() => expect(queue.stats()).toMatchObject({ depth: 0, inFlight: 0 }));
  });

  it('moves a message to the dead-letter file after maxReceiveCount receives, keeps it across a restart, and redrives it', async () => {
    const dir = await tempDir();
    const reported: DeadLetter[] = [];
    const options = { dir, batchWindowMs: 5, retryDelayMs: 10, maxReceiveCount: 3, onDeadLetter: (l: DeadLetter[]) => reported.push(...l) };
    const queue = await openQueue(options);
    await queue.send(range(0, 3).map((n) => envelope(n)));
    const { handler, deliveries } = recorder((m) => nOf(m) === 1);
    queue.start(handler);
    await until(() => expect(queue.stats()).toMatchObject({ depth: 0, inFlight: 0, deadLetters: 1 }));
    expect(deliveries().filter((m) => nOf(m) === 1).map((m) => m.receiveCount)).toEqual([1, 2, 3]);
    expect(reported.map((l) => [nOf(l), l.receiveCount])).toEqual([[1, 3]]);
    await queue.close();

    const reopened = await openQueue(options);
    expect(reopened.recovery.pending).toBe(0);
    expect(reopened.stats().deadLetters).toBe(1);
    const [letter] = await reopened.deadLetters();
    expect(letter).toMatchObject({ id: reported[0]!.id, receiveCount: 3, envelope: envelope(1) });

    const after = recorder();
    reopened.start(after.handler);
    expect(await reopened.redrive()).toBe(1);
    await until(() => expect(after.deliveries().map((m) => [nOf(m), m.receiveCount])).toEqual([[1, 1]]));
    expect(await reopened.deadLetters()).toEqual([]);
    expect(reopened.stats().deadLetters).toBe(0);
  });

  it('replays the unacknowledged messages after a restart, in order, with their receive counts, and not the acknowledged ones', async () => {
    const dir = await tempDir();
    const queue = await openQueue({ dir, batchSize: 4, batchWindowMs: 5, retryDelayMs: 60_000 });
    await queue.send(range(0, 10).map((n) => envelope(n, 3)));
    const { handler, batches } = recorder((m) => nOf(m) >= 4);
    queue.start(handler);
    await until(() => expect(batches).toHaveLength(3));
    await queue.close();

    const reopened = await openQueue({ dir, batchWindowMs: 5 });
    expect(reopened.recovery.pending).toBe(6);
    expect(reopened.stats()).toMatchObject({ depth: 6, depthRecords: 18 });
    const after = recorder();
    reopened.start(after.handler);
    await until(() => expect(after.deliveries()).toHaveLength(6));
    expect(after.deliveries().map((m) => [nOf(m), m.receiveCount])).toEqual(range(4, 10).map((n) => [n, 2]));
    expect(after.deliveries()[0]!.envelope).toEqual(envelope(4, 3));
  });

  it('stores an envelope given with recordsJson as that text, and delivers the same records live and after a restart', async () => {
    const dir = await tempDir();
    const queue = await openQueue({ dir, batchWindowMs: 5 });
    const records = [{ sensor: 's1', t: 1.5, note: 'café \u2028' }, { sensor: 's2', t: -0.25 }];
    await queue.send([{ ...envelope(7), records, recordsJson: ` ${JSON.stringify(records, null, 1)}` }]);
    const live = recorder(() => true);
    queue.start(live.handler);
    await until(() => expect(live.deliveries()).toHaveLength(1));
    expect(live.deliveries()[0]!.envelope).toEqual({ ...envelope(7), records });
    await queue.close();

    const reopened = await openQueue({ dir, batchWindowMs: 5 });
    const after = recorder();
    reopened.start(after.handler);
    await until(() => expect(after.deliveries()).toHaveLength(1));
    expect(after.deliveries()[0]!.envelope).toEqual({ ...envelope(7), records });
  });

  it.each([
    ['random bytes', async (_segment: Buffer) => Buffer.from([0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x42, 0x99])],
    ['a partial frame', async (segment: Buffer) => segment.subarray(0, 40)],
    ['zeros', async (_segment: Buffer) => Buffer.alloc(64)],
  ])('drops a torn last write (%s) and recovers every message before it', async (_name, garbage) => {
    const dir = await tempDir();
    const queue = await openQueue({ dir });
    await queue.send(range(0, 5).map((n) => envelope(n)));
    await queue.close();
    const [last] = (await segmentFiles(dir)).slice(-1);
    const path = join(dir, last!);
    const tail = await garbage(await readFile(path));
    await appendFile(path, tail);

    const reopened = await openQueue({ dir });
    expect(reopened.recovery).toMatchObject({ pending: 5, tornBytes: tail.length });
    await reopened.send([envelope(5)]);
    await reopened.close();

    const again = await openQueue({ dir, batchWindowMs: 5 });
    expect(again.recovery).toMatchObject({ pending: 6, tornBytes: 0 });
    const { handler, deliveries } = recorder();
    again.start(handler);
    await until(() => expect(deliveries().map(nOf)).toEqual(range(0, 6)));
  });

  it('deletes a segment once all its messages are acknowledged, keeping the active one', async () => {
    const dir = await tempDir();
    const queue = await openQueue({ dir, segmentBytes: 4_096, batchWindowMs: 5 });
    for (const n of range(0, 20)) await queue.send([envelope(n, 1, 900)]);
    const before = await segmentFiles(dir);
    expect(before.length).toBeGreaterThanOrEqual(4);
    expect(queue.stats().segments).toBe(before.length);
    const { handler, deliveries } = recorder();
    queue.start(handler);
    await until(() => expect(deliveries()).toHaveLength(20));
    await until(async () => expect(await segmentFiles(dir)).toHaveLength(1));
    expect(before.slice(0, -1).filter((f) => existsSync(join(dir, f)))).toEqual([]);
    expect(queue.stats().segments).toBe(1);
    await queue.close();
    expect((await openQueue({ dir })).recovery.pending).toBe(0);
  });

  it('keeps the acknowledgments of an older segment when a newer segment holding them is deleted first', async () => {
    const dir = await tempDir();
    const options = { dir, segmentBytes: 4_096, batchWindowMs: 5, retryDelayMs: 60_000 };
    const queue = await openQueue(options);
    for (const n of range(0, 5)) await queue.send([envelope(n, 1, 900)]);
    const { handler, deliveries } = recorder((m) => nOf(m) === 0);
    queue.start(handler);
    await until(() => expect(deliveries()).toHaveLength(5));
    const withAcks = await segmentFiles(dir);
    expect(withAcks).toHaveLength(2);
    for (const n of range(5, 20)) await queue.send([envelope(n, 1, 900)]);
    await until(() => expect(deliveries()).toHaveLength(20));
    await until(async () => expect(await segmentFiles(dir)).not.toContain(withAcks[1]));
    expect(await segmentFiles(dir)).toContain(withAcks[0]);
    await queue.close();

    const reopened = await openQueue({ ...options, retryDelayMs: 10 });
    expect(reopened.recovery.pending).toBe(1);
    const after = recorder();
    reopened.start(after.handler);
    await until(() => expect(after.deliveries().map((m) => [nOf(m), m.receiveCount])).toEqual([[0, 2]]));
  });

  it('throws BackPressureError rather than hold more than maxDepthRecords records, and accepts again once drained', async () => {
    const queue = await openQueue({ dir: await tempDir(), maxDepthRecords: 10, batchWindowMs: 5 });
    await queue.send([envelope(0, 6)]);
    const refused = queue.send([envelope(1, 5)]);
    await expect(refused).rejects.toBeInstanceOf(BackPressureError);
    await expect(refused).rejects.toMatchObject({ code: 'service.back_pressure' });
    expect(queue.stats().depthRecords).toBe(6);
    const { handler, deliveries } = recorder();
    queue.start(handler);
    await until(() => expect(queue.stats().depthRecords).toBe(0));
    await queue.send([envelope(1, 5)]);
    await until(() => expect(deliveries().map(nOf)).toEqual([0, 1]));
  });

  it('turns a failed write into QueueUnavailableError with its cause, and cuts its partial frame so later sends stay readable', async () => {
    const dir = await tempDir();
    const queue = await openQueue({ dir });
    await queue.send([envelope(0)]);
    const proto = await fileHandlePrototype(dir);
    const original = proto.writev;
    const writev = vi.spyOn(proto, 'writev').mockImplementationOnce(async function (this: FileHandle, buffers: readonly NodeJS.ArrayBufferView[]) {
      await original.call(this, [Buffer.from(buffers[0]!.buffer, buffers[0]!.byteOffset, 10)]);
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    });
    try {
      const failed = queue.send([envelope(1)]);
      await expect(failed).rejects.toBeInstanceOf(QueueUnavailableError);
      await expect(failed).rejects.toMatchObject({ cause: { code: 'ENOSPC' } });
    } finally {
      writev.mockRestore();
    }
    await queue.send([envelope(2)]);
    await queue.close();
    const reopened = await openQueue({ dir, batchWindowMs: 5 });
    const { handler, deliveries } = recorder();
    reopened.start(handler);
    await until(() => expect(deliveries().map(nOf)).toEqual([0, 2]));
  });

  it('refuses every later send once an fdatasync has failed', async () => {
    const dir = await tempDir();
    const queue = await openQueue({ dir });
    const datasync = vi.spyOn(await fileHandlePrototype(dir), 'datasync').mockRejectedValueOnce(Object.assign(new Error('input/output error'), { code: 'EIO' }));
    try {
      await expect(queue.send([envelope(0)])).rejects.toMatchObject({ code: 'queue.unavailable', cause: { code: 'EIO' } });
      await expect(queue.send([envelope(1)])).rejects.toBeInstanceOf(QueueUnavailableError);
    } finally {
      datasync.mockRestore();
    }
  });

  it('refuses sends with QueueUnavailableError once closed', async () => {
    const queue = await openQueue({ dir: await tempDir() });
    await queue.close();
    await expect(queue.send([envelope(0)])).rejects.toBeInstanceOf(QueueUnavailableError);
  });

  it('refuses to open a directory another holder has open', async () => {
    const dir = await tempDir();
    await openQueue({ dir });
    await expect(FileQueue.open({ dir })).rejects.toBeInstanceOf(QueueUnavailableError);
  });

  it('rejects an unknown option at open', async () => {
    await expect(FileQueue.open({ dir: await tempDir(), batchsize: 10 } as FileQueueOptions)).rejects.toThrow(/batchsize/);
  });
});

describe('FileQueue under kill -9', () => {
  const child = fileURLToPath(new URL('../fixtures/file-queue-child.ts', import.meta.url));

  /** Runs the child until it has acknowledged `atLeast` more sends, then SIGKILLs it. */
  async function runAndKill(dir: string, first: number, atLeast: number) {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    const consumed: number[] = [];
    let out = '';
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.once('exit', (_code, signal) => resolve(signal)));
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        const [kind, n] = line.split(' ');
        if (kind === 'a') acked.push(Number(n));
        if (kind === 'c') consumed.push(Number(n));
      }
      if (acked.length >= atLeast && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    const signal = await exited;
    expect(signal, `child exited on its own: ${err}`).toBe('SIGKILL');
    return { acked, consumed };
  }

  it('delivers every envelope whose send was acknowledged before the kill, over three crash-restart rounds', async () => {
    const dir = await tempDir();
    const acked = new Set<number>();
    const consumed = new Set<number>();
    for (const round of range(0, 3)) {
      const result = await runAndKill(dir, round * 1_000_000, 400 + round * 150);
      expect(result.acked.length).toBeGreaterThanOrEqual(400);
      for (const n of result.acked) acked.add(n);
      for (const n of result.consumed) consumed.add(n);
    }

    const queue = await openQueue({ dir, batchWindowMs: 5 });
    const { handler, deliveries } = recorder();
    queue.start(handler);
    await until(() => expect(queue.stats()).toMatchObject({ depth: 0, inFlight: 0 }), 15_000);
    const delivered = new Set([...consumed, ...deliveries().map(nOf), ...(await queue.deadLetters()).map(nOf)]);
    const lost = [...acked].filter((n) => !delivered.has(n));
    expect(lost).toEqual([]);
    expect(acked.size).toBeGreaterThanOrEqual(1_200);
  });
});
