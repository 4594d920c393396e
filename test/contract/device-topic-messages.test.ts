import { describe, expect, it } from 'vitest';
import { decodeWithTopics, makeTopicResolver } from '../../shared/aws/device-topic-messages';
import { DynamoDbDeviceClaims } from '../../shared/aws/dynamodb-device-claims';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { encodeEnvelope } from '../../shared/aws/ingest-message';
import { useDynalite } from '../fixtures/dynalite';
import { aStream } from './stream-registry.contract';

const dynamo = useDynalite('topics');
const T0 = Date.parse('2026-03-10T12:00:00.000Z');
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

/** The writer's topic resolution on the real directory (dynalite): what the device-topic rule's messages become. */
describe("the writer's device-topic resolution", () => {
  async function world() {
    const tableName = await dynamo.freshTable();
    const registry = new DynamoDbRegistry({ client: dynamo.client, tableName });
    const directory = new DynamoDbDeviceClaims({ client: dynamo.client, tableName, registry });
    let reads = 0;
    const devices = { findTopic: (t: string) => (reads++, directory.findTopic(t)) };
    let now = T0;
    const streamOf = makeTopicResolver({ devices, registry, clock: { now: () => now }, ttlMs: 10_000 });
    await directory.claim('temp', { topic: 'sensors/temperature/facility-a' });
    await registry.create(aStream('temp', { device: { protocol: 'mqtt', deviceId: 'TEMP-SENSOR-001', topic: 'sensors/temperature/facility-a' } }));
    return { registry, directory, streamOf, reads: () => reads, advance: (ms: number) => (now += ms) };
  }

  it("gives a device-topic rule message its topic's stream, reading the directory once per TTL", async () => {
    const { streamOf, reads, advance } = await world();
    const body = JSON.stringify({ payload: b64({ temperature: 21.5 }), topic: 'sensors/temperature/facility-a', deviceId: 'TEMP-SENSOR-001', receivedAt: T0 });
    const decoded = await decodeWithTopics(body, streamOf);
    expect(decoded).toEqual({ ok: true, envelope: { streamId: 'temp', receivedAt: T0, source: 'mqtt', deviceId: 'TEMP-SENSOR-001', records: [{ temperature: 21.5 }], unprocessed: true, payload: Buffer.from(JSON.stringify({ temperature: 21.5 })) } });
    await decodeWithTopics(body, streamOf);
    expect(reads()).toBe(1);
    advance(10_001);
    await decodeWithTopics(body, streamOf);
    expect(reads()).toBe(2);
  });

  it('drops a message on a topic no stream has, or one its claimed stream no longer names, with the reason', async () => {
    const { streamOf, directory, registry } = await world();
    const on = (topic: string) => JSON.stringify({ payload: b64({ t: 1 }), topic, deviceId: 'x', receivedAt: T0 });
    expect(await decodeWithTopics(on('factory/unknown'), streamOf)).toEqual({ ok: false, reason: "no stream has the MQTT topic 'factory/unknown'" });
    await directory.claim('moved', { topic: 'left/behind' });
    await registry.create(aStream('moved', { device: { protocol: 'mqtt', topic: 'new/topic' } }));
    expect(await decodeWithTopics(on('left/behind'), streamOf)).toMatchObject({ ok: false });
  });

  it('reads envelopes and the data-topic rule messages as before, without the directory', async () => {
    const { streamOf, reads } = await world();
    const envelope = { streamId: 'temp', receivedAt: T0, source: 'http' as const, records: [{ topic: 'a' }] };
    expect(await decodeWithTopics(encodeEnvelope(envelope), streamOf)).toEqual({ ok: true, envelope });
    const ruled = JSON.stringify({ payload: b64([{ t: 1 }]), streamId: 'temp', deviceId: 'f1', receivedAt: T0 });
    expect(await decodeWithTopics(ruled, streamOf)).toMatchObject({ ok: true, envelope: { streamId: 'temp', records: [{ t: 1 }] } });
    expect(await decodeWithTopics('not json', streamOf)).toEqual({ ok: false, reason: 'the message body is not JSON' });
    expect(reads()).toBe(0);
  });
});
