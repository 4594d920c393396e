// A stream's live messages: a WebSocket opened with a single-use ticket, falling back to Server-Sent Events when
// the socket cannot open; reconnects after any close with a new ticket, backing off 1 s doubling to 30 s with jitter.
import { api, liveUrl, sseUrl } from './api.js';

const PING_MS = 5 * 60_000;

/**
 * Subscribes to `id`'s live messages; `onMessage(message)` gets each parsed message, `onState(state, via)` the
 * connection's state ('connecting' | 'live' | 'offline') and transport ('websocket' | 'sse'). Returns a stop function.
 */
export function subscribe(id, { onMessage, onState }) {
  let stopped = false;
  let attempt = 0;
  let socket;
  let source;
  let timer;
  let ping;
  let preferSse = false;

  const ticket = async () => (await api(`/v1/streams/${encodeURIComponent(id)}/live-ticket`, { method: 'POST' })).ticket;
  const retry = () => {
    if (stopped) return;
    onState('offline', preferSse ? 'sse' : 'websocket');
    const ceiling = Math.min(30_000, 1_000 * 2 ** attempt++);
    timer = setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
  };
  const deliver = (data) => {
    try {
      onMessage(JSON.parse(data));
    } catch {
      // a frame that is not JSON is not ours
    }
  };

  async function connect() {
    if (stopped) return;
    onState('connecting', preferSse ? 'sse' : 'websocket');
    let t;
    try {
      t = await ticket();
    } catch {
      return retry();
    }
    if (stopped) return;
    if (!preferSse && 'WebSocket' in window) {
      let opened = false;
      socket = new WebSocket(liveUrl(id, `ticket=${encodeURIComponent(t)}`), ['tributary.v1']);
      socket.onopen = () => {
        opened = true;
        attempt = 0;
        onState('live', 'websocket');
        ping = setInterval(() => socket?.readyState === 1 && socket.send('{"type":"ping"}'), PING_MS);
      };
      socket.onmessage = (e) => deliver(e.data);
      socket.onclose = () => {
        clearInterval(ping);
        socket = undefined;
        // a socket that never opened (a proxy that drops upgrades): Server-Sent Events from now on
        if (!opened && 'EventSource' in window) preferSse = true;
        retry();
      };
      return;
    }
    source = new EventSource(sseUrl(id, `ticket=${encodeURIComponent(t)}`));
    source.onopen = () => {
      attempt = 0;
      onState('live', 'sse');
    };
    for (const type of ['data_update', 'stream_status', 'error_alert', 'metrics_update', 'dropped']) source.addEventListener(type, (e) => deliver(e.data));
    source.onerror = () => {
      // EventSource would retry with the used ticket: close it and start again with a new one
      source?.close();
      source = undefined;
      retry();
    };
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(ping);
    socket?.close(1000);
    source?.close();
  };
}
