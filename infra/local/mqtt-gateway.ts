import { createServer, type Server } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { DeviceDecision, DeviceIdentity } from '../../functions/iot-authorizer/app';
import { deviceTopicFilter } from '../../functions/iot-authorizer/app';
import { StreamPausedError, TributaryError } from '../../shared/domain/errors';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Logger } from '../../functions/commons/http';
import type { Clock, IngestQueue, StreamRegistry } from '../../shared/ports';
import { TOKEN_PREFIX } from '../../shared/tokens';
import { makeMqttAcceptor, PayloadRefused } from './mqtt-accept';
import { guardPackets, MAX_MQTT_PACKET_BYTES, MQTT_CONNECT_TIMEOUT_MS } from './mqtt-packet-guard';

export interface MqttGatewayDeps {
  check: (login: { username?: string; clientId?: string; password?: string }) => Promise<DeviceDecision>;
  registry: StreamRegistry;
  queue: IngestQueue;
  clock: Clock;
  /** How long a device's stream definition is reused between publishes. */
  streamTtlMs?: number;
  onRefusal?: (deviceId: string, reason: string) => void;
  /** Where each refusal is logged with its reason (never the password). */
  log?: Logger;
}

/** MQTT 3.1.1 CONNACK return codes for each kind of refused login. */
const RETURN_CODES = { identifier: 2, credentials: 4, unauthorized: 5 } as const;

const devices = new WeakMap<Client, DeviceIdentity>();

/**
 * The local IoT Core: an aedes broker with the same login check as the custom authorizer, the same topic
 * rules (`tributary/{streamId}/data`, and a stream's own topic for the devices of that stream), and one thing IoT Core cannot do: a QoS 1 publish is validated and
 * durably queued inside `authorizePublish`, which aedes runs before it sends PUBACK, so a PUBACK always
 * means stored. A refused publish closes the connection (MQTT 3.1.1 has no negative PUBACK).
 *
 * @example
 * const { broker, server } = await createMqttGateway({ check, registry, queue, clock });
 * server.listen(1883, '127.0.0.1');
 */
export async function createMqttGateway(deps: MqttGatewayDeps): Promise<{ broker: Aedes; server: Server }> {
  const accept = makeMqttAcceptor(deps);
  const ttl = deps.streamTtlMs ?? 1_000;
  // the read itself is cached, so the publishes in flight when the entry expires share one registry read
  const streams = new Map<string, { stream: Promise<Stream | undefined>; at: number }>();

  function streamOf(id: string): Promise<Stream | undefined> {
    const now = deps.clock.now();
    const hit = streams.get(id);
    if (hit && now - hit.at < ttl) return hit.stream;
    const stream = deps.registry.get(id);
    streams.set(id, { stream, at: now });
    stream.catch(() => streams.get(id)?.stream === stream && streams.delete(id));
    return stream;
  }

  // Each refusal is logged and, when its stream is known, kept on that stream's status (`recentRejections`;
  // invalid records also count in `invalidCount`, as the writer counts them in AWS). Best effort: a failed
  // count never changes the answer the device gets.
  const record = (event: string, fields: { streamId?: string; deviceId?: string; clientId?: string; reason: string; invalid?: number }) => {
    const { invalid = 0, ...logged } = fields;
    deps.log?.info(event, logged);
    if (!fields.streamId) return;
    const who = fields.deviceId ? `device ${fields.deviceId}` : 'a device';
    deps.registry
      .addStats(fields.streamId, { at: deps.clock.now(), points: 0, invalid, rejected: 0, samples: [{ reason: `${event} (${who}): ${fields.reason}` }] })
      .catch(() => {});
  };
  const refuse = (device: DeviceIdentity | undefined, reason: string, counted: { invalid?: number; onStream?: boolean } = {}) => {
    deps.onRefusal?.(device?.deviceId ?? '?', reason);
    const onStream = device && counted.onStream !== false;
    record('mqtt publish refused', { ...(onStream && { streamId: device.streamId }), ...(device && { deviceId: device.deviceId }), reason, invalid: counted.invalid ?? 0 });
    return new Error(reason);
  };

  const broker = await Aedes.createBroker({
    connectTimeout: MQTT_CONNECT_TIMEOUT_MS,
    authenticate(client, username, password, done) {
      deps
        .check({ username, clientId: client.id, password: password?.toString('utf8') })
        .then((decision) => {
          if (decision.ok) {
            devices.set(client, decision.device);
            done(null, true);
          } else {
            deps.onRefusal?.(username ?? '?', decision.reason);
            const returnCode = RETURN_CODES[decision.code];
            record('mqtt connection refused', {
              ...(decision.streamId && { streamId: decision.streamId }),
              // a username or client id holding a token (swapped fields) is never logged
              ...(username && !username.startsWith(TOKEN_PREFIX) && { deviceId: username.slice(0, 128) }),
              clientId: client.id.startsWith(TOKEN_PREFIX) ? '(a token)' : client.id.slice(0, 64),
              reason: `${decision.reason} (CONNACK return code ${returnCode})`,
            });
            const err = new Error(decision.reason) as AuthenticateError;
            err.returnCode = returnCode;
            done(err, false);
          }
        })
        .catch((cause: unknown) => {
          deps.log?.error('mqtt login check failed', { clientId: client.id.slice(0, 64), error: (cause as Error)?.name, reason: (cause as Error)?.message });
          const err = new Error('server unavailable') as AuthenticateError;
          err.returnCode = 3;
          done(err, false);
        });
    },
    authorizePublish(client, packet, done) {
      const device = client ? devices.get(client) : undefined;
      if (!client || !device) return done(refuse(device, 'not authenticated'));
      if (!device.topics.includes(packet.topic)) {
        return done(refuse(device, `publish refused: a device of stream '${device.streamId}' may publish only to ${device.topics.join(' or ')}`));
      }
      (async () => {
        const stream = await streamOf(device.streamId);
        if (!stream) throw refuse(device, `stream '${device.streamId}' no longer exists`, { onStream: false });
        try {
          await accept(stream, packet.payload, { deviceId: device.deviceId });
        } catch (err) {
          if (err instanceof PayloadRefused) throw refuse(device, err.message, { invalid: err.invalid });
          throw err;
        }
      })().then(
        () => done(null),
        (err: unknown) => {
          if (!(err instanceof TributaryError)) return done(err as Error); // refused above, or the queue failed
          // a payload that does not parse (or is too large) is one invalid message; a paused stream is not the device's fault
          done(refuse(device, err.message, { invalid: err instanceof StreamPausedError ? 0 : 1 }));
        },
      );
    },
    authorizeSubscribe(client, subscription, done) {
      const device = devices.get(client);
      const allowed = device ? deviceTopicFilter(device.streamId) : undefined;
      const prefix = allowed?.slice(0, -1);
      if (allowed && (subscription.topic === allowed || (prefix && subscription.topic.startsWith(prefix) && !subscription.topic.includes('+')))) {
        done(null, subscription);
      } else {
        done(refuse(device, `subscribe refused: devices may subscribe under ${allowed ?? 'their stream'}`));
      }
    },
  });
  // every packet's declared length is checked before the broker buffers it (before the login, for a CONNECT)
  const server = createServer((socket) =>
    broker.handle(guardPackets(socket, { maxPacketBytes: MAX_MQTT_PACKET_BYTES, onRefuse: (reason) => deps.onRefusal?.('?', reason) })),
  );
  return { broker, server };
}
