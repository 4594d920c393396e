import { StoreUnavailableError } from '../../shared/domain/errors';

export interface PatientOptions {
  /** How long one call keeps retrying an unavailable store before it fails (default 30 s). */
  maxWaitMs?: number;
  /** Set when the runtime closes: a call waiting on the store gives up at its next try. */
  stopped?: () => boolean;
}

/**
 * The writer's view of a store on one machine: a call to one of `methods` that fails because the store is
 * unavailable (`StoreUnavailableError`) is retried with backoff (0.1 s doubling to 2 s) for up to
 * `maxWaitMs` before it fails. The queue counts a failed batch as a receive and dead-letters a message after
 * three, which would turn a store outage of a few seconds into acknowledged records parked in the
 * dead-letter file; waiting here holds the batch instead, the queue fills and ingest answers 429 until the
 * store is back. Other methods (the queries) are passed through: they answer 503 at once.
 *
 * @example
 * const writer = makeWriter({ store: patient(duckdb, ['write'], { stopped: () => closing }), … });
 */
export function patient<T extends object>(target: T, methods: readonly (keyof T & string)[], options: PatientOptions = {}): T {
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const retried = new Set<PropertyKey>(methods);
  return new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj) as unknown;
      if (typeof value !== 'function') return value;
      if (!retried.has(prop)) return value.bind(obj);
      return async (...args: unknown[]) => {
        const until = Date.now() + maxWaitMs;
        for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          } catch (err) {
            if (!(err instanceof StoreUnavailableError) || options.stopped?.() || Date.now() + delay > until) throw err;
            await new Promise((resolve) => setTimeout(resolve, delay));
          }
        }
      };
    },
  });
}
