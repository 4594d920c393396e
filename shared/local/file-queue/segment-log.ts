/**
 * The queue's append-only log: segment files written with group commit (one write and one fdatasync
 * shared by every append that arrives together), rolled past `segmentBytes`, and deleted once every
 * message in them is done.
 */
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { QueueUnavailableError } from '../../domain/errors';
import { frameHead, KIND } from './frame-codec';
import type { Entry, FileQueueSettings, Segment } from './types';

/**
 * A segment's file name: `segment-<base>.log`, `<base>` (15 digits) the first seq the segment may hold.
 *
 * @example
 * const files = names.filter((name) => SEGMENT_FILE.test(name));
 */
export const SEGMENT_FILE = /^segment-(\d{15})\.log$/;

/**
 * The file name of the segment starting at seq `base`.
 *
 * @example
 * const path = join(dir, segmentName(1));
 */
export const segmentName = (base: number) => `segment-${String(base).padStart(15, '0')}.log`;

/** One group-commit unit: the frames of one `send`, or a control frame. */
export interface Append {
  parts: Buffer[];
  bytes: number;
  durable: boolean;
  /** The highest message seq in `parts`, if any. */
  lastSeq?: number;
  done(segment: Segment): void;
  fail(error: QueueUnavailableError): void;
}

/** What the log needs from its queue. */
interface LogOwner {
  /** The entries not yet done, for the state frames written before a segment is deleted. */
  pending(): Iterable<Entry>;
  /** A failure no caller can be told of. */
  report(error: unknown): void;
}

/**
 * The segment files of one queue directory, appended to in order.
 *
 * @example
 * const log = await SegmentLog.open(settings, replay.segments, replay.activeEnd, replay.nextSeq, owner);
 * log.append({ parts, bytes, durable: true, lastSeq, done, fail });
 */
export class SegmentLog {
  private appendQueue: Append[] = [];
  private flushing: Promise<void> | undefined;
  private broken: unknown;
  private writtenUpTo: number;
  private readonly background = new Set<Promise<unknown>>();

  private constructor(
    private readonly settings: FileQueueSettings,
    private segments: Segment[],
    private active: Segment,
    private handle: FileHandle,
    private activeBytes: number,
    nextSeq: number,
    private readonly owner: LogOwner,
  ) {
    this.writtenUpTo = nextSeq - 1;
  }

  /**
   * Opens the log on the segments replay found (their last one active, or a new one at `nextSeq`), cutting
   * the active segment at `activeEnd`, where its valid frames end.
   *
   * @example
   * const log = await SegmentLog.open(settings, replay.segments, replay.activeEnd, replay.nextSeq, owner);
   */
  static async open(settings: FileQueueSettings, segments: Segment[], activeEnd: number | undefined, nextSeq: number, owner: LogOwner): Promise<SegmentLog> {
    const { dir } = settings;
    let active = segments.at(-1);
    if (!active) {
      active = { base: nextSeq, path: join(dir, segmentName(nextSeq)), live: 0, retiring: false };
      segments.push(active);
    }
    const handle = await open(active.path, 'a');
    try {
      if (activeEnd !== undefined && activeEnd < (await handle.stat()).size) {
        await handle.truncate(activeEnd);
        if (settings.fsync) await handle.datasync();
      }
      if (settings.fsync) await syncDir(dir);
      const size = (await handle.stat()).size;
      return new SegmentLog(settings, segments, active, handle, size, nextSeq, owner);
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  }

  /** Segment files now, the active one included. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Throws once a write or an fsync has failed: nothing written since would be safe. */
  assertWritable(): void {
    if (this.broken !== undefined) throw unavailable(this.broken);
  }

  /** Queues frames for the next group commit; `done` or `fail` is called once they are written (or not). */
  append(item: Append): void {
    if (this.broken !== undefined) return item.fail(unavailable(this.broken));
    this.appendQueue.push(item);
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  /** Appends a frame that need not be durable; resolves to whether it was written (failures are reported). */
  appendControl(kind: number, value: unknown): Promise<boolean> {
    const payload = Buffer.from(JSON.stringify(value));
    const head = frameHead(kind, payload);
    return new Promise<boolean>((resolve) => {
      this.append({
        parts: [head, payload],
        bytes: head.length + payload.length,
        durable: false,
        done: () => resolve(true),
        fail: (error) => {
          this.owner.report(error);
          resolve(false);
        },
      });
    });
  }

  /** Deletes every segment, other than the active one, whose messages are all done. */
  retire(): void {
    for (const segment of this.segments) {
      if (segment === this.active || segment.live > 0 || segment.retiring) continue;
      segment.retiring = true;
      const task = this.deleteSegment(segment).finally(() => this.background.delete(task));
      this.background.add(task);
    }
  }

  /** Waits for every queued append and segment deletion, then closes the active segment. */
  async close(): Promise<void> {
    while (this.flushing || this.background.size > 0) await Promise.allSettled([this.flushing, ...this.background]);
    await this.handle.close().catch(() => {});
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

  private async deleteSegment(segment: Segment): Promise<void> {
    const older = this.segments.filter((s) => s.base < segment.base && !s.retiring);
    if (older.length > 0) {
      // Acks for older segments' messages may sit in this one: restate what is still pending in them.
      const pending = new Map<Segment, [number, number][]>(older.map((s) => [s, []]));
      for (const entry of this.owner.pending()) pending.get(entry.segment)?.push([entry.seq, entry.receiveCount]);
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
      this.owner.report(err);
    }
  }
}

/**
 * Writes every buffer of `parts` at the end of the file, or throws.
 *
 * @example
 * await writeAll(handle, [head, payload]);
 */
export async function writeAll(handle: FileHandle, parts: Buffer[]): Promise<void> {
  let expected = 0;
  for (const part of parts) expected += part.length;
  // libuv writes every buffer (in IOV_MAX chunks, retrying short writes) or fails; check anyway.
  const { bytesWritten } = await handle.writev(parts);
  if (bytesWritten !== expected) throw new Error(`Short write: ${bytesWritten} of ${expected} bytes.`);
}

/**
 * fsyncs a directory, so the files created or deleted in it survive a crash.
 *
 * @example
 * await syncDir(dir);
 */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The error a caller gets for a failed disk operation: `cause` itself when it already is one.
 *
 * @example
 * throw unavailable(err);
 */
export function unavailable(cause: unknown): QueueUnavailableError {
  return cause instanceof QueueUnavailableError ? cause : new QueueUnavailableError('The queue cannot write to disk.', { cause });
}
