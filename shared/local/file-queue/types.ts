/**
 * The file queue's public types and its options, checked once at open.
 */
import * as z from 'zod';
import type { IngestEnvelope } from '../../ports';

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

/** The options once checked, defaults filled in and `dir` resolved by `FileQueue.open`. */
export type FileQueueSettings = z.output<typeof optionsSchema>;

/**
 * Checks `FileQueue.open`'s options and fills in the defaults; throws a TypeError naming every bad one.
 *
 * @example
 * const settings = parseFileQueueOptions({ dir: '.tributary/queue', batchSize: 100 });
 */
export function parseFileQueueOptions(options: FileQueueOptions): FileQueueSettings {
  const parsed = optionsSchema.safeParse(options satisfies z.input<typeof optionsSchema>);
  if (!parsed.success) throw new TypeError(`Invalid FileQueue options:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

// Internal to the folder: what the queue, its log and its replay share.

/** A segment file and what is left of it. */
export interface Segment {
  base: number;
  path: string;
  /** Messages of this segment not yet acknowledged or dead-lettered. */
  live: number;
  retiring: boolean;
}

/** A message the queue holds, from its send (or its replay) to its acknowledgment. */
export interface Entry {
  seq: number;
  id: string;
  envelope: IngestEnvelope;
  records: number;
  receiveCount: number;
  segment: Segment;
  visibleAt: number;
}
