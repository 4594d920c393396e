import type { Stream } from '../../shared/domain/stream-definition';
import { streamHealth, type StreamHealth } from '../../shared/domain/stream-health';
import type { QueueDepth, QueueDepthReader, StreamStats } from '../../shared/ports';
import type { Logger } from '../commons/http';

/** The status's `processing` section (the Data Streams document's names): the queue is every stream's. */
export interface ProcessingStatus {
  /** Messages in the ingest queue, every stream's (absent when the queue could not be asked). */
  queueLength?: number;
  /** True in AWS (SQS's estimate), false on one machine (the file queue's exact count). */
  approximate?: boolean;
  /** Points stored per minute over the last minute, as the document writes it: `95.2/min`. */
  processingRate: string;
  lastProcessed?: string;
}

/**
 * The `health` and `processing` sections of `GET /v1/streams/{id}/status`.
 *
 * @example
 * const queue = await healthStatus.queue(depth, log);
 * const { health, processing } = healthStatus.of(stream, stats, queue, Date.now());
 */
export const healthStatus = {
  /** The queue's depth, or undefined (logged) when it cannot be read: the status still answers. */
  async queue(reader: QueueDepthReader, log: Logger): Promise<QueueDepth | undefined> {
    try {
      return await reader.depth();
    } catch (err) {
      log.error('queue depth unavailable', { error: (err as Error).name, reason: (err as Error).message });
      return undefined;
    }
  },

  of(stream: Stream, stats: StreamStats, queue: QueueDepth | undefined, now: number): { health: StreamHealth; processing: ProcessingStatus } {
    const health = streamHealth({ stream, buckets: stats.healthBuckets ?? [], ...(stats.lastDataAt !== undefined && { lastDataAt: stats.lastDataAt }), now });
    const perMinute = Math.round(health.pointsPerSecond.lastMinute * 60 * 10) / 10;
    return {
      health,
      processing: {
        ...(queue && { queueLength: queue.messages, approximate: queue.approximate }),
        processingRate: `${perMinute}/min`,
        ...(health.lastProcessed !== undefined && { lastProcessed: health.lastProcessed }),
      },
    };
  },
};
