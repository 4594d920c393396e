/**
 * What the domain and the functions need from the world. `shared/aws` implements these on AWS SDK v3
 * clients, `shared/local` on embedded engines; the contract suites in `test/contract` hold every adapter
 * to the same behaviour.
 */
import type { DataQuery, LatestQuery, Row } from './domain/query';
import type { Stream } from './domain/stream-definition';
import type { Datapoint } from './domain/validate-record';

/** Reads the time; tests pass a fixed one. @example const clock: Clock = { now: () => Date.now() }; */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** One point a store refused, with why. `index` is its position in the written array. */
export interface RejectedPoint {
  index: number;
  reason: string;
}

export interface WriteResult {
  written: number;
  rejected: RejectedPoint[];
}

/**
 * Where datapoints live: Timestream in AWS, DuckDB on one machine.
 *
 * Writing the same point twice (same stream, dimensions and time) is harmless: the second write changes
 * nothing. Rows come ordered by time (then by `q.keyDimensions`, missing values as ''), ascending or
 * descending as `q.order` says; `q.after` means strictly after that row in this order.
 *
 * @example
 * const { written, rejected } = await store.write(stream, points);
 * const rows = await store.query(stream, { ...q, limit: q.limit + 1 });
 */
export interface PointStore {
  /** Throws `StoreUnavailableError` when the store cannot take the batch now (retry later). */
  write(stream: Stream, points: Datapoint[]): Promise<WriteResult>;
  /** At most `q.limit` rows. */
  query(stream: Stream, q: DataQuery): Promise<Row[]>;
  /** The newest row of each series (each distinct combination of dimension values). */
  latest(stream: Stream, q: LatestQuery): Promise<Row[]>;
}

/** What travels on the ingest queue: records of one stream, as received (validated again by the writer). */
export interface IngestEnvelope {
  streamId: string;
  /** Epoch ms: the time given to records that carry none. */
  receivedAt: number;
  source: 'http' | 'mqtt' | 'pull';
  deviceId?: string;
  records: unknown[];
  /**
   * `records` as the JSON text of an array, when the sender already holds it (an HTTP body queued whole):
   * a queue that stores JSON may write it instead of encoding the records again. Never part of a message.
   */
  recordsJson?: string;
}

/**
 * The buffer between ingest and the writer: SQS in AWS, a durable log on one machine.
 *
 * @example
 * await queue.send([{ streamId: 'freezers', receivedAt: Date.now(), source: 'http', records }]);
 */
export interface IngestQueue {
  /**
   * Resolves only once every envelope is durably queued (splitting large ones into several messages).
   * Throws `QueueUnavailableError` otherwise, or `BackPressureError` when the queue is too deep to take
   * more now; the caller must not acknowledge the data then.
   */
  send(envelopes: IngestEnvelope[]): Promise<void>;
}

/** Per-stream counters, updated once per written batch. */
export interface StreamStats {
  lastDataAt?: string;
  pointsTotal: number;
  pointsToday: number;
  /** Records that failed validation after they were queued (e.g. MQTT in AWS). */
  invalidCount: number;
  /** Records the store refused. */
  rejectedCount: number;
  /** The latest invalid or refused records, newest first, with their reason (a record cut to 1 KiB comes back as text). */
  recentRejections: { at: string; reason: string; record?: unknown }[];
}

export interface StatsDelta {
  /** Epoch ms of the batch. */
  at: number;
  points: number;
  /** Records that failed validation in the writer. */
  invalid: number;
  /** Records the store refused. */
  rejected: number;
  /** A few of the invalid or refused records with their reason (the counts above are exact). */
  samples: { reason: string; record?: unknown }[];
}

export interface ListStreamsOptions {
  tags?: Record<string, string>;
  limit?: number;
  cursor?: string;
}

/**
 * Streams and their counters: DynamoDB in AWS, DynamoDB's API on dynalite on one machine.
 *
 * @example
 * await registry.create(stream);
 * const found = await registry.get(stream.id);
 */
export interface StreamRegistry {
  /** Throws `StreamConflictError` if the id is taken, or was used by a deleted stream. */
  create(stream: Stream): Promise<void>;
  get(id: string): Promise<Stream | undefined>;
  /** `limit` 1-1000 (default 100); a cursor it did not issue is a `BadRequestError`. */
  list(options?: ListStreamsOptions): Promise<{ streams: Stream[]; nextCursor?: string }>;
  /** Optimistic: throws `StreamConflictError` if the stored version is not `stream.version - 1`. */
  update(stream: Stream): Promise<void>;
  /** Removes the stream and its tokens; its id is never reused. Throws `StreamNotFoundError`. */
  delete(id: string): Promise<void>;
  addStats(streamId: string, delta: StatsDelta): Promise<void>;
  getStats(streamId: string, now: number): Promise<StreamStats>;
}

export type Scope = 'admin' | `ingest:${string}` | `read:${string}`;

/** A token as stored: its SHA-256 hash, never the token itself. */
export interface TokenRecord {
  hash: string;
  scopes: Scope[];
  streamId?: string;
  createdAt: string;
  label?: string;
}

/**
 * Hashed bearer tokens.
 *
 * @example
 * await tokens.put({ hash: hashToken(token), scopes: ['ingest:freezers'], streamId: 'freezers', createdAt });
 */
export interface TokenStore {
  put(token: TokenRecord): Promise<void>;
  find(hash: string): Promise<TokenRecord | undefined>;
  /** Deletes every token of a stream. */
  deleteForStream(streamId: string): Promise<void>;
}
