import { describe, expect, it } from 'vitest';
import { DynamoDbDeviceClaims } from '../../shared/aws/dynamodb-device-claims';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { useDynalite } from '../fixtures/dynalite';
import { aStream } from './stream-registry.contract';

const T0 = Date.parse('2026-03-10T12:00:00.000Z');
const dynamo = useDynalite('claims');

async function world(graceMs = 60_000) {
  const tableName = await dynamo.freshTable();
  const registry = new DynamoDbRegistry({ client: dynamo.client, tableName });
  let now = T0;
  const clock = { now: () => now };
  const claims = new DynamoDbDeviceClaims({ client: dynamo.client, tableName, registry, clock, graceMs });
  return { registry, claims, advance: (ms: number) => (now += ms) };
}

const device = (username: string, topic: string) => ({ protocol: 'mqtt' as const, topic, credentials: { username, passwordHash: 'scrypt$x' } });

describe('DynamoDbDeviceClaims on dynalite', () => {
  it('finds what a stream claimed, and refuses it to another stream naming which claim is taken', async () => {
    const { claims } = await world();
    expect(await claims.claim('a', { username: 'sensor_user', topic: 'sensors/t' })).toBeUndefined();
    expect(await claims.findUsername('sensor_user')).toBe('a');
    expect(await claims.findTopic('sensors/t')).toBe('a');
    expect(await claims.claim('b', { username: 'other', topic: 'sensors/t' })).toEqual({ taken: 'topic', heldBy: 'a' });
    // all or none: the username b claimed first is not left behind
    expect(await claims.findUsername('other')).toBeUndefined();
    expect(await claims.claim('b', { username: 'sensor_user' })).toEqual({ taken: 'username', heldBy: 'a' });
    // claiming again what one holds is fine
    expect(await claims.claim('a', { username: 'sensor_user', topic: 'sensors/t' })).toBeUndefined();
  });

  it('releases only what the stream holds', async () => {
    const { claims } = await world();
    await claims.claim('a', { topic: 'x/y' });
    await claims.release('b', { topic: 'x/y' });
    expect(await claims.findTopic('x/y')).toBe('a');
    await claims.release('a', { topic: 'x/y', username: 'never-claimed' });
    expect(await claims.findTopic('x/y')).toBeUndefined();
    expect(await claims.claim('b', { topic: 'x/y' })).toBeUndefined();
  });

  it('lets one of two concurrent claims of a topic win', async () => {
    const { claims } = await world();
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((id) => claims.claim(id, { topic: 'sensors/race', username: `u-${id}` })));
    const winners = results.filter((r) => r === undefined);
    expect(winners).toHaveLength(1);
    const holder = await claims.findTopic('sensors/race');
    expect(results.filter((r) => r !== undefined)).toEqual(results.filter((r) => r !== undefined).map(() => ({ taken: 'topic', heldBy: holder })));
    // the losers' usernames were released with their failed claim
    for (const id of ['a', 'b', 'c', 'd'].filter((i) => i !== holder)) expect(await claims.findUsername(`u-${id}`)).toBeUndefined();
  });

  it('keeps a claim whose stream is not written yet for the grace period, then lets it be taken over', async () => {
    const { claims, advance } = await world(60_000);
    await claims.claim('crashed', { username: 'sensor_user' }); // its stream was never written
    expect(await claims.claim('b', { username: 'sensor_user' })).toEqual({ taken: 'username', heldBy: 'crashed' });
    advance(60_001);
    expect(await claims.claim('b', { username: 'sensor_user' })).toBeUndefined();
    expect(await claims.findUsername('sensor_user')).toBe('b');
  });

  it('never takes over a claim its live stream still names, however old', async () => {
    const { claims, registry, advance } = await world(1_000);
    await registry.create(aStream('a', { device: device('sensor_user', 'sensors/t') }));
    await claims.claim('a', { username: 'sensor_user', topic: 'sensors/t' });
    advance(86_400_000);
    expect(await claims.claim('b', { topic: 'sensors/t' })).toEqual({ taken: 'topic', heldBy: 'a' });
  });

  it('lets a claim be taken over once its stream is deleted or names another value', async () => {
    const { claims, registry, advance } = await world(1_000);
    await registry.create(aStream('a', { device: device('u1', 't/1') }));
    await claims.claim('a', { username: 'u1', topic: 't/1' });
    const a = (await registry.get('a'))!;
    await registry.update({ ...a, version: a.version + 1, device: device('u2', 't/1') }); // a patch that crashed before releasing u1
    await registry.create(aStream('gone', { device: device('u3', 't/3') }));
    await claims.claim('gone', { username: 'u3' });
    await registry.delete('gone');
    advance(1_001);
    expect(await claims.claim('b', { username: 'u1' })).toBeUndefined();
    expect(await claims.claim('b', { topic: 't/1' })).toEqual({ taken: 'topic', heldBy: 'a' });
    expect(await claims.claim('c', { username: 'u3' })).toBeUndefined();
  });

  it('lets one of two concurrent takeovers of a stale claim win', async () => {
    const { claims, advance } = await world(1_000);
    await claims.claim('crashed', { topic: 'stale/t' });
    advance(1_001);
    const results = await Promise.all(['a', 'b', 'c'].map((id) => claims.claim(id, { topic: 'stale/t' })));
    expect(results.filter((r) => r === undefined)).toHaveLength(1);
    const holder = await claims.findTopic('stale/t');
    expect(['a', 'b', 'c']).toContain(holder);
  });
});
