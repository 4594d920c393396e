import { describe, expect, it } from 'vitest';
import { BadRequestError, StreamConflictError, StreamNotFoundError } from '../../shared/domain/errors';
import type { Stream } from '../../shared/domain/stream-definition';
import type { StatsDelta, StreamRegistry, TokenRecord, TokenStore } from '../../shared/ports';

/** What a contract run needs: a fresh, empty registry and the token store that lives beside it. */
export interface RegistryUnderTest {
  registry: StreamRegistry;
  tokens: TokenStore;
}

const T0 = Date.parse('2026-03-10T12:00:00.000Z');

/**
 * A valid stored stream; ids sort in the order they are made when given zero-padded numbers.
 *
 * @example
 * const stream = aStream('freezers', { tags: { site: 'lyon' } });
 */
export function aStream(id: string, overrides: Partial<Stream> = {}): Stream {
  const at = new Date(T0).toISOString();
  return {
    id,
    name: `Stream ${id}`,
    type: 'iot_sensor',
    schema: {
      deviceId: { type: 'string', required: true },
      temperature: { type: 'number', unit: '°C', range: { min: -50, max: 1e300 } },
      mode: { type: 'string', enum: ['eco', 'boost'] },
    },
    timeField: 'timestamp',
    dimensions: ['deviceId'],
    tags: {},
    validation: 'strict',
    state: 'active',
    createdAt: at,
    updatedAt: at,
    version: 1,
    ...overrides,
  };
}

const aToken = (n: number, streamId?: string): TokenRecord => ({
  hash: n.toString(16).padStart(64, '0'),
  scopes: streamId ? [`ingest:${streamId}`] : ['admin'],
  createdAt: new Date(T0).toISOString(),
  ...(streamId && { streamId }),
});

const delta = (at: number, points: number, extra: Partial<StatsDelta> = {}): StatsDelta => ({ at, points, invalid: 0, rejected: extra.samples?.length ?? 0, samples: [], ...extra });
const pad = (n: number) => String(n).padStart(3, '0');

/**
 * The behaviour every `StreamRegistry` owes its callers, run against a real engine.
 *
 * @example
 * streamRegistryContract(async () => {
 *   const registry = new DynamoDbRegistry({ client, tableName: await freshTable() });
 *   return { registry, tokens: registry };
 * });
 */
export function streamRegistryContract(makeRegistry: () => Promise<RegistryUnderTest>): void {
  describe('StreamRegistry contract', () => {
    describe('create and get', () => {
      it('returns the stream exactly as it was created', async () => {
        const { registry } = await makeRegistry();
        const stream = aStream('freezers', { description: 'walk-in freezers', tags: { site: 'lyon', 'team.name': 'cold' } });
        await registry.create(stream);
        expect(await registry.get('freezers')).toEqual(stream);
      });

      it('returns undefined for an id never used', async () => {
        const { registry } = await makeRegistry();
        expect(await registry.get('nobody')).toBeUndefined();
      });

      it('refuses a second stream with the same id and keeps the first', async () => {
        const { registry } = await makeRegistry();
        const first = aStream('orders', { name: 'First' });
        await registry.create(first);
        await expect(registry.create(aStream('orders', { name: 'Second' }))).rejects.toBeInstanceOf(StreamConflictError);
        expect(await registry.get('orders')).toEqual(first);
      });

      it('never gives the id of a deleted stream to a new one', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('old'));
        await registry.delete('old');
        await expect(registry.create(aStream('old'))).rejects.toBeInstanceOf(StreamConflictError);
        expect(await registry.get('old')).toBeUndefined();
      });
    });

    describe('tags of any JSON value', () => {
      it('keeps nested tags as given, and lists by a tagQuery as find_streams matches', async () => {
        const { registry } = await makeRegistry();
        const tags = { title: 'Stream 1', visualization: { type: 'line', value_downsamplers: ['mean', 'min'] }, n: 9, on: true, none: null };
        await registry.create(aStream('json-1', { tags }));
        await registry.create(aStream('json-2', { tags: { title: 'Stream 2', n: 9 } }));
        expect((await registry.get('json-1'))!.tags).toEqual(tags);
        const ids = async (tagQuery: Record<string, unknown>) => (await registry.list({ tagQuery: tagQuery as never })).streams.map((s) => s.id);
        expect(await ids({ visualization: { value_downsamplers: 'mean' } })).toEqual(['json-1']);
        expect(await ids({ n: 9 })).toEqual(['json-1', 'json-2']);
        expect(await ids({ n: '9' })).toEqual([]);
        // the string tags still filter as `?tag.KEY=VALUE`
        expect((await registry.list({ tags: { title: 'Stream 2' } })).streams.map((s) => s.id)).toEqual(['json-2']);
      });
    });

    describe('newest point (check_timestamp)', () => {
      it('claims a range not older than the newest, refuses an older one with the newest it holds, and allows equal times', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('ordered'));
        expect(await registry.claimNewest('ordered', T0, T0 + 2_000)).toEqual({ claimed: true });
        expect(await registry.claimNewest('ordered', T0 + 1_000, T0 + 5_000)).toEqual({ claimed: false, newest: T0 + 2_000 });
        expect(await registry.claimNewest('ordered', T0 + 2_000, T0 + 3_000)).toEqual({ claimed: true, previous: T0 + 2_000 });
        expect((await registry.getStats('ordered', T0)).newestPointAt).toBe(new Date(T0 + 3_000).toISOString());
      });

      it('releases a claim back to the newest before it, unless another moved it since', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('released'));
        await registry.claimNewest('released', T0, T0);
        await registry.claimNewest('released', T0 + 1_000, T0 + 1_000);
        await registry.releaseNewest('released', T0 + 1_000, T0);
        expect((await registry.getStats('released', T0)).newestPointAt).toBe(new Date(T0).toISOString());
        await registry.claimNewest('released', T0 + 4_000, T0 + 4_000);
        await registry.releaseNewest('released', T0 + 1_000, T0);
        expect((await registry.getStats('released', T0)).newestPointAt).toBe(new Date(T0 + 4_000).toISOString());
      });

      it('moves forward with the stored batches, never back', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('stored'));
        expect((await registry.getStats('stored', T0)).newestPointAt).toBeUndefined();
        await registry.addStats('stored', delta(T0, 1, { newestPointAt: T0 + 9_000 }));
        await registry.addStats('stored', delta(T0, 1, { newestPointAt: T0 + 1_000 }));
        expect((await registry.getStats('stored', T0)).newestPointAt).toBe(new Date(T0 + 9_000).toISOString());
        expect(await registry.claimNewest('stored', T0 + 8_000, T0 + 10_000)).toEqual({ claimed: false, newest: T0 + 9_000 });
      });
    });

    describe('list', () => {
      it('pages through 30 streams 7 at a time, showing each exactly once', async () => {
        const { registry } = await makeRegistry();
        const ids = Array.from({ length: 30 }, (_, i) => `s-${pad(i)}`);
        for (const id of [...ids].reverse()) await registry.create(aStream(id));
        const seen: string[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await registry.list({ limit: 7, ...(cursor && { cursor }) });
          sizes.push(page.streams.length);
          seen.push(...page.streams.map((s) => s.id));
          cursor = page.nextCursor;
        } while (cursor && sizes.length < 10);
        expect(sizes).toEqual([7, 7, 7, 7, 2]);
        expect([...seen].sort()).toEqual(ids);
      });

      it('returns no cursor when the page holds the last stream', async () => {
        const { registry } = await makeRegistry();
        for (const id of ['a', 'b', 'c']) await registry.create(aStream(id));
        const page = await registry.list({ limit: 3 });
        expect(page.streams.map((s) => s.id).sort()).toEqual(['a', 'b', 'c']);
        expect(page.nextCursor).toBeUndefined();
      });

      it('keeps only streams that carry every tag asked for', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('prod-lyon', { tags: { env: 'prod', site: 'lyon' } }));
        await registry.create(aStream('prod-oslo', { tags: { env: 'prod', site: 'oslo' } }));
        await registry.create(aStream('dev-lyon', { tags: { env: 'dev', site: 'lyon' } }));
        await registry.create(aStream('untagged'));
        const ids = async (tags: Record<string, string>) => (await registry.list({ tags })).streams.map((s) => s.id).sort();
        expect(await ids({ env: 'prod', site: 'lyon' })).toEqual(['prod-lyon']);
        expect(await ids({ env: 'prod' })).toEqual(['prod-lyon', 'prod-oslo']);
        expect(await ids({ site: 'lyon' })).toEqual(['dev-lyon', 'prod-lyon']);
        expect(await ids({ env: 'staging' })).toEqual([]);
        expect(await ids({})).toEqual(['dev-lyon', 'prod-lyon', 'prod-oslo', 'untagged']);
      });

      it('keeps only the streams of the vault asked for, with tags too, and follows a vault change', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('a1', { vaultId: 'vault_a', tags: { env: 'prod' } }));
        await registry.create(aStream('a2', { vaultId: 'vault_a' }));
        await registry.create(aStream('b1', { vaultId: 'vault_b', tags: { env: 'prod' } }));
        await registry.create(aStream('none'));
        const ids = async (options: { vaultId?: string; tags?: Record<string, string> }) => (await registry.list(options)).streams.map((s) => s.id).sort();
        expect(await ids({ vaultId: 'vault_a' })).toEqual(['a1', 'a2']);
        expect(await ids({ vaultId: 'vault_a', tags: { env: 'prod' } })).toEqual(['a1']);
        expect(await ids({ vaultId: 'vault_c' })).toEqual([]);
        const moved = (await registry.get('a2'))!;
        await registry.update({ ...moved, vaultId: 'vault_b', version: moved.version + 1 });
        expect(await ids({ vaultId: 'vault_b' })).toEqual(['a2', 'b1']);
        expect((await registry.get('a2'))?.vaultId).toBe('vault_b');
      });

      it('fills a filtered page even when the matches lie behind many streams that do not match', async () => {
        const { registry } = await makeRegistry();
        for (let i = 0; i < 130; i++) await registry.create(aStream(`a-${pad(i)}`, { tags: { env: 'dev' } }));
        for (const id of ['z-1', 'z-2', 'z-3']) await registry.create(aStream(id, { tags: { env: 'prod' } }));
        const first = await registry.list({ tags: { env: 'prod' }, limit: 2 });
        expect(first.streams.map((s) => s.id).sort()).toEqual(['z-1', 'z-2']);
        expect(first.nextCursor).toBeDefined();
        const second = await registry.list({ tags: { env: 'prod' }, limit: 2, cursor: first.nextCursor! });
        expect(second.streams.map((s) => s.id)).toEqual(['z-3']);
        expect(second.nextCursor).toBeUndefined();
      });

      it('leaves deleted streams out', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('kept'));
        await registry.create(aStream('gone'));
        await registry.delete('gone');
        expect((await registry.list()).streams.map((s) => s.id)).toEqual(['kept']);
      });

      it('rejects a cursor it did not issue as a bad request', async () => {
        const { registry } = await makeRegistry();
        await expect(registry.list({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(BadRequestError);
        const forged = Buffer.from(JSON.stringify({ id: '../../etc' })).toString('base64url');
        await expect(registry.list({ cursor: forged })).rejects.toBeInstanceOf(BadRequestError);
      });
    });

    describe('update', () => {
      it('stores the next version and its new tags', async () => {
        const { registry } = await makeRegistry();
        const v1 = aStream('meters', { tags: { env: 'dev' } });
        await registry.create(v1);
        const v2: Stream = { ...v1, name: 'Meters', tags: { env: 'prod' }, state: 'paused', version: 2, updatedAt: new Date(T0 + 1000).toISOString() };
        await registry.update(v2);
        expect(await registry.get('meters')).toEqual(v2);
        expect((await registry.list({ tags: { env: 'prod' } })).streams.map((s) => s.id)).toEqual(['meters']);
        expect((await registry.list({ tags: { env: 'dev' } })).streams).toEqual([]);
      });

      it('refuses a change made from a stale version and keeps the newer one', async () => {
        const { registry } = await makeRegistry();
        const v1 = aStream('meters');
        await registry.create(v1);
        const a: Stream = { ...v1, name: 'From A', version: 2 };
        const b: Stream = { ...v1, name: 'From B', version: 2 };
        await registry.update(a);
        await expect(registry.update(b)).rejects.toBeInstanceOf(StreamConflictError);
        await expect(registry.update({ ...v1, version: 4 })).rejects.toBeInstanceOf(StreamConflictError);
        expect(await registry.get('meters')).toEqual(a);
      });

      it('reports an unknown or deleted stream as not found', async () => {
        const { registry } = await makeRegistry();
        await expect(registry.update(aStream('ghost', { version: 2 }))).rejects.toBeInstanceOf(StreamNotFoundError);
        await registry.create(aStream('gone'));
        await registry.delete('gone');
        await expect(registry.update(aStream('gone', { version: 2 }))).rejects.toBeInstanceOf(StreamNotFoundError);
        expect(await registry.get('gone')).toBeUndefined();
      });
    });

    describe('delete', () => {
      it('removes the stream, its tokens and its stats, and leaves other streams alone', async () => {
        const { registry, tokens } = await makeRegistry();
        await registry.create(aStream('doomed'));
        await registry.create(aStream('other'));
        await tokens.put(aToken(1, 'doomed'));
        await tokens.put(aToken(2, 'doomed'));
        await tokens.put(aToken(3, 'other'));
        await registry.addStats('doomed', delta(T0, 5, { samples: [{ reason: 'no' }] }));
        await registry.addStats('other', delta(T0, 7));

        await registry.delete('doomed');

        expect(await registry.get('doomed')).toBeUndefined();
        expect(await tokens.find(aToken(1).hash)).toBeUndefined();
        expect(await tokens.find(aToken(2).hash)).toBeUndefined();
        expect(await tokens.find(aToken(3).hash)).toEqual(aToken(3, 'other'));
        expect(await registry.getStats('doomed', T0)).toEqual({ pointsTotal: 0, pointsToday: 0, invalidCount: 0, rejectedCount: 0, filteredCount: 0, recentRejections: [] });
        expect((await registry.getStats('other', T0)).pointsTotal).toBe(7);
        expect(await registry.get('other')).toEqual(aStream('other'));
      });

      it('reports an unknown or already deleted stream as not found', async () => {
        const { registry } = await makeRegistry();
        await expect(registry.delete('ghost')).rejects.toBeInstanceOf(StreamNotFoundError);
        await registry.create(aStream('once'));
        await registry.delete('once');
        await expect(registry.delete('once')).rejects.toBeInstanceOf(StreamNotFoundError);
      });
    });

    describe('stats', () => {
      const yesterday = Date.parse('2026-03-09T23:59:59.999Z');
      const today = Date.parse('2026-03-10T00:00:00.000Z');

      it('starts at zero with no rejections and no lastDataAt', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('quiet'));
        expect(await registry.getStats('quiet', T0)).toEqual({ pointsTotal: 0, pointsToday: 0, invalidCount: 0, rejectedCount: 0, filteredCount: 0, recentRejections: [] });
      });

      it('counts the records a processing stage filtered out, alone or with points', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('sieve'));
        await registry.addStats('sieve', { at: T0, points: 0, invalid: 0, rejected: 0, filtered: 3, samples: [] });
        await registry.addStats('sieve', { ...delta(T0, 2, {}), filtered: 4 });
        expect(await registry.getStats('sieve', T0)).toMatchObject({ pointsTotal: 2, filteredCount: 7, invalidCount: 0 });
      });

      it('adds two deltas up and keeps the time of the later one', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('busy'));
        await registry.addStats('busy', delta(T0, 10, { invalid: 2, samples: [{ reason: 'r1' }] }));
        await registry.addStats('busy', delta(T0 + 60_000, 5, { invalid: 1, samples: [{ reason: 'r2' }, { reason: 'r3' }] }));
        const stats = await registry.getStats('busy', T0 + 120_000);
        expect(stats).toMatchObject({ pointsTotal: 15, pointsToday: 15, invalidCount: 3, rejectedCount: 3 });
        expect(stats.lastDataAt).toBe(new Date(T0 + 60_000).toISOString());
      });

      it('keeps the writer’s health aggregates per minute, adds a minute’s batches up, and reads back the last hour only', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('healthy'));
        const minute = Math.floor(T0 / 60_000) * 60_000;
        await registry.addStats('healthy', { ...delta(minute - 2 * 3_600_000, 9), health: { latency: { '300': 9 }, latencySumMs: 9 } });
        await registry.addStats('healthy', { ...delta(minute + 1_000, 10, { invalid: 1 }), health: { latency: { '242': 8, '250': 2 }, latencySumMs: 1_200 } });
        await registry.addStats('healthy', { ...delta(minute + 30_000, 5), health: { latency: { '242': 5 }, latencySumMs: 500 } });
        await registry.addStats('healthy', { ...delta(minute + 60_000, 1), health: { latency: { '-3': 1 }, latencySumMs: 1 } });
        const { healthBuckets } = await registry.getStats('healthy', minute + 90_000);
        expect(healthBuckets).toEqual([
          { start: minute, points: 15, invalid: 1, rejected: 0, latency: { '242': 13, '250': 2 }, latencySumMs: 1_700 },
          { start: minute + 60_000, points: 1, invalid: 0, rejected: 0, latency: { '-3': 1 }, latencySumMs: 1 },
        ]);
        // stats without the writer's health (the MQTT gateway's refusals) leave no bucket
        await registry.create(aStream('quiet'));
        await registry.addStats('quiet', delta(minute, 0, { invalid: 2 }));
        expect((await registry.getStats('quiet', minute)).healthBuckets).toBeUndefined();
      });

      it("counts today's points apart from yesterday's, by UTC day", async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('daily'));
        await registry.addStats('daily', delta(yesterday, 5));
        await registry.addStats('daily', delta(today, 3));
        await registry.addStats('daily', delta(today + 3_600_000, 4));
        expect(await registry.getStats('daily', today + 7_200_000)).toMatchObject({ pointsTotal: 12, pointsToday: 7 });
        expect(await registry.getStats('daily', yesterday)).toMatchObject({ pointsTotal: 12, pointsToday: 5 });
        expect(await registry.getStats('daily', today + 2 * 86_400_000)).toMatchObject({ pointsTotal: 12, pointsToday: 0 });
      });

      it('keeps the 20 newest rejections, newest first, with reason, time and record', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('noisy'));
        for (let call = 0; call < 3; call++) {
          const rejected = Array.from({ length: 10 }, (_, i) => ({ reason: `r${call * 10 + i}`, record: { n: call * 10 + i, deviceId: 'f1' } }));
          await registry.addStats('noisy', delta(T0 + call * 1000, 0, { samples: rejected }));
        }
        const stats = await registry.getStats('noisy', T0);
        expect(stats.rejectedCount).toBe(30);
        expect(stats.recentRejections.map((r) => r.reason)).toEqual(Array.from({ length: 20 }, (_, i) => `r${29 - i}`));
        expect(stats.recentRejections[0]).toEqual({ reason: 'r29', at: new Date(T0 + 2000).toISOString(), record: { n: 29, deviceId: 'f1' } });
        expect(stats.recentRejections[19]?.at).toBe(new Date(T0 + 1000).toISOString());
      });

      it('keeps a rejection that came without its record', async () => {
        const { registry } = await makeRegistry();
        await registry.create(aStream('bare'));
        await registry.addStats('bare', delta(T0, 0, { samples: [{ reason: 'unreadable message' }] }));
        expect((await registry.getStats('bare', T0)).recentRejections).toEqual([{ reason: 'unreadable message', at: new Date(T0).toISOString() }]);
      });
    });
  });
}
