import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { resolveChecked, type GuardErrors } from '../../functions/commons/guarded-target';
import type { Logger } from '../../functions/commons/http';
import { TributaryError } from '../../shared/domain/errors';
import type { Stream } from '../../shared/domain/stream-definition';
import { subscriptionSecretName, type Subscription } from '../../shared/domain/subscription';
import type { Clock, IngestQueue, SecretSource, StreamRegistry } from '../../shared/ports';
import { makeMqttAcceptor, PayloadRefused } from './mqtt-accept';

export interface MqttBridgeDeps {
  registry: StreamRegistry;
  queue: IngestQueue;
  clock: Clock;
  log: Logger;
  secrets: SecretSource;
  /** Loopback brokers are allowed on one machine (the default), as a local pull's sources are. */
  allowLoopback?: boolean;
  /** How often the streams are read to open, change and close subscriptions (5 s by default). */
  everyMs?: number;
}

/** One stream's connection to the other broker, and the definition it was opened for. */
interface Bridge {
  key: string;
  stream: Stream;
  client?: MqttClient;
  closing: boolean;
}

const GUARD_ERRORS: GuardErrors = {
  forbidden: (host, _address, reason) => new Error(`refused to connect to ${host}: it resolves to ${reason}`),
  unresolvable: (message) => new Error(message),
};

/**
 * The local runtime's subscriptions to other MQTT brokers (streams with a `subscription`, `subscription.ts`):
 * one client per stream, with a persistent session (client id `tributary-{streamId}`, `clean: false`) so the
 * broker keeps QoS 1 messages while Tributary is down. A QoS 1 message is acknowledged (PUBACK) only once its
 * records are durably queued: a crash before that leaves it unacknowledged, and the broker sends it again
 * (at least once, as for Tributary's own broker; records with their own time are stored once). A message the
 * stream refuses is acknowledged too (sending it again would not make it valid) and kept on the stream's
 * status (`recentRejections`, `invalidCount`); when the queue fails, the connection is dropped without the
 * acknowledgement and opened again. Streams are read every few seconds, so a created, changed, paused or
 * deleted stream opens, reopens or closes its subscription without a restart.
 *
 * @example
 * const bridges = startMqttBridges({ registry, queue, clock, log, secrets });
 * await bridges.close();
 */
export function startMqttBridges(deps: MqttBridgeDeps): { close(): Promise<void>; reconcile(): Promise<void> } {
  const accept = makeMqttAcceptor(deps);
  const bridges = new Map<string, Bridge>();
  let closed = false;

  const reject = (stream: Stream, reason: string, invalid: number) => {
    deps.log.info('mqtt subscription message refused', { streamId: stream.id, reason });
    deps.registry
      .addStats(stream.id, { at: deps.clock.now(), points: 0, invalid, rejected: 0, samples: [{ reason: `mqtt subscription message refused: ${reason}` }] })
      .catch(() => {});
  };

  async function open(bridge: Bridge, subscription: Subscription): Promise<void> {
    const url = new URL(subscription.url);
    const tls = url.protocol === 'mqtts:';
    const target = await resolveChecked(url.hostname.replace(/^\[|\]$/g, ''), { allowPrivate: subscription.allowPrivateTargets, allowLoopback: deps.allowLoopback ?? true }, GUARD_ERRORS);
    const secret = subscriptionSecretName(subscription);
    const password = secret === undefined ? undefined : (await deps.secrets.get([secret]))[secret];
    if (secret !== undefined && password === undefined) throw new Error(`the secret ${secret} is not set (TRIBUTARY_SECRET_${secret} or secrets.json)`);
    if (bridge.closing) return;
    const options: IClientOptions = {
      // the address checked above, never the name again (a DNS answer that changes cannot reach a forbidden address)
      host: target.address,
      port: url.port ? Number(url.port) : tls ? 8883 : 1883,
      protocol: tls ? 'mqtts' : 'mqtt',
      ...(tls && { servername: target.host }),
      protocolVersion: 4,
      clientId: subscription.clientId ?? `tributary-${bridge.stream.id}`,
      clean: subscription.qos === 0,
      ...(subscription.username !== undefined && { username: subscription.username }),
      ...(password !== undefined && { password }),
      reconnectPeriod: 2_000,
      connectTimeout: 10_000,
    };
    const client = connect(options);
    bridge.client = client;
    // PUBACK goes out once this calls back: after the records are queued
    client.handleMessage = (packet, done) => {
      const publish = packet as IPublishPacket;
      accept(bridge.stream, publish.payload as Buffer).then(
        () => done(),
        (err: unknown) => {
          if (err instanceof PayloadRefused) reject(bridge.stream, `${publish.topic}: ${err.message}`, err.invalid);
          else if (err instanceof TributaryError) reject(bridge.stream, `${publish.topic}: ${err.message}`, err.name === 'StreamPausedError' ? 0 : 1);
          else {
            deps.log.error('mqtt subscription message not queued', { streamId: bridge.stream.id, error: (err as Error)?.name, reason: (err as Error)?.message });
            client.stream.destroy(); // no PUBACK: the broker sends it again once we reconnect
            return;
          }
          done();
        },
      );
    };
    client.on('connect', (connack) => {
      deps.log.info('mqtt subscription connected', { streamId: bridge.stream.id, broker: `${url.protocol}//${url.host}`, sessionPresent: connack.sessionPresent });
      client.subscribe(subscription.topics, { qos: subscription.qos }, (err, granted) => {
        const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
        if (err || refused.length > 0) deps.log.error('mqtt subscription refused by the broker', { streamId: bridge.stream.id, reason: err?.message ?? `refused: ${refused.join(', ')}` });
      });
    });
    client.on('error', (err) => deps.log.error('mqtt subscription error', { streamId: bridge.stream.id, error: err.name, reason: err.message }));
  }

  async function stop(id: string): Promise<void> {
    const bridge = bridges.get(id);
    if (!bridge) return;
    bridges.delete(id);
    bridge.closing = true;
    await bridge.client?.endAsync(true).catch(() => {});
  }

  async function activeStreams(): Promise<Stream[]> {
    const out: Stream[] = [];
    let cursor: string | undefined;
    do {
      const page = await deps.registry.list({ limit: 1000, ...(cursor !== undefined && { cursor }) });
      out.push(...page.streams.filter((s) => s.subscription !== undefined && s.state === 'active'));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return out;
  }

  async function reconcile(): Promise<void> {
    const wanted = await activeStreams();
    const ids = new Set(wanted.map((s) => s.id));
    for (const id of [...bridges.keys()]) if (!ids.has(id)) await stop(id);
    for (const stream of wanted) {
      const key = JSON.stringify(stream.subscription);
      const bridge = bridges.get(stream.id);
      if (bridge && bridge.key === key) {
        bridge.stream = stream; // a new schema or pipeline applies to the next message
        continue;
      }
      if (bridge) await stop(stream.id);
      const next: Bridge = { key, stream, closing: false };
      bridges.set(stream.id, next);
      await open(next, stream.subscription!).catch((err: Error) => {
        deps.log.error('mqtt subscription not opened', { streamId: stream.id, reason: err.message });
        bridges.delete(stream.id); // tried again on the next round
      });
    }
  }

  let running = Promise.resolve();
  const tick = () => {
    running = running.then(() => (closed ? undefined : reconcile())).catch((err: Error) => deps.log.error('mqtt subscriptions not read', { reason: err.message }));
  };
  tick();
  const timer = setInterval(tick, deps.everyMs ?? 5_000);
  timer.unref();
  return {
    reconcile: () => {
      tick();
      return running;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
      await Promise.all([...bridges.keys()].map(stop));
    },
  };
}
