// The `live` part of `npm run bench` (BENCH_PARTS=live): HTTP JSON ingest (stored points/s) on the local
// runtime with no live subscriber, then with one subscriber that never reads (its socket paused: the runtime
// drops it once 1 MiB waits unsent), then with a stuck one and one that reads every message. Issue 13's figure
// is the second rate over the first, to stay >= 0.95. A script: it asserts nothing.
import type { Socket } from 'node:net';
import WebSocket from 'ws';

export interface LiveBenchDeps {
  base: string;
  adminToken: string;
  createStream(streamId: string): Promise<void>;
  /** Loads the stream over HTTP and resolves once every point is stored. */
  load(streamId: string): Promise<{ storedPointsPerSec: number; accepted: number; failed: number }>;
}

interface Subscriber {
  ws: WebSocket;
  messages: number;
  bytes: number;
  closed?: { code: number; afterMs: number };
}

function subscribe(deps: LiveBenchDeps, streamId: string, started: number): Promise<Subscriber> {
  const ws = new WebSocket(`${deps.base.replace(/^http/, 'ws')}/v1/streams/${streamId}/live`, ['tributary.v1'], { headers: { authorization: `Bearer ${deps.adminToken}` } });
  const sub: Subscriber = { ws, messages: 0, bytes: 0 };
  ws.on('message', (d: Buffer) => {
    sub.messages++;
    sub.bytes += d.length;
  });
  ws.once('close', (code) => (sub.closed = { code, afterMs: Math.round(performance.now() - started) }));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(sub));
    ws.once('error', reject);
  });
}

const stuck = (sub: Subscriber) => (sub.ws as unknown as { _socket: Socket })._socket.pause();

/** The three loads, one after another, on fresh streams of one runtime. */
export async function liveBench(deps: LiveBenchDeps) {
  await deps.createStream('bench_live_alone');
  const alone = await deps.load('bench_live_alone');

  await deps.createStream('bench_live_stuck');
  let t = performance.now();
  const never = await subscribe(deps, 'bench_live_stuck', t);
  stuck(never);
  const withStuck = await deps.load('bench_live_stuck');
  // resumed, it reads what was buffered before the drop: the notice, then the close (4008)
  never.ws.on('message', (d: Buffer) => d.toString().startsWith('{"type":"dropped"') && (never.closed ??= { code: -1, afterMs: 0 }));
  (never.ws as unknown as { _socket: Socket })._socket.resume();
  await new Promise((resolve) => setTimeout(resolve, 500));
  never.ws.terminate();

  await deps.createStream('bench_live_both');
  t = performance.now();
  const stuck2 = await subscribe(deps, 'bench_live_both', t);
  stuck(stuck2);
  const reader = await subscribe(deps, 'bench_live_both', t);
  const withBoth = await deps.load('bench_live_both');
  stuck2.ws.terminate();
  reader.ws.terminate();

  return {
    alone,
    withStuck: { ...withStuck, stuckClosed: never.closed?.code ?? 'open' },
    withStuckAndReader: { ...withBoth, readerMessages: reader.messages, readerMb: +(reader.bytes / 1048576).toFixed(1) },
    ratioStuck: +(withStuck.storedPointsPerSec / alone.storedPointsPerSec).toFixed(3),
    ratioStuckAndReader: +(withBoth.storedPointsPerSec / alone.storedPointsPerSec).toFixed(3),
  };
}
