import type { Transport } from './transport';

/** One message of a live subscription (README, “Live subscriptions”): `type` says which. */
export interface LiveMessage {
  type: 'data_update' | 'stream_status' | 'error_alert' | 'metrics_update' | 'dropped' | 'ping' | 'pong';
  streamId?: string;
  [key: string]: unknown;
}

export interface LiveOptions {
  /** Measure fields; all unless given. */
  fields?: string[];
  /** Only these series: dimension → one value or several. */
  dimensions?: Record<string, string | string[]>;
  /** `raw` (default) or a bin (`1s`, `10s`, `1m`, …). */
  granularity?: string;
  /** Ends the subscription. */
  signal?: AbortSignal;
  /** Reconnect after a drop or a closed connection, waiting this long first (ms); 1 000 unless given, 0: never. */
  reconnectMs?: number;
}

/** The query string of a subscription. */
export function liveQuery(options: Pick<LiveOptions, 'fields' | 'dimensions' | 'granularity'>): URLSearchParams {
  const q = new URLSearchParams();
  if (options.fields?.length) q.set('fields', options.fields.join(','));
  for (const [d, v] of Object.entries(options.dimensions ?? {})) q.set(`dim.${d}`, Array.isArray(v) ? v.join(',') : v);
  if (options.granularity) q.set('granularity', options.granularity);
  return q;
}

/**
 * A stream's live messages as Server-Sent Events (`GET /v1/streams/{id}/live`, `Accept: text/event-stream`),
 * reconnecting after a `dropped` notice or a closed connection until `signal` aborts. A refusal (401, 403,
 * 404, 400) is thrown. For a browser WebSocket, or AWS (whose HTTP API cannot stream: use its WebSocket API),
 * ask for a ticket with `liveTicket` and open `wss://…?ticket=…` with the subprotocol `tributary.v1`.
 *
 * @example
 * for await (const m of client.streams.live('freezers', { dimensions: { deviceId: 'f1' } })) {
 *   if (m.type === 'data_update') console.log(m.points);
 * }
 */
export async function* liveEvents(http: Transport, path: string, options: LiveOptions = {}): AsyncGenerator<LiveMessage> {
  const reconnectMs = options.reconnectMs ?? 1_000;
  const decoder = new TextDecoder();
  while (!options.signal?.aborted) {
    const res = await http.openEvents(path, liveQuery(options), options.signal);
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (data) yield JSON.parse(data) as LiveMessage;
        }
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      if (reconnectMs === 0) throw err;
    }
    if (reconnectMs === 0 || options.signal?.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, reconnectMs));
  }
}

/** The part of a WebSocket class `liveSocket` uses: the browser's `WebSocket`, or `ws`'s. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: any) => void): void;
}
export type WebSocketClass = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface LiveSocketOptions extends LiveOptions {
  /** The WebSocket class: `globalThis.WebSocket` unless given (pass `ws`'s on Node 20). */
  WebSocket?: WebSocketClass;
  /** In AWS, the stack's `LiveUrl` (`wss://…/live`): the stream goes in `?stream=`. Locally, unless given, the API's own `…/live` path. */
  url?: string;
  /** How often to send `{"type":"ping"}` (API Gateway closes a connection idle for 10 min); 5 min unless given. */
  pingMs?: number;
}

/**
 * A stream's live messages over a WebSocket, as the README advises: a fresh single-use ticket for each
 * connection (no token in the URL or a header), a ping every 5 minutes, and after any close (a drop, API
 * Gateway's 2 h limit, a network loss) a reconnect after a jittered backoff from `reconnectMs` doubling to
 * 30 s, until `signal` aborts. A refused ticket request is thrown.
 *
 * @example
 * for await (const m of client.streams.liveSocket('freezers', { WebSocket, url: stackOutputs.LiveUrl })) console.log(m);
 */
export async function* liveSocketEvents(
  http: Transport,
  streamId: string,
  ticket: () => Promise<{ ticket: string }>,
  options: LiveSocketOptions = {},
): AsyncGenerator<LiveMessage> {
  const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketClass }).WebSocket;
  if (!WS) throw new TypeError('liveSocket needs a WebSocket class: pass options.WebSocket (the ws package on Node 20).');
  const base = options.reconnectMs ?? 1_000;
  let backoff = base;
  while (!options.signal?.aborted) {
    const q = liveQuery(options);
    q.set('ticket', (await ticket()).ticket);
    const url = options.url
      ? `${options.url}?stream=${encodeURIComponent(streamId)}&${q}`
      : `${http.baseUrl.replace(/^http/, 'ws')}/v1/streams/${encodeURIComponent(streamId)}/live?${q}`;
    const queue: LiveMessage[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    let opened = false;
    const ws = new WS(url, ['tributary.v1']);
    const ping = setInterval(() => ws.readyState === 1 && ws.send('{"type":"ping"}'), options.pingMs ?? 300_000);
    const onAbort = () => ws.close(1000, 'done');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    ws.addEventListener('open', () => (opened = true));
    ws.addEventListener('message', (e: { data: unknown }) => {
      try {
        queue.push(JSON.parse(String(e.data)) as LiveMessage);
      } catch {
        return;
      }
      wake?.();
    });
    ws.addEventListener('close', () => {
      closed = true;
      wake?.();
    });
    ws.addEventListener('error', () => {});
    try {
      while (!closed || queue.length) {
        if (!queue.length) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        while (queue.length) yield queue.shift()!;
      }
    } finally {
      clearInterval(ping);
      options.signal?.removeEventListener('abort', onAbort);
      if (!closed) ws.close(1000, 'done');
    }
    if (options.reconnectMs === 0 || options.signal?.aborted) return;
    backoff = opened ? base : Math.min(backoff * 2, 30_000);
    await new Promise((resolve) => setTimeout(resolve, backoff / 2 + Math.random() * (backoff / 2)));
  }
}
