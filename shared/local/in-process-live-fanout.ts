import { dataUpdate, filterKey, framesOf, type LiveFilter, type LiveMessage } from '../domain/live-messages';
import type { Stream } from '../domain/stream-definition';
import type { Datapoint } from '../domain/validate-record';
import type { Clock, LiveFanout } from '../ports';

/**
 * Bytes a subscriber may have waiting (unsent in its socket) when the next batch comes before it is dropped: 1 MiB
 * unless told. One connection holds at most this plus one batch's frames, beyond the kernel's socket buffers.
 */
export const DEFAULT_LIVE_BUFFER_BYTES = 1024 * 1024;
/** The window `metrics_update` counts points over. */
export const METRICS_WINDOW_MS = 10_000;

/** One connection as the fan-out sees it: a WebSocket or an SSE response (`infra/local/live-gateway.ts`). */
export interface LiveSubscriber {
  streamId: string;
  filter: LiveFilter;
  /** Bytes written and not yet taken by the client (ws `bufferedAmount`, an SSE response's `writableLength`). */
  buffered(): number;
  write(frame: string): void;
  /** Sends the `dropped` notice (best effort: the buffer is full) and closes the connection. */
  drop(notice: Extract<LiveMessage, { type: 'dropped' }>): void;
  /** Closes the connection with a WebSocket close code (an SSE response just ends). */
  close(code: number, reason: string): void;
}

/**
 * Live subscriptions on one machine: the writer's stored points go to the sockets of this process. Each
 * distinct filter of a stream is rendered once per batch, then written to every subscriber holding it. Writes
 * never wait: a subscriber whose unsent bytes are past `limitBytes` when a batch comes is dropped (a `dropped` notice, then
 * closed), so a stuck client costs the writer one comparison per batch and no memory beyond its bound.
 *
 * @example
 * const live = new InProcessLiveFanout({ clock: systemClock });
 * const unsubscribe = live.subscribe(subscriber);
 * await live.publishPoints(stream, points);
 */
export class InProcessLiveFanout implements LiveFanout {
  readonly limitBytes: number;
  private readonly clock: Clock;
  private readonly subs = new Map<string, Set<LiveSubscriber>>();
  /** Per stream: [epoch ms, points] of recent batches, and the time of the last one. */
  private readonly recent = new Map<string, { batches: [number, number][]; last?: number }>();

  constructor(options: { clock: Clock; limitBytes?: number }) {
    this.clock = options.clock;
    this.limitBytes = options.limitBytes ?? DEFAULT_LIVE_BUFFER_BYTES;
    if (!(this.limitBytes > 0)) throw new TypeError('InProcessLiveFanout needs a positive limitBytes.');
  }

  subscribe(sub: LiveSubscriber): () => void {
    let set = this.subs.get(sub.streamId);
    if (!set) this.subs.set(sub.streamId, (set = new Set()));
    set.add(sub);
    return () => this.unsubscribe(sub);
  }

  /** Subscribers of a stream (all streams without one). */
  count(streamId?: string): number {
    if (streamId !== undefined) return this.subs.get(streamId)?.size ?? 0;
    let n = 0;
    for (const set of this.subs.values()) n += set.size;
    return n;
  }

  /** Closes every subscriber of a stream (a deleted stream's), after `last` if given. */
  closeStream(streamId: string, code: number, reason: string, last?: LiveMessage): void {
    const set = this.subs.get(streamId);
    if (!set) return;
    const frames = last ? framesOf(last) : [];
    for (const sub of [...set]) {
      this.unsubscribe(sub);
      for (const f of frames) sub.write(f);
      sub.close(code, reason);
    }
  }

  /** Streams that have subscribers now. */
  streams(): string[] {
    return [...this.subs.keys()];
  }

  async publishPoints(stream: Stream, points: readonly Datapoint[]): Promise<void> {
    this.count_(stream.id, points.length);
    const set = this.subs.get(stream.id);
    if (!set?.size || !points.length) return;
    const rendered = new Map<string, string[]>();
    for (const sub of [...set]) {
      const key = filterKey(sub.filter);
      let frames = rendered.get(key);
      if (!frames) {
        const update = dataUpdate(stream, points, sub.filter);
        rendered.set(key, (frames = update ? framesOf(update) : []));
      }
      if (frames.length) this.deliver(sub, frames);
    }
  }

  async publish(streamId: string, message: LiveMessage): Promise<void> {
    const set = this.subs.get(streamId);
    if (!set?.size) return;
    const frames = framesOf(message);
    for (const sub of [...set]) this.deliver(sub, frames);
  }

  /** The stream's `metrics_update` now: points stored over the last window. */
  metrics(streamId: string): Extract<LiveMessage, { type: 'metrics_update' }> {
    const now = this.clock.now();
    const r = this.recent.get(streamId);
    const since = now - METRICS_WINDOW_MS;
    if (r) r.batches = r.batches.filter(([at]) => at > since);
    const points = r?.batches.reduce((n, [, c]) => n + c, 0) ?? 0;
    return {
      type: 'metrics_update',
      streamId,
      at: new Date(now).toISOString(),
      windowSeconds: METRICS_WINDOW_MS / 1000,
      points,
      pointsPerSecond: Math.round((points / (METRICS_WINDOW_MS / 1000)) * 100) / 100,
      ...(r?.last !== undefined && { lastProcessed: new Date(r.last).toISOString() }),
    };
  }

  private count_(streamId: string, points: number): void {
    if (!this.subs.has(streamId) && !this.recent.has(streamId)) return;
    const now = this.clock.now();
    let r = this.recent.get(streamId);
    if (!r) this.recent.set(streamId, (r = { batches: [] }));
    r.batches.push([now, points]);
    r.last = now;
    // a bound for a stream written thousands of times a window: older entries are past it anyway
    if (r.batches.length > 10_000) r.batches.splice(0, r.batches.length - 10_000);
  }

  private deliver(sub: LiveSubscriber, frames: string[]): void {
    // the backlog decides, not this batch's size: a reader that keeps up takes a large batch (written at once) and
    // drains it; one whose earlier frames still wait past the bound is behind, and goes
    if (sub.buffered() > this.limitBytes) {
      this.unsubscribe(sub);
      sub.drop({ type: 'dropped', streamId: sub.streamId, dropped: frames.length, limitBytes: this.limitBytes, reason: 'the subscriber did not read fast enough: its buffer passed the bound; reconnect to resume' });
      return;
    }
    for (const f of frames) sub.write(f);
  }

  private unsubscribe(sub: LiveSubscriber): void {
    const set = this.subs.get(sub.streamId);
    if (!set) return;
    set.delete(sub);
    if (set.size === 0) {
      this.subs.delete(sub.streamId);
      this.recent.delete(sub.streamId);
    }
  }
}
