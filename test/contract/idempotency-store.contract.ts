import { afterEach, describe, expect, it, vi } from 'vitest';
import { IdempotencyKeyInFlightError, IdempotencyKeyReusedError } from '../../shared/domain/errors';
import type { IdempotencyStore } from '../../shared/ports';

const HOLD = { holdMs: 10_000 };

/** A work function that counts its runs and resolves to `value`. */
function counted<T>(value: T) {
  const work = Object.assign(async () => {
    work.runs++;
    return value;
  }, { runs: 0 });
  return work;
}

/** A promise resolved from outside: work that stays in flight until the test lets it finish. */
function gate<T>() {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * The behaviour every `IdempotencyStore` adapter must have. `make` gives a fresh, empty store whose window
 * is the default 24 hours.
 *
 * @example
 * idempotencyStoreContract(async () => new DynamoDbIdempotencyStore({ client, tableName: await freshTable() }));
 */
export function idempotencyStoreContract(make: () => Promise<IdempotencyStore>): void {
  describe('IdempotencyStore contract', () => {
    afterEach(() => vi.useRealTimers());

    it('runs the work of a new key once and gives its value, not replayed', async () => {
      const store = await make();
      const work = counted({ statusCode: 202, body: '{"accepted":2}' });
      await expect(store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, work, HOLD)).resolves.toEqual({
        value: { statusCode: 202, body: '{"accepted":2}' },
        replayed: false,
        recorded: true,
      });
      expect(work.runs).toBe(1);
    });

    it('replays the recorded value for the same key and fingerprint without running the work again', async () => {
      const store = await make();
      const first = counted({ n: 1, nested: { list: [1, 'two', null] } });
      await store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, first, HOLD);
      const again = counted({ n: 2 });
      const outcome = await store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, again, HOLD);
      expect(outcome).toEqual({ value: { n: 1, nested: { list: [1, 'two', null] } }, replayed: true, recorded: true });
      expect(again.runs).toBe(0);
    });

    it('refuses the same key with another fingerprint, running nothing', async () => {
      const store = await make();
      await store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, counted(1), HOLD);
      const other = counted(2);
      await expect(store.once({ scope: 's', key: 'k1', fingerprint: 'g' }, other, HOLD)).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
      expect(other.runs).toBe(0);
    });

    it('keeps scopes apart: the same key in another scope is a new key', async () => {
      const store = await make();
      await store.once({ scope: 'a', key: 'k1', fingerprint: 'f' }, counted('a'), HOLD);
      const work = counted('b');
      await expect(store.once({ scope: 'b', key: 'k1', fingerprint: 'g' }, work, HOLD)).resolves.toMatchObject({ value: 'b', replayed: false });
      // and a scope and key that would join to the same text stay two keys
      await expect(store.once({ scope: 'a:k', key: '1', fingerprint: 'f' }, counted('c'), HOLD)).resolves.toMatchObject({ value: 'c', replayed: false });
      expect(work.runs).toBe(1);
    });

    it('answers a request whose key is still in flight with IdempotencyKeyInFlightError, then replays once it completed', async () => {
      const store = await make();
      const slow = gate<string>();
      const first = store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, () => slow.promise, HOLD);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const during = counted('during');
      await expect(store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, during, HOLD)).rejects.toBeInstanceOf(IdempotencyKeyInFlightError);
      slow.open('done');
      await expect(first).resolves.toEqual({ value: 'done', replayed: false, recorded: true });
      await expect(store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, during, HOLD)).resolves.toEqual({ value: 'done', replayed: true, recorded: true });
      expect(during.runs).toBe(0);
    });

    it('lets exactly one of many concurrent requests with one key run its work', async () => {
      const store = await make();
      const work = counted('once');
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => store.once({ scope: 's', key: 'race', fingerprint: 'f' }, work, HOLD)));
      expect(work.runs).toBe(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(IdempotencyKeyInFlightError);
        else expect(o.value.value).toBe('once');
      }
      expect(outcomes.filter((o) => o.status === 'fulfilled' && !o.value.replayed)).toHaveLength(1);
    });

    it('releases the key when the work throws (the error passes through), so a retry runs it', async () => {
      const store = await make();
      const boom = new Error('queue full');
      await expect(store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, () => Promise.reject(boom), HOLD)).rejects.toBe(boom);
      const retry = counted('second try');
      await expect(store.once({ scope: 's', key: 'k1', fingerprint: 'other body now' }, retry, HOLD)).resolves.toMatchObject({ value: 'second try', replayed: false });
      expect(retry.runs).toBe(1);
    });

    it('lets a retry take over a claim held past holdMs (its request crashed before it completed)', async () => {
      const store = await make();
      const crashed = gate<string>();
      void store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, () => crashed.promise, { holdMs: 50 });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const retry = counted('retried');
      await expect(store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, retry, HOLD)).resolves.toMatchObject({ value: 'retried', replayed: false });
      expect(retry.runs).toBe(1);
    });

    it('forgets a completed key after its 24-hour window: the same key then runs anew', async () => {
      const store = await make();
      await store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, counted('day one'), HOLD);
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 23 * 3_600_000);
      await expect(store.once({ scope: 's', key: 'k1', fingerprint: 'f' }, counted('x'), HOLD)).resolves.toMatchObject({ value: 'day one', replayed: true });
      vi.setSystemTime(Date.now() + 1 * 3_600_000 + 2_000);
      const later = counted('day two');
      await expect(store.once({ scope: 's', key: 'k1', fingerprint: 'another' }, later, HOLD)).resolves.toMatchObject({ value: 'day two', replayed: false });
      expect(later.runs).toBe(1);
    });

    it('replays a large value exactly (a 202 listing thousands of rejected records)', async () => {
      const store = await make();
      const rejected = Array.from({ length: 10_000 }, (_, index) => ({ index, path: ['temperature'], message: `must be at most 100, got ${100 + index}` }));
      const value = { statusCode: 202, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accepted: 0, rejected }) };
      expect(value.body.length).toBeGreaterThan(500_000);
      await store.once({ scope: 's', key: 'big', fingerprint: 'f' }, counted(value), HOLD);
      await expect(store.once({ scope: 's', key: 'big', fingerprint: 'f' }, counted(null), HOLD)).resolves.toEqual({ value, replayed: true, recorded: true });
    });
  });
}
