import { encode as encodeMsgpack } from '@msgpack/msgpack';
import * as cborg from 'cborg';
import { describe, expect, it } from 'vitest';
import { makeWriter, type QueueMessage } from '../../functions/writer/app';
import { decodeQueueMessage } from '../../shared/aws/ingest-message';
import type { MqttFormat } from '../../shared/domain/mqtt-format';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import type { PointStore, StatsDelta, StreamRegistry } from '../../shared/ports';

// In AWS an MQTT payload reaches the writer through the IoT topic rule as base64 bytes: a stream whose
// mqttFormat is not JSON has them decoded here, by the same decoders as the HTTP bodies of that format.

const NOW = Date.parse('2026-03-01T12:00:00Z');
const T = '2026-03-01T11:59:00.000Z';

function streamOf(mqttFormat: MqttFormat): Stream {
  return newStream(
    parseStreamInput({
      id: 'freezers',
      name: 'Freezers',
      type: 'iot_sensor',
      validation: 'lenient',
      mqttFormat,
      schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number' } },
      dimensions: ['deviceId'],
    }),
    new Date(NOW),
    () => '',
  );
}

function world(stream: Stream) {
  const stats: StatsDelta[] = [];
  const stored: Datapoint[] = [];
  const registry = { get: async (id: string) => (id === stream.id ? stream : undefined), addStats: async (_id: string, d: StatsDelta) => void stats.push(d) } as unknown as StreamRegistry;
  const store: PointStore = { write: async (_s, points) => (stored.push(...points), { written: points.length, rejected: [] }), query: async () => [], latest: async () => [] };
  return { stats, stored, writeBatch: makeWriter({ registry, store, clock: { now: () => NOW }, log: { error: () => {}, info: () => {} } }) };
}

/** The topic rule's message (`INGEST_TOPIC_RULE_SQL`): the payload's bytes in base64. */
function fromTopicRule(payload: Uint8Array | string): QueueMessage {
  const body = JSON.stringify({ payload: Buffer.from(payload).toString('base64'), streamId: 'freezers', deviceId: 'f1', receivedAt: NOW });
  const decoded = decodeQueueMessage(body);
  if (!decoded.ok) throw new Error(decoded.reason);
  return { id: 'm1', envelope: decoded.envelope };
}

const records = [
  { deviceId: 'f1', temperature: -18.5, timestamp: T },
  { deviceId: 'f2', temperature: -20, timestamp: T },
];

describe('MQTT payloads of each mqttFormat through the IoT topic rule', () => {
  it.each([
    ['msgpack', encodeMsgpack(records)],
    ['cbor', cborg.encode(records)],
    ['ndjson', records.map((r) => JSON.stringify(r)).join('\n')],
    ['csv', `deviceId,temperature,timestamp\nf1,-18.5,${T}\nf2,-20,${T}\n`],
    ['line-protocol', `freezer,deviceId=f1 temperature=-18.5 ${BigInt(Date.parse(T)) * 1_000_000n}\nfreezer,deviceId=f2 temperature=-20 ${BigInt(Date.parse(T)) * 1_000_000n}\n`],
  ] as const)('stores a %s payload as the records it holds', async (format, payload) => {
    const { stored, stats, writeBatch } = world(streamOf(format));
    expect(await writeBatch([fromTopicRule(payload)])).toMatchObject({ written: 2, invalid: 0, failedIds: [] });
    expect(stored.map((p) => [p.dimensions.deviceId, p.values.temperature, new Date(p.time).toISOString()])).toEqual([
      ['f1', -18.5, T],
      ['f2', -20, T],
    ]);
    expect(stats[0]).toMatchObject({ points: 2, invalid: 0 });
  });

  it('counts a payload that is not in the stream\'s format as one invalid message, with why, and stores the rest of the batch', async () => {
    const { stored, stats, writeBatch } = world(streamOf('msgpack'));
    const summary = await writeBatch([{ ...fromTopicRule(Buffer.from([0xc1])), id: 'bad' }, fromTopicRule(encodeMsgpack(records[0]))]);
    expect(summary).toMatchObject({ written: 1, invalid: 1, failedIds: [] });
    expect(stored).toHaveLength(1);
    expect(stats[0]!.samples[0]!.reason).toMatch(/^the MQTT payload is not msgpack: .*offset 0/);
  });

  it('still reads a JSON stream\'s payload as JSON, and counts one that is not', async () => {
    const { stored, stats, writeBatch } = world(streamOf('json'));
    const summary = await writeBatch([fromTopicRule(JSON.stringify(records)), { ...fromTopicRule('{"deviceId": "f1"'), id: 'bad' }]);
    expect(summary).toMatchObject({ written: 2, invalid: 1 });
    expect(stored).toHaveLength(2);
    expect(stats[0]!.samples[0]!.reason).toMatch(/not JSON/);
  });
});
