import {
  type BatchResultErrorEntry,
  KmsThrottled,
  RequestThrottled,
  SendMessageBatchCommand,
  type SQSClient,
  SQSServiceException,
} from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { QueueUnavailableError } from '../domain/errors';
import type { IngestEnvelope, IngestQueue } from '../ports';
import { encodeEnvelopeMessages } from './ingest-message';

/** SendMessageBatch takes at most 10 entries (API reference). */
const MAX_BATCH_ENTRIES = 10;
/**
 * 256 KiB: the classic SQS limit on one message and on the sum of a batch (the same number for both in
 * the SendMessageBatch API reference). Newer queues allow 1 MiB; 256 KiB is safe on every queue.
 */
const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
const BACKOFF_BASE_MS = 50;
const BACKOFF_CAP_MS = 2_000;

/**
 * What `SqsIngestQueue` takes.
 *
 * @example
 * const options: SqsIngestQueueOptions = { client: new SQSClient({}), queueUrl: process.env.QUEUE_URL! };
 */
export interface SqsIngestQueueOptions {
  client: SQSClient;
  queueUrl: string;
  /** Bytes per message and per SendMessageBatch call (default 256 KiB). */
  maxMessageBytes?: number;
  /** Attempts for messages SQS did not take because of a failure on its side (default 4). */
  maxAttempts?: number;
  /** Waits between attempts; tests pass one that does not wait. */
  sleep?: (ms: number) => Promise<void>;
}

const Options = z.object({
  queueUrl: z.url(),
  maxMessageBytes: z.number().int().min(1024).max(1024 * 1024).default(DEFAULT_MAX_MESSAGE_BYTES),
  maxAttempts: z.number().int().min(1).max(10).default(4),
});

interface Message {
  body: string;
  bytes: number;
}

/** What one SendMessageBatch call left to do. */
interface BatchOutcome {
  retry: Message[];
  /** A failure retrying cannot fix (the sender's fault, a missing queue, denied access). */
  fatal?: { message: string; cause: unknown };
  /** Why the retried messages were not taken. */
  lastFailure?: unknown;
}

// SQS has no exception class per server-side failure; the SDK marks them all with `$fault: 'server'`.
const isTransient = (err: unknown): boolean =>
  err instanceof RequestThrottled || err instanceof KmsThrottled || (err instanceof SQSServiceException && err.$fault === 'server');

const describeEntry = (f: BatchResultErrorEntry): string => `${f.Code ?? 'unknown'}${f.Message ? `: ${f.Message}` : ''}`;

/**
 * `IngestQueue` on Amazon SQS. Each envelope becomes one JSON message, or several when its JSON is larger
 * than a message may be (the records are split in order, see `encodeEnvelopeMessages`). Messages go out
 * in SendMessageBatch calls of at most 10 entries and `maxMessageBytes` in total.
 *
 * A batch call can succeed with some entries `Failed`: those that are not the sender's fault, and whole
 * calls that were throttled or failed on the server, are sent again with exponential backoff and full
 * jitter. `send` resolves only when SQS has taken every message; otherwise it throws a
 * `QueueUnavailableError` whose `cause` is the SDK error or the failed entry. Messages taken before the
 * failure stay queued: the caller does not acknowledge, the client sends again, and the writer's
 * idempotent writes absorb the duplicates.
 *
 * @example
 * const queue = new SqsIngestQueue({ client: new SQSClient({}), queueUrl: config.QUEUE_URL });
 * await queue.send([{ streamId: 'freezers', receivedAt: Date.now(), source: 'http', records }]);
 */
export class SqsIngestQueue implements IngestQueue {
  private readonly client: SQSClient;
  private readonly queueUrl: string;
  private readonly maxBytes: number;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: SqsIngestQueueOptions) {
    const parsed = Options.parse({
      queueUrl: options.queueUrl,
      ...(options.maxMessageBytes !== undefined && { maxMessageBytes: options.maxMessageBytes }),
      ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
    });
    this.client = options.client;
    this.queueUrl = parsed.queueUrl;
    this.maxBytes = parsed.maxMessageBytes;
    this.maxAttempts = parsed.maxAttempts;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async send(envelopes: IngestEnvelope[]): Promise<void> {
    let pending: Message[] = [];
    for (const e of envelopes) {
      for (const body of encodeEnvelopeMessages(e, this.maxBytes)) pending.push({ body, bytes: Buffer.byteLength(body) });
    }
    const total = pending.length;
    let lastFailure: unknown;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const outcomes = await Promise.all(this.batches(pending).map((b) => this.sendBatch(b)));
      const fatal = outcomes.find((o) => o.fatal)?.fatal;
      if (fatal) throw new QueueUnavailableError(fatal.message, { cause: fatal.cause });
      pending = outcomes.flatMap((o) => o.retry);
      lastFailure = outcomes.find((o) => o.lastFailure !== undefined)?.lastFailure ?? lastFailure;
      if (pending.length === 0) return;
      if (attempt >= this.maxAttempts) break;
      await this.sleep(Math.floor(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1))));
    }
    throw new QueueUnavailableError(`SQS did not take ${pending.length} of ${total} messages after ${this.maxAttempts} attempts.`, { cause: lastFailure });
  }

  /** Packs messages in order into calls of at most 10 entries and `maxBytes` bytes. */
  private batches(messages: Message[]): Message[][] {
    const out: Message[][] = [];
    let batch: Message[] = [];
    let bytes = 0;
    for (const m of messages) {
      if (batch.length === MAX_BATCH_ENTRIES || (batch.length > 0 && bytes + m.bytes > this.maxBytes)) {
        out.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(m);
      bytes += m.bytes;
    }
    if (batch.length) out.push(batch);
    return out;
  }

  private async sendBatch(batch: Message[]): Promise<BatchOutcome> {
    try {
      const out = await this.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: batch.map((m, i) => ({ Id: String(i), MessageBody: m.body })) }),
      );
      const taken = new Set((out.Successful ?? []).map((s) => s.Id));
      const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
      const retry: Message[] = [];
      let lastFailure: unknown;
      for (let i = 0; i < batch.length; i++) {
        const id = String(i);
        const f = failed.get(id);
        if (f?.SenderFault) return { retry: [], fatal: { message: `SQS refused a message as malformed (${describeEntry(f)}).`, cause: f } };
        // neither taken nor failed is not taken: send it again rather than assume
        if (f || !taken.has(id)) {
          retry.push(batch[i]!);
          lastFailure = f ?? lastFailure;
        }
      }
      return { retry, lastFailure };
    } catch (err) {
      if (isTransient(err)) return { retry: batch, lastFailure: err };
      const name = err instanceof SQSServiceException ? err.name : 'the queue could not be reached';
      return { retry: [], fatal: { message: `SQS SendMessageBatch failed (${name}).`, cause: err } };
    }
  }
}
