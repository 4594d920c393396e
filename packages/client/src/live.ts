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
