import { systemClock, type Clock, type DeviceDirectory, type StreamRegistry } from '../ports';
import { streamNames } from './dynamodb-device-lookup';
import { decodeIotRuleMessage, decodeQueueMessage, type DecodedQueueMessage } from './ingest-message';

/**
 * The second IoT topic rule's query: a publish on any topic outside `tributary/` (a stream's own topic, as
 * its definition names it) reaches the ingest queue with its topic; the writer finds the stream. The
 * authorizer's policy lets a device publish only on its stream's topics, so what arrives was allowed.
 */
export const DEVICE_TOPIC_RULE_SQL =
  "SELECT encode(*, 'base64') AS payload, topic() AS topic, clientid() AS deviceId, timestamp() AS receivedAt FROM '#' WHERE NOT startswith(topic(), 'tributary/')";

export interface TopicResolverDeps {
  devices: Pick<DeviceDirectory, 'findTopic'>;
  registry: Pick<StreamRegistry, 'get'>;
  clock?: Clock;
  /** How long an answer (a stream, or none) is reused; a topic's stream changes only on create, patch and delete. */
  ttlMs?: number;
  /** At most this many topics are remembered; beyond, the cache starts again. */
  maxEntries?: number;
}

/**
 * Topic → the id of the stream whose device publishes on it, or `undefined`: read from the device directory,
 * checked against the stream (a claim its stream no longer names routes nothing), and cached per container.
 *
 * @example
 * const streamOf = makeTopicResolver({ devices, registry });
 * await streamOf('sensors/temperature/facility-a'); // 'temperature-monitoring-x1y2z3'
 */
export function makeTopicResolver(deps: TopicResolverDeps): (topic: string) => Promise<string | undefined> {
  const clock = deps.clock ?? systemClock;
  const ttl = deps.ttlMs ?? 10_000;
  const max = deps.maxEntries ?? 10_000;
  const cache = new Map<string, { streamId: Promise<string | undefined>; at: number }>();
  return (topic) => {
    const now = clock.now();
    const hit = cache.get(topic);
    if (hit && now - hit.at < ttl) return hit.streamId;
    if (cache.size >= max) cache.clear();
    const streamId = (async () => {
      const id = await deps.devices.findTopic(topic);
      return id !== undefined && streamNames(await deps.registry.get(id), 'topic', topic) ? id : undefined;
    })();
    cache.set(topic, { streamId, at: now });
    streamId.catch(() => cache.get(topic)?.streamId === streamId && cache.delete(topic)); // a failed read is not remembered
    return streamId;
  };
}

/**
 * Reads an ingest-queue body as `decodeQueueMessage` does, and a message of the device-topic rule (a
 * `topic`, no `streamId`) with its topic's stream. A topic no stream has is an unreadable message (counted
 * and dropped by the writer, never retried); a failed directory read throws, so the batch is retried.
 *
 * @example
 * const decoded = await decodeWithTopics(record.body, makeTopicResolver({ devices, registry }));
 */
export async function decodeWithTopics(body: string, streamOf: (topic: string) => Promise<string | undefined>): Promise<DecodedQueueMessage> {
  // envelopes (and the first rule's messages, which name their stream) need no topic
  if (body.startsWith('{"streamId"')) return decodeQueueMessage(body);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return decodeQueueMessage(body);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return decodeQueueMessage(body);
  const { topic, streamId, payload } = value as Record<string, unknown>;
  if (payload === undefined || streamId !== undefined || typeof topic !== 'string') return decodeQueueMessage(body);
  const id = await streamOf(topic);
  if (id === undefined) return { ok: false, reason: `no stream has the MQTT topic '${topic.slice(0, 200)}'` };
  return decodeIotRuleMessage({ ...value, streamId: id });
}
