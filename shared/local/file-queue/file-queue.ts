/**
 * The local stand-in for SQS, its Lambda event source mapping and its DLQ: a durable, in-process queue
 * kept as an append-only log of segment files.
 *
 * On disk, in `dir`:
 * - `segment-<base>.log`: frames (`frame-codec.ts`), appended in order (`segment-log.ts`). `<base>` (15
 *   digits) is the first sequence number the segment may hold; the segments sort by it. The newest one is the
 *   active one (appended to).
 * - `dead-letters.log`: frames of messages received `maxReceiveCount` times without success.
 * - `lock/` and `holder.pid`: the directory's lock, which the OS releases when its holder dies, and who holds
 *   it (`directory-lock.ts`).
 *
 * Frames other than messages are written without fsync: losing one after a crash only means a message is
 * delivered again (or with a lower `receiveCount`), and the writer's store writes are idempotent.
 */
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { BackPressureError, QueueUnavailableError } from '../../domain/errors';
import type { IngestEnvelope, IngestQueue, QueueDepth, QueueDepthReader } from '../../ports';
import { type DirectoryLock, lockDirectory } from './directory-lock';
import { envelopeJson, frameHead, KIND } from './frame-codec';
import { countDeadLetters, DEAD_LETTER_FILE, readDeadLetters, type Replay, replaySegments } from './replay';
import { SegmentLog, syncDir, unavailable, writeAll } from './segment-log';
import {
  type BatchHandler,
  type DeadLetter,
  type Entry,
  type FileQueueMessage,
  type FileQueueOptions,
  type FileQueueRecovery,
  type FileQueueSettings,
  type FileQueueStats,
  parseFileQueueOptions,
} from './types';

/**
 * A durable, in-process queue: SQS, the Lambda event source mapping and the DLQ, on one machine.
 *
 * `send` resolves once its envelopes are fdatasync'ed; sends that arrive together share one write and one
 * fsync (group commit). The consumer gets batches in order, one at a time; failed messages come back after
 * `retryDelayMs` and go to the dead-letter file after `maxReceiveCount` receives. The queue keeps the sent
 * envelope objects for the consumer (do not mutate one after sending it); disk is read only by `open`.
 * Delivery is at least once: an acknowledgment is written without fsync, so a crash may deliver a message
 * again.
 *
 * @example
 * const queue = await FileQueue.open({ dir: '.tributary/queue', batchSize: 100, batchWindowMs: 50 });
 * queue.start(async (messages) => ({ failedIds: await writeAll(messages) }));
 * await queue.send([{ streamId: 'freezers', receivedAt: Date.now(), source: 'http', records }]);
 * await queue.close();
 */
export class FileQueue implements IngestQueue, QueueDepthReader {
  /** What `open` found on disk. */
  readonly recovery: FileQueueRecovery;

  private readonly ready = new Fifo<Entry>();
  private readonly delayed = new Fifo<Entry>();
  private inFlight: Entry[] = [];
  private records = 0;
  private reserved = 0;
  private nextSeq: number;
  private deadLetterCount: number;

  private closing = false;
  private closed = false;
  private deadLetterLock: Promise<unknown> = Promise.resolve();
  private deadLetterHandle: FileHandle | undefined;

  private consumer: Promise<void> | undefined;
  private running = false;
  private wakeup: (() => void) | undefined;

  private constructor(
    private readonly settings: FileQueueSettings,
    private readonly lock: DirectoryLock,
    private readonly log: SegmentLog,
    replay: Replay,
    deadLetters: number,
  ) {
    this.nextSeq = replay.nextSeq;
    this.deadLetterCount = deadLetters;
    for (const entry of replay.entries.values()) {
      this.ready.push(entry);
      this.records += entry.records;
    }
    this.recovery = { segments: log.segmentCount, pending: replay.entries.size, tornBytes: replay.tornBytes };
  }

  /**
   * Opens (or creates) the queue in `options.dir`: replays every segment, drops a torn last write and
   * rebuilds the pending messages in order. Throws `QueueUnavailableError` if the directory cannot be used
   * or another process has it open, and a TypeError for bad options.
   *
   * @example
   * const queue = await FileQueue.open({ dir: join(dataDir, 'queue'), maxReceiveCount: 5 });
   */
  static async open(options: FileQueueOptions): Promise<FileQueue> {
    const settings = parseFileQueueOptions(options);
    const dir = resolvePath(settings.dir);
    settings.dir = dir;
    let lock: DirectoryLock | undefined;
    try {
      await mkdir(dir, { recursive: true });
      lock = await lockDirectory(dir);
      const replay = await replaySegments(dir);
      const deadLetters = await countDeadLetters(dir);
      let queue: FileQueue | undefined;
      // the log calls back only once it is used, after the queue exists
      const log = await SegmentLog.open(settings, replay.segments, replay.activeEnd, replay.nextSeq, {
        pending: () => queue!.pending(),
        report: (error) => queue!.report(error, 'disk'),
      });
      queue = new FileQueue(settings, lock, log, replay, deadLetters);
      log.retire();
      return queue;
    } catch (err) {
      await lock?.release();
      if (err instanceof QueueUnavailableError) throw err;
      throw new QueueUnavailableError(`The queue in '${dir}' cannot be opened.`, { cause: err });
    }
  }

  /**
   * Queues the envelopes; resolves once they are on disk and fdatasync'ed, one message per envelope.
   * Throws `BackPressureError` when the queue would hold more than `maxDepthRecords` records, and
   * `QueueUnavailableError` when the disk fails or the queue is closed: the caller must not acknowledge
   * the data then.
   *
   * @example
   * await queue.send([{ streamId: 'freezers', receivedAt: Date.now(), source: 'mqtt', deviceId: 'f1', records }]);
   */
  async send(envelopes: IngestEnvelope[]): Promise<void> {
    if (this.closing) throw new QueueUnavailableError('The queue is closed.');
    this.log.assertWritable();
    if (envelopes.length === 0) return;
    let records = 0;
    for (const envelope of envelopes) records += envelope.records.length;
    const held = this.records + this.reserved;
    if (held + records > this.settings.maxDepthRecords) {
      throw new BackPressureError(`The queue holds ${held} records (limit ${this.settings.maxDepthRecords}); retry later.`);
    }
    const parts: Buffer[] = [];
    let bytes = 0;
    const firstSeq = this.nextSeq;
    for (const envelope of envelopes) {
      const payload = Buffer.from(envelopeJson(envelope));
      const head = frameHead(KIND.message, payload, this.nextSeq++);
      parts.push(head, payload);
      bytes += head.length + payload.length;
    }
    this.reserved += records;
    await new Promise<void>((resolve, reject) => {
      this.log.append({
        parts,
        bytes,
        durable: true,
        lastSeq: this.nextSeq - 1,
        done: (segment) => {
          this.reserved -= records;
          this.records += records;
          segment.live += envelopes.length;
          envelopes.forEach(({ recordsJson: _text, ...envelope }, i) => {
            const seq = firstSeq + i;
            this.ready.push({ seq, id: String(seq), envelope, records: envelope.records.length, receiveCount: 0, segment, visibleAt: 0 });
          });
          this.notify();
          resolve();
        },
        fail: (error) => {
          this.reserved -= records;
          reject(error);
        },
      });
    });
  }

  /**
   * Starts delivering batches to `handler`, one batch at a time. Throws if already started.
   *
   * @example
   * queue.start(async (messages) => {
   *   const summary = await writeBatch(messages);
   *   return { failedIds: summary.failedIds };
   * });
   */
  start(handler: BatchHandler): void {
    if (this.closing) throw new QueueUnavailableError('The queue is closed.');
    if (this.consumer) throw new Error('The queue already has a consumer.');
    this.running = true;
    this.consumer = this.consume(handler);
  }

  /**
   * Stops delivering; resolves once the batch in flight (if any) is settled. A later `start` resumes.
   *
   * @example
   * await queue.stop();
   */
  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await this.consumer;
    this.consumer = undefined;
  }

  /**
   * Stops the consumer, waits for pending writes and releases the directory.
   *
   * @example
   * await queue.close();
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    this.closing = true;
    await this.deadLetterLock;
    await this.log.close();
    this.closed = true;
    await this.deadLetterHandle?.close().catch(() => {});
    await this.lock.release();
  }

  /**
   * Counts of the queue now.
   *
   * @example
   * const { depth, inFlight, deadLetters } = queue.stats();
   */
  stats(): FileQueueStats {
    return {
      depth: this.ready.length + this.delayed.length,
      inFlight: this.inFlight.length,
      deadLetters: this.deadLetterCount,
      depthRecords: this.records,
      segments: this.log.segmentCount,
    };
  }

  /** The exact count of messages not yet acknowledged (waiting and in flight): the status's queue length. */
  depth(): Promise<QueueDepth> {
    return Promise.resolve({ messages: this.ready.length + this.delayed.length + this.inFlight.length, approximate: false });
  }

  /**
   * Reads the dead-letter file, oldest first.
   *
   * @example
   * for (const letter of await queue.deadLetters()) console.log(letter.id, letter.envelope.streamId);
   */
  deadLetters(): Promise<DeadLetter[]> {
    return this.withDeadLetters(async () => (await readDeadLetters(this.settings.dir)).letters);
  }

  /**
   * Moves every dead letter back onto the queue (as new messages, `receiveCount` 0) and empties the
   * dead-letter file; resolves to how many moved. A crash in between leaves them in both: at least once.
   *
   * @example
   * const moved = await queue.redrive();
   */
  redrive(): Promise<number> {
    return this.withDeadLetters(async () => {
      const { letters } = await readDeadLetters(this.settings.dir);
      if (letters.length === 0) return 0;
      await this.send(letters.map((letter) => letter.envelope));
      try {
        const handle = await this.deadLetterFile();
        await handle.truncate(0);
        if (this.settings.fsync) await handle.datasync();
      } catch (err) {
        throw unavailable(err);
      }
      this.deadLetterCount = 0;
      return letters.length;
    });
  }

  // The consumer.

  private async consume(handler: BatchHandler): Promise<void> {
    const { batchSize, batchWindowMs, retryDelayMs, batchRecords = Number.POSITIVE_INFINITY } = this.settings;
    // nothing is in flight here, so `this.records` is what waits: enough of it fills a batch by records
    const unfilled = (available: number) => available < batchSize && this.records < batchRecords;
    while (this.running) {
      try {
        let available = this.available(Date.now());
        if (available === 0) {
          await this.waitForWork(this.nextVisible() - Date.now());
          continue;
        }
        if (unfilled(available) && batchWindowMs > 0) {
          const deadline = Date.now() + batchWindowMs;
          while (this.running && unfilled(available) && Date.now() < deadline) {
            await this.waitForWork(Math.min(deadline, this.nextVisible()) - Date.now());
            available = this.available(Date.now());
          }
          if (!this.running) break;
        }
        await this.deliver(handler, this.take(Date.now()));
      } catch (err) {
        this.report(err, 'disk');
        await this.waitForWork(retryDelayMs);
      }
    }
  }

  private async deliver(handler: BatchHandler, batch: Entry[]): Promise<void> {
    if (batch.length === 0) return;
    this.inFlight = batch;
    for (const entry of batch) entry.receiveCount++;
    void this.log.appendControl(KIND.received, batch.map((e) => e.seq));
    const messages = batch.map((e) => ({ id: e.id, envelope: e.envelope, receiveCount: e.receiveCount }));
    let failed: Set<string>;
    try {
      const result = await this.withVisibilityTimeout(handler, messages);
      if (!Array.isArray(result?.failedIds)) throw new TypeError('The handler must resolve to { failedIds: string[] }.');
      failed = new Set(result.failedIds);
    } catch (err) {
      this.report(err, 'handler');
      failed = new Set(batch.map((e) => e.id));
    }
    const acked: Entry[] = [];
    const dead: Entry[] = [];
    const retryAt = Date.now() + this.settings.retryDelayMs;
    for (const entry of batch) {
      if (!failed.has(entry.id)) acked.push(entry);
      else if (entry.receiveCount >= this.settings.maxReceiveCount) dead.push(entry);
      else {
        entry.visibleAt = retryAt;
        this.delayed.push(entry);
      }
    }
    this.finish(acked);
    this.inFlight = dead;
    if (dead.length > 0) await this.deadLetter(dead);
    this.inFlight = [];
  }

  private async withVisibilityTimeout(handler: BatchHandler, messages: FileQueueMessage[]) {
    const call = Promise.resolve().then(() => handler(messages));
    const { visibilityTimeoutMs } = this.settings;
    if (visibilityTimeoutMs === undefined) return call;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`The handler held the batch past visibilityTimeoutMs (${visibilityTimeoutMs} ms).`)), visibilityTimeoutMs);
    });
    call.catch(() => {});
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async deadLetter(entries: Entry[]): Promise<void> {
    const deadAt = Date.now();
    const letters = entries.map((e) => ({ id: e.id, envelope: e.envelope, receiveCount: e.receiveCount, deadAt }));
    try {
      await this.withDeadLetters(async () => {
        const parts = letters.flatMap((letter) => {
          const payload = Buffer.from(JSON.stringify(letter));
          return [frameHead(KIND.dead, payload), payload];
        });
        const handle = await this.deadLetterFile();
        const size = (await handle.stat()).size;
        try {
          await writeAll(handle, parts);
          if (this.settings.fsync) await handle.datasync();
        } catch (err) {
          await handle.truncate(size).catch(() => {});
          throw err;
        }
        this.deadLetterCount += letters.length;
      });
    } catch (err) {
      this.report(err, 'disk');
      const retryAt = Date.now() + this.settings.retryDelayMs;
      for (const entry of entries) {
        entry.visibleAt = retryAt;
        this.delayed.push(entry);
      }
      return;
    }
    this.finish(entries);
    try {
      this.settings.onDeadLetter?.(letters);
    } catch (err) {
      this.report(err, 'handler');
    }
  }

  /** Acknowledges entries taken off the queue: an ack frame, the counts, and the segments they free. */
  private finish(entries: Entry[]): void {
    if (entries.length === 0) return;
    let freed = false;
    for (const entry of entries) {
      this.records -= entry.records;
      if (--entry.segment.live === 0) freed = true;
    }
    void this.log.appendControl(KIND.acked, entries.map((e) => e.seq));
    if (freed) this.log.retire();
  }

  private available(now: number): number {
    let visible = 0;
    for (let i = 0; i < this.delayed.length && visible < this.settings.batchSize; i++) {
      if (this.delayed.at(i).visibleAt > now) break;
      visible++;
    }
    return visible + this.ready.length;
  }

  private nextVisible(): number {
    return this.delayed.length > 0 ? this.delayed.at(0).visibleAt : Number.POSITIVE_INFINITY;
  }

  /** Failed messages due again first (they are older), then new ones: both in send order. */
  private take(now: number): Entry[] {
    const { batchSize, batchRecords = Number.POSITIVE_INFINITY } = this.settings;
    const batch: Entry[] = [];
    let records = 0;
    const room = () => batch.length < batchSize && records < batchRecords;
    while (room() && this.delayed.length > 0 && this.delayed.at(0).visibleAt <= now) records += batch[batch.push(this.delayed.shift()) - 1]!.records;
    batch.sort((a, b) => a.seq - b.seq);
    while (room() && this.ready.length > 0) records += batch[batch.push(this.ready.shift()) - 1]!.records;
    return batch;
  }

  private waitForWork(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        if (this.wakeup === wake) this.wakeup = undefined;
        resolve();
      };
      const timer = Number.isFinite(ms) ? setTimeout(wake, Math.max(0, ms)) : undefined;
      this.wakeup = wake;
    });
  }

  private notify(): void {
    this.wakeup?.();
  }

  private report(error: unknown, context: 'handler' | 'disk'): void {
    if (this.settings.onError) this.settings.onError(error, context);
    else console.error(JSON.stringify({ level: 'error', message: `file queue: ${context} failure`, error: String(error) }));
  }

  /** Every entry not yet done: waiting, delayed or in flight. */
  private *pending(): Iterable<Entry> {
    yield* this.ready;
    yield* this.delayed;
    yield* this.inFlight;
  }

  // The dead-letter file.

  private withDeadLetters<T>(task: () => Promise<T>): Promise<T> {
    const run = this.deadLetterLock.then(task, task);
    this.deadLetterLock = run.catch(() => {});
    return run;
  }

  private async deadLetterFile(): Promise<FileHandle> {
    if (!this.deadLetterHandle) {
      this.deadLetterHandle = await open(join(this.settings.dir, DEAD_LETTER_FILE), 'a');
      if (this.settings.fsync) await syncDir(this.settings.dir);
    }
    return this.deadLetterHandle;
  }
}

// Framing.


/** An array queue with O(1) shift, for millions of pending messages. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  at(index: number): T {
    return this.items[this.head + index]!;
  }

  shift(): T {
    const item = this.items[this.head++]!;
    if (this.head > 4_096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}
