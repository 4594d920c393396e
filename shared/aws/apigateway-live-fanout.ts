import { GoneException, PostToConnectionCommand, type ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { dataUpdate, filterKey, framesOf, type LiveMessage } from '../domain/live-messages';
import type { Stream } from '../domain/stream-definition';
import type { Datapoint } from '../domain/validate-record';
import type { Clock, LiveConnection, LiveConnectionStore, LiveFanout } from '../ports';

/** What the writer gives the fan-out of one batch: past it, posts still in flight are abandoned. */
export const DEFAULT_FANOUT_BUDGET_MS = 2_000;
/** Posts in flight at once per batch. */
export const DEFAULT_FANOUT_CONCURRENCY = 16;
/** At most one `metrics_update` per stream this often, from one writer instance's view. */
export const METRICS_EVERY_MS = 5_000;

export interface ApiGatewayLiveFanoutOptions {
  /** The management API client, with the stage's callback endpoint (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`). */
  client: ApiGatewayManagementApiClient;
  connections: LiveConnectionStore;
  clock: Clock;
  /** Logs what could not be posted (never a frame's content). */
  onError?: (reason: string, fields: Record<string, unknown>) => void;
  budgetMs?: number;
  concurrency?: number;
}

/**
 * Live subscriptions in AWS: each batch's points and alerts posted to the stream's API Gateway WebSocket
 * connections (`PostToConnection`), one connection-table query per stream and batch, each distinct filter
 * rendered once. Frames stay under API Gateway's 128 KB (a large `data_update` is cut into `part`s). A
 * connection that answers 410 Gone is removed from the table. The whole fan-out of a batch has a time budget,
 * and posts carry an abort signal at its end, so a slow endpoint costs the writer at most the budget; frames
 * not posted by then are lost for that connection (subscribers see a gap, never a slower ingest).
 *
 * @example
 * const live = new ApiGatewayLiveFanout({ client: new ApiGatewayManagementApiClient({ endpoint }), connections, clock: systemClock });
 * await live.publishPoints(stream, points);
 */
export class ApiGatewayLiveFanout implements LiveFanout {
  private readonly client: ApiGatewayManagementApiClient;
  private readonly connections: LiveConnectionStore;
  private readonly clock: Clock;
  private readonly onError: (reason: string, fields: Record<string, unknown>) => void;
  private readonly budgetMs: number;
  private readonly concurrency: number;
  /** Per stream: [epoch ms, points] this instance stored lately, and when it last sent `metrics_update`. */
  private readonly seen = new Map<string, { batches: [number, number][]; sentAt: number }>();

  constructor(options: ApiGatewayLiveFanoutOptions) {
    if (!options.client || !options.connections) throw new TypeError('ApiGatewayLiveFanout needs a client and a connection store.');
    this.client = options.client;
    this.connections = options.connections;
    this.clock = options.clock;
    this.onError = options.onError ?? (() => {});
    this.budgetMs = options.budgetMs ?? DEFAULT_FANOUT_BUDGET_MS;
    this.concurrency = options.concurrency ?? DEFAULT_FANOUT_CONCURRENCY;
  }

  async publishPoints(stream: Stream, points: readonly Datapoint[]): Promise<void> {
    const now = this.clock.now();
    const connections = await this.list(stream.id, now);
    if (!connections.length || !points.length) return;
    const metrics = this.metrics(stream, points.length, now);
    const rendered = new Map<string, string[]>();
    const posts: [LiveConnection, string][] = [];
    for (const c of connections) {
      const key = filterKey(c.filter);
      let frames = rendered.get(key);
      if (!frames) {
        const update = dataUpdate(stream, points, c.filter);
        rendered.set(key, (frames = update ? framesOf(update) : []));
      }
      for (const f of frames) posts.push([c, f]);
      for (const m of metrics) posts.push([c, m]);
    }
    await this.post(posts);
  }

  async publish(streamId: string, message: LiveMessage): Promise<void> {
    const connections = await this.list(streamId, this.clock.now());
    const frames = framesOf(message);
    await this.post(connections.flatMap((c) => frames.map((f) => [c, f] as [LiveConnection, string])));
  }

  private async list(streamId: string, now: number): Promise<LiveConnection[]> {
    try {
      return await this.connections.list(streamId, now);
    } catch (err) {
      this.onError('live connections not read', { streamId, error: (err as Error).name });
      return [];
    }
  }

  /** `metrics_update` and `stream_status` frames when this stream's last ones are older than `METRICS_EVERY_MS`. */
  private metrics(stream: Stream, points: number, now: number): string[] {
    const streamId = stream.id;
    let s = this.seen.get(streamId);
    if (!s) this.seen.set(streamId, (s = { batches: [], sentAt: 0 }));
    s.batches = s.batches.filter(([at]) => at > now - 10_000);
    s.batches.push([now, points]);
    if (now - s.sentAt < METRICS_EVERY_MS) return [];
    s.sentAt = now;
    const total = s.batches.reduce((n, [, c]) => n + c, 0);
    const message: LiveMessage = { type: 'metrics_update', streamId, at: new Date(now).toISOString(), windowSeconds: 10, points: total, pointsPerSecond: Math.round((total / 10) * 100) / 100, lastProcessed: new Date(now).toISOString() };
    const status: LiveMessage = { type: 'stream_status', streamId, status: stream.state, lastDataAt: new Date(now).toISOString(), at: new Date(now).toISOString() };
    return [JSON.stringify(message), JSON.stringify(status)];
  }

  private async post(posts: [LiveConnection, string][]): Promise<void> {
    if (!posts.length) return;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.budgetMs);
    const expired = new Promise<never>((_, reject) => abort.signal.addEventListener('abort', () => reject(new Error('fan-out budget spent')), { once: true }));
    expired.catch(() => {});
    const gone = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < posts.length && !abort.signal.aborted) {
        const [c, frame] = posts[next++]!;
        if (gone.has(c.connectionId)) continue;
        try {
          // raced with the budget as well: a transport that ignores the signal still lets the writer go on
          await Promise.race([this.client.send(new PostToConnectionCommand({ ConnectionId: c.connectionId, Data: new TextEncoder().encode(frame) }), { abortSignal: abort.signal }), expired]);
        } catch (err) {
          if (err instanceof GoneException) gone.add(c.connectionId);
          else if (!abort.signal.aborted) this.onError('live post failed', { streamId: c.streamId, connectionId: c.connectionId, error: (err as Error).name });
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.concurrency, posts.length) }, worker));
    } finally {
      clearTimeout(timer);
    }
    await Promise.all(
      [...gone].map((id) => this.connections.remove(id).catch((err: unknown) => this.onError('gone connection not removed', { connectionId: id, error: (err as Error).name }))),
    );
  }
}
