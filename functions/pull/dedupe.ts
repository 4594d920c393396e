import { createHash } from 'node:crypto';

/** How many keys the dedupe memory keeps (the ones with the newest times); about 30 bytes each in the state item. */
export const MAX_SEEN_KEYS = 5_000;

export interface DedupeResult {
  /** Positions (in the given records) to send. */
  keep: number[];
  deduped: number;
  /** The memory to store once the kept records are queued. */
  seen: Record<string, number>;
}

/**
 * Drops records already sent: a record whose key (the values of `keyFields`) was sent before with the same
 * or a newer time, or that repeats another record of this run with the same key and time. The memory is the
 * newest time per key hash, bounded to `MAX_SEEN_KEYS` keys. Comparing with earlier runs only lets one run
 * carry several times of one key in any order.
 *
 * @example
 * const { keep, seen } = dedupe(records, times, ['sensor'], state.seen);
 */
export function dedupe(records: readonly unknown[], times: readonly number[], keyFields: readonly string[], previous: Readonly<Record<string, number>>): DedupeResult {
  const seen: Record<string, number> = { ...previous };
  const thisRun = new Set<string>();
  const keep: number[] = [];
  records.forEach((record, i) => {
    const time = times[i]!;
    const key = keyHash(record, keyFields);
    const before = previous[key];
    const exact = `${key}@${time}`;
    if ((before !== undefined && time <= before) || thisRun.has(exact)) return;
    thisRun.add(exact);
    keep.push(i);
    if (seen[key] === undefined || seen[key]! < time) seen[key] = time;
  });
  return { keep, deduped: records.length - keep.length, seen: bounded(seen) };
}

function keyHash(record: unknown, keyFields: readonly string[]): string {
  const values = keyFields.map((f) => (record as Record<string, unknown> | null)?.[f] ?? null);
  return createHash('sha256').update(JSON.stringify(values)).digest('base64url').slice(0, 16);
}

function bounded(seen: Record<string, number>): Record<string, number> {
  const entries = Object.entries(seen);
  if (entries.length <= MAX_SEEN_KEYS) return seen;
  entries.sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(entries.slice(0, MAX_SEEN_KEYS));
}
