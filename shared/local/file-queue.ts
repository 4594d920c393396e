/**
 * The local stand-in for SQS, its Lambda event source mapping and its DLQ: a durable, in-process queue
 * kept as an append-only log of segment files.
 *
 * On disk, in `dir`:
 * - `segment-<base>.log`: frames, appended in order. `<base>` (15 digits) is the first sequence number the
 *   segment may hold; the segments sort by it. The newest one is the active one (appended to).
 * - `dead-letters.log`: frames of messages received `maxReceiveCount` times without success.
 * - `queue.lock`: the pid of the process that has the queue open.
 *
 * A frame is `u32 LE length | u32 LE crc32(length bytes ‖ body) | body`, and a body is `u8 kind | …`:
 * - 1 message: `u48 LE seq | envelope JSON`; written by `send`, fdatasync'ed before `send` resolves.
 * - 2 received: JSON array of seqs, written as a batch is handed to the handler (for `receiveCount`).
 * - 3 acknowledged: JSON array of seqs the handler processed, or that went to the dead-letter file.
 * - 4 state: `{base, pending: [[seq, receiveCount]…]}`: every message of segment `base` not listed is done.
 *   Written before a segment is deleted ahead of older ones, so their acks are not lost with it.
 * - 5 dead letter (dead-letters.log only): `{id, envelope, receiveCount, deadAt}` JSON.
 *
 * Frames 2-4 are written without fsync: losing one after a crash only means a message is delivered again
 * (or with a lower `receiveCount`), and the writer's store writes are idempotent.
 */
import { type FileHandle, mkdir, open, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { BackPressureError, QueueUnavailableError } from '../domain/errors';
import type { IngestEnvelope, IngestQueue } from '../ports';

/**
 * A message as the handler receives it; `id` is what it returns in `failedIds`.
 *
 * @example
 * const failedIds = messages.filter((m: FileQueueMessage) => m.receiveCount < 3 && !written(m)).map((m) => m.id);
 */
export interface FileQueueMessage {
  id: string;
  envelope: IngestEnvelope;
  /** 1 on the first delivery. */
  receiveCount: number;
}

/**
 * Processes one batch. Messages not listed in `failedIds` are acknowledged; a handler that throws fails
 * the whole batch.
 *
 * @example
 * const handler: BatchHandler = async (messages) => ({ failedIds: messages.filter(isBad).map((m) => m.id) });
 */
export type BatchHandler = (messages: FileQueueMessage[]) => Promise<{ failedIds: string[] }>;

/**
 * A message that failed `maxReceiveCount` times, as kept in `dead-letters.log`.
 *
 * @example
 * const letters: DeadLetter[] = await queue.deadLetters();
 */
export interface DeadLetter {
  id: string;
  envelope: IngestEnvelope;
  receiveCount: number;
  /** Epoch ms. */
  deadAt: number;
}

/**
 * What `stats()` reports.
 *
 * @example
 * const { depth, inFlight, deadLetters } = queue.stats();
 */
export interface FileQueueStats {
  /** Messages waiting (ready, or failed and waiting for `retryDelayMs`), in-flight ones excluded. */
  depth: number;
  /** Messages in the batch the handler holds now. */
  inFlight: number;
  deadLetters: number;
  /** Records in every message not yet acknowledged, in flight included: what `maxDepthRecords` bounds. */
  depthRecords: number;
  segments: number;
}

/**
 * What `FileQueue.open` found on disk.
 *
 * @example
 * if (queue.recovery.tornBytes > 0) log.info('dropped an unacknowledged torn write', queue.recovery);
 */
export interface FileQueueRecovery {
  segments: number;
  /** Messages found not yet acknowledged. */
  pending: number;
  /** Bytes dropped after the last valid frame of a segment (a write that was never acknowledged). */
  tornBytes: number;
}

/**
 * Options of `FileQueue.open`, checked when it opens (an unknown key or a bad value throws a TypeError).
 *
 * @example
 * const options: FileQueueOptions = { dir: '.tributary/queue', batchSize: 100, batchWindowMs: 50 };
 */
export interface FileQueueOptions {
  dir: string;
  /** Most messages per batch (default 100). */
  batchSize?: number;
  /**
   * A batch stops growing once it holds this many records (default: no cap); it always takes at least one
   * message. Lets a large `batchSize` gather many one-record messages (MQTT) without gathering as many big ones.
   */
  batchRecords?: number;
  /** How long to wait for a batch to fill once a message is there (default 50 ms), like SQS's batching window. */
  batchWindowMs?: number;
  /** Receives before a failing message moves to the dead-letter file (default 3). */
  maxReceiveCount?: number;
  /**
   * How long a handler may hold a batch (default: no limit). Past it the batch counts as failed and the next
   * one is delivered; the late handler is not stopped, so its writes may overlap the next batch's.
   */
  visibilityTimeoutMs?: number;
  /** Delay before a failed message is delivered again (default 1000 ms). */
  retryDelayMs?: number;
  /** A segment file is closed and a new one started past this size (default 64 MiB). */
  segmentBytes?: number;
  /** fdatasync before `send` resolves (default true). Only benchmarks turn it off. */
  fsync?: boolean;
  /** `send` throws `BackPressureError` rather than hold more records than this (default 5 000 000). */
  maxDepthRecords?: number;
  /** Called once messages are durably in the dead-letter file. */
  onDeadLetter?: (letters: DeadLetter[]) => void;
  /** Failures no caller can be told of: a handler that threw, an ack or segment deletion that failed. */
  onError?: (error: unknown, context: 'handler' | 'disk') => void;
}

const DAY_MS = 86_400_000;
const fn = <T>() => z.custom<T>((v) => typeof v === 'function', 'expected a function');
const optionsSchema = z.strictObject({
  dir: z.string().min(1),
  batchSize: z.int().min(1).max(100_000).default(100),
  batchRecords: z.int().min(1).optional(),
  batchWindowMs: z.number().min(0).max(600_000).default(50),
  maxReceiveCount: z.int().min(1).default(3),
  visibilityTimeoutMs: z.number().positive().max(DAY_MS).optional(),
  retryDelayMs: z.number().min(0).max(DAY_MS).default(1_000),
  segmentBytes: z.int().min(1_024).max(1 << 30).default(64 * 1024 * 1024),
  fsync: z.boolean().default(true),
  maxDepthRecords: z.int().min(1).default(5_000_000),
  onDeadLetter: fn<(letters: DeadLetter[]) => void>().optional(),
  onError: fn<(error: unknown, context: 'handler' | 'disk') => void>().optional(),
});
type Settings = z.output<typeof optionsSchema>;

const HEADER = 8;
const MESSAGE_PREFIX = 7;
const KIND = { message: 1, received: 2, acked: 3, state: 4, dead: 5 } as const;
const SEGMENT_FILE = /^segment-(\d{15})\.log$/;
const DEAD_LETTER_FILE = 'dead-letters.log';
const LOCK_FILE = 'queue.lock';
const segmentName = (base: number) => `segment-${String(base).padStart(15, '0')}.log`;

interface Segment {
  base: number;
  path: string;
  /** Messages of this segment not yet acknowledged or dead-lettered. */
  live: number;
  retiring: boolean;
}

interface Entry {
  seq: number;
  id: string;
  envelope: IngestEnvelope;
  records: number;
  receiveCount: number;
  segment: Segment;
  visibleAt: number;
}

/** One group-commit unit: the frames of one `send`, or a control frame. */
interface Append {
  parts: Buffer[];
  bytes: number;
  durable: boolean;
  /** The highest message seq in `parts`, if any. */
  lastSeq?: number;
  done(segment: Segment): void;
  fail(error: QueueUnavailableError): void;
}

/** Processes of this one holding a queue directory (the lock file guards against other processes). */
const openDirs = new Set<string>();

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
export class FileQueue implements IngestQueue {
  /** What `open` found on disk. */
  readonly recovery: FileQueueRecovery;

  private readonly ready = new Fifo<Entry>();
  private readonly delayed = new Fifo<Entry>();
  private inFlight: Entry[] = [];
  private records = 0;
  private reserved = 0;
  private nextSeq: number;
  private writtenUpTo: number;
  private deadLetterCount: number;

  private appendQueue: Append[] = [];
  private flushing: Promise<void> | undefined;
  private broken: unknown;
  private closing = false;
  private closed = false;
  private readonly background = new Set<Promise<unknown>>();
  private deadLetterLock: Promise<unknown> = Promise.resolve();
  private deadLetterHandle: FileHandle | undefined;

  private consumer: Promise<void> | undefined;
  private running = false;
  private wakeup: (() => void) | undefined;

  private constructor(
    private readonly settings: Settings,
    private segments: Segment[],
    private active: Segment,
    private handle: FileHandle,
    private activeBytes: number,
    replay: Replay,
  ) {
    this.nextSeq = replay.nextSeq;
    this.writtenUpTo = replay.nextSeq - 1;
    this.deadLetterCount = replay.deadLetters;
    for (const entry of replay.entries.values()) {
      this.ready.push(entry);
      this.records += entry.records;
    }
    this.recovery = { segments: segments.length, pending: replay.entries.size, tornBytes: replay.tornBytes };
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
    const parsed = optionsSchema.safeParse(options satisfies z.input<typeof optionsSchema>);
    if (!parsed.success) throw new TypeError(`Invalid FileQueue options:\n${z.prettifyError(parsed.error)}`);
    const settings = parsed.data;
    const dir = resolvePath(settings.dir);
    settings.dir = dir;
    let locked = false;
    let handle: FileHandle | undefined;
    try {
      await mkdir(dir, { recursive: true });
      await lock(dir);
      locked = true;
      const replay = await replaySegments(dir);
      replay.deadLetters = await countDeadLetters(dir);
      let active = replay.segments.at(-1);
      if (!active) {
        active = { base: replay.nextSeq, path: join(dir, segmentName(replay.nextSeq)), live: 0, retiring: false };
        replay.segments.push(active);
      }
      handle = await open(active.path, 'a');
      if (replay.activeEnd !== undefined && replay.activeEnd < (await handle.stat()).size) {
        await handle.truncate(replay.activeEnd);
        if (settings.fsync) await handle.datasync();
      }
      if (settings.fsync) await syncDir(dir);
      const size = (await handle.stat()).size;
      const queue = new FileQueue(settings, replay.segments, active, handle, size, replay);
      queue.retire();
      return queue;
    } catch (err) {
      await handle?.close().catch(() => {});
      if (locked) await unlock(dir);
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
    if (this.broken !== undefined) throw unavailable(this.broken);
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
      this.enqueue({
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
    while (this.flushing || this.background.size > 0) await Promise.allSettled([this.flushing, ...this.background]);
    this.closed = true;
    await this.handle.close().catch(() => {});
    await this.deadLetterHandle?.close().catch(() => {});
    await unlock(this.settings.dir);
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
      segments: this.segments.length,
    };
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
    void this.appendControl(KIND.received, batch.map((e) => e.seq));
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
    void this.appendControl(KIND.acked, entries.map((e) => e.seq));
    if (freed) this.retire();
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

  // The log writer: group commit.

  private enqueue(item: Append): void {
    if (this.broken !== undefined) return item.fail(unavailable(this.broken));
    this.appendQueue.push(item);
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  /** Writes everything queued, fsyncs once per segment if any of it must be durable, and repeats. */
  private async flush(): Promise<void> {
    for (;;) {
      const items = this.appendQueue;
      if (items.length === 0) {
        this.flushing = undefined;
        return;
      }
      this.appendQueue = [];
      if (this.broken !== undefined) {
        for (const item of items) item.fail(unavailable(this.broken));
        continue;
      }
      let run: Append[] = [];
      let runBytes = 0;
      for (const item of items) {
        const size = this.activeBytes + runBytes;
        if (size > 0 && size + item.bytes > this.settings.segmentBytes) {
          await this.commit(run, runBytes);
          run = [];
          runBytes = 0;
          if (this.broken === undefined) await this.roll();
        }
        if (this.broken !== undefined) {
          item.fail(unavailable(this.broken));
          continue;
        }
        run.push(item);
        runBytes += item.bytes;
      }
      await this.commit(run, runBytes);
    }
  }

  private async commit(run: Append[], bytes: number): Promise<void> {
    if (run.length === 0) return;
    for (const item of run) if (item.lastSeq !== undefined) this.writtenUpTo = item.lastSeq;
    try {
      await writeAll(this.handle, run.flatMap((item) => item.parts));
    } catch (err) {
      // A partial frame followed by later good ones would hide them from replay: cut it, or stop writing.
      await this.handle.truncate(this.activeBytes).catch((truncateError) => (this.broken = truncateError));
      for (const item of run) item.fail(unavailable(err));
      return;
    }
    this.activeBytes += bytes;
    if (this.settings.fsync && run.some((item) => item.durable)) {
      try {
        await this.handle.datasync();
      } catch (err) {
        // After a failed fsync the kernel may have dropped the dirty pages: nothing written since is safe.
        this.broken = err;
        for (const item of run) item.fail(unavailable(err));
        return;
      }
    }
    for (const item of run) item.done(this.active);
  }

  private async roll(): Promise<void> {
    const base = Math.max(this.writtenUpTo + 1, this.active.base + 1);
    const segment: Segment = { base, path: join(this.settings.dir, segmentName(base)), live: 0, retiring: false };
    try {
      const handle = await open(segment.path, 'a');
      if (this.settings.fsync) await syncDir(this.settings.dir);
      const previous = this.handle;
      this.handle = handle;
      this.active = segment;
      this.activeBytes = 0;
      this.segments.push(segment);
      await previous.close();
    } catch (err) {
      this.broken = err;
      return;
    }
    this.retire();
  }

  /** Appends a frame that need not be durable; resolves to whether it was written (failures are reported). */
  private appendControl(kind: number, value: unknown): Promise<boolean> {
    const payload = Buffer.from(JSON.stringify(value));
    const head = frameHead(kind, payload);
    return new Promise<boolean>((resolve) => {
      this.enqueue({
        parts: [head, payload],
        bytes: head.length + payload.length,
        durable: false,
        done: () => resolve(true),
        fail: (error) => {
          this.report(error, 'disk');
          resolve(false);
        },
      });
    });
  }

  // Segments.

  /** Deletes every segment, other than the active one, whose messages are all done. */
  private retire(): void {
    for (const segment of this.segments) {
      if (segment === this.active || segment.live > 0 || segment.retiring) continue;
      segment.retiring = true;
      const task = this.deleteSegment(segment).finally(() => this.background.delete(task));
      this.background.add(task);
    }
  }

  private async deleteSegment(segment: Segment): Promise<void> {
    const older = this.segments.filter((s) => s.base < segment.base && !s.retiring);
    if (older.length > 0) {
      // Acks for older segments' messages may sit in this one: restate what is still pending in them.
      const pending = new Map<Segment, [number, number][]>(older.map((s) => [s, []]));
      for (const entries of [this.ready, this.delayed, this.inFlight]) {
        for (const entry of entries) pending.get(entry.segment)?.push([entry.seq, entry.receiveCount]);
      }
      const written = await Promise.all([...pending].map(([s, list]) => this.appendControl(KIND.state, { base: s.base, pending: list })));
      if (written.includes(false)) {
        segment.retiring = false;
        return;
      }
    }
    try {
      await unlink(segment.path);
      this.segments = this.segments.filter((s) => s !== segment);
    } catch (err) {
      this.report(err, 'disk');
    }
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

/** An envelope as stored: its records' own JSON text when the sender gave it, else encoded here. */
function envelopeJson(envelope: IngestEnvelope): string {
  const { recordsJson, records, ...head } = envelope;
  if (recordsJson === undefined) return JSON.stringify({ ...head, records });
  return `${JSON.stringify(head).slice(0, -1)},"records":${recordsJson}}`;
}

function frameHead(kind: number, payload: Buffer, seq?: number): Buffer {
  const fixed = seq === undefined ? 1 : MESSAGE_PREFIX;
  const head = Buffer.allocUnsafe(HEADER + fixed);
  head.writeUInt32LE(fixed + payload.length, 0);
  head.writeUInt8(kind, HEADER);
  if (seq !== undefined) head.writeUIntLE(seq, HEADER + 1, 6);
  head.writeUInt32LE(crc32(payload, crc32(head.subarray(HEADER), crc32(head.subarray(0, 4)))), 4);
  return head;
}

/** Calls `visit` for each valid frame; returns where the valid frames end (a torn or corrupt frame stops it). */
function readFrames(buf: Buffer, visit: (kind: number, seq: number, payload: Buffer) => void): number {
  let offset = 0;
  while (offset + HEADER < buf.length) {
    const length = buf.readUInt32LE(offset);
    const end = offset + HEADER + length;
    if (length < 1 || end > buf.length) break;
    const body = buf.subarray(offset + HEADER, end);
    if (crc32(body, crc32(buf.subarray(offset, offset + 4))) !== buf.readUInt32LE(offset + 4)) break;
    const kind = body[0]!;
    if (kind === KIND.message) {
      if (length < MESSAGE_PREFIX) break;
      visit(kind, body.readUIntLE(1, 6), body.subarray(MESSAGE_PREFIX));
    } else if (kind >= KIND.received && kind <= KIND.dead) {
      visit(kind, 0, body.subarray(1));
    } else break;
    offset = end;
  }
  return offset;
}

async function writeAll(handle: FileHandle, parts: Buffer[]): Promise<void> {
  let expected = 0;
  for (const part of parts) expected += part.length;
  // libuv writes every buffer (in IOV_MAX chunks, retrying short writes) or fails; check anyway.
  const { bytesWritten } = await handle.writev(parts);
  if (bytesWritten !== expected) throw new Error(`Short write: ${bytesWritten} of ${expected} bytes.`);
}

// Recovery.

interface Replay {
  segments: Segment[];
  entries: Map<number, Entry>;
  nextSeq: number;
  tornBytes: number;
  /** Where the last segment's valid frames end. */
  activeEnd: number | undefined;
  deadLetters: number;
}

async function replaySegments(dir: string): Promise<Replay> {
  const files = (await readdir(dir))
    .map((name) => ({ name, match: SEGMENT_FILE.exec(name) }))
    .filter((f) => f.match)
    .map((f) => ({ path: join(dir, f.name), base: Number(f.match![1]) }))
    .sort((a, b) => a.base - b.base);
  const replay: Replay = { segments: [], entries: new Map(), nextSeq: 1, tornBytes: 0, activeEnd: undefined, deadLetters: 0 };
  const ranges = new Map<number, { segment: Segment; first: number; last: number }>();
  const { entries } = replay;
  for (const [index, file] of files.entries()) {
    const segment: Segment = { base: file.base, path: file.path, live: 0, retiring: false };
    const range = { segment, first: Number.POSITIVE_INFINITY, last: -1 };
    ranges.set(segment.base, range);
    replay.segments.push(segment);
    replay.nextSeq = Math.max(replay.nextSeq, file.base);
    const buf = await readFile(file.path);
    const end = readFrames(buf, (kind, seq, payload) => {
      if (kind === KIND.message) {
        const envelope = JSON.parse(payload.toString()) as IngestEnvelope;
        entries.set(seq, { seq, id: String(seq), envelope, records: envelope.records.length, receiveCount: 0, segment, visibleAt: 0 });
        segment.live++;
        range.first = Math.min(range.first, seq);
        range.last = seq;
        replay.nextSeq = Math.max(replay.nextSeq, seq + 1);
      } else if (kind === KIND.received) {
        for (const s of JSON.parse(payload.toString()) as number[]) {
          const entry = entries.get(s);
          if (entry) entry.receiveCount++;
        }
      } else if (kind === KIND.acked) {
        for (const s of JSON.parse(payload.toString()) as number[]) {
          const entry = entries.get(s);
          if (!entry) continue;
          entries.delete(s);
          entry.segment.live--;
        }
      } else if (kind === KIND.state) {
        const state = JSON.parse(payload.toString()) as { base: number; pending: [number, number][] };
        const target = ranges.get(state.base);
        if (!target) return;
        const counts = new Map(state.pending);
        for (let s = target.first; s <= target.last; s++) {
          const entry = entries.get(s);
          if (!entry) continue;
          const count = counts.get(s);
          if (count !== undefined) entry.receiveCount = count;
          else {
            entries.delete(s);
            target.segment.live--;
          }
        }
      }
    });
    replay.tornBytes += buf.length - end;
    if (index === files.length - 1) replay.activeEnd = end;
  }
  return replay;
}

async function readDeadLetters(dir: string): Promise<{ letters: DeadLetter[]; end: number }> {
  let buf: Buffer;
  try {
    buf = await readFile(join(dir, DEAD_LETTER_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { letters: [], end: 0 };
    throw err;
  }
  const letters: DeadLetter[] = [];
  const end = readFrames(buf, (kind, _seq, payload) => {
    if (kind === KIND.dead) letters.push(JSON.parse(payload.toString()) as DeadLetter);
  });
  return { letters, end };
}

async function countDeadLetters(dir: string): Promise<number> {
  const { letters, end } = await readDeadLetters(dir);
  const path = join(dir, DEAD_LETTER_FILE);
  if (letters.length > 0 || end > 0) {
    const handle = await open(path, 'r+');
    try {
      if ((await handle.stat()).size > end) await handle.truncate(end);
    } finally {
      await handle.close();
    }
  }
  return letters.length;
}

// The directory.

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function lock(dir: string): Promise<void> {
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
}

async function unlock(dir: string): Promise<void> {
  openDirs.delete(dir);
  await rm(join(dir, LOCK_FILE), { force: true }).catch(() => {});
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

function unavailable(cause: unknown): QueueUnavailableError {
  return cause instanceof QueueUnavailableError ? cause : new QueueUnavailableError('The queue cannot write to disk.', { cause });
}

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
