import { olderThanNewest, orderIssues } from '../../shared/domain/check-timestamp';
import { InvalidTimestampError, type Issue } from '../../shared/domain/errors';
import type { Stream } from '../../shared/domain/stream-definition';
import type { StreamRegistry } from '../../shared/ports';

/** A stream's newest point as a checked request moved it: undone if its records are not queued. */
export interface TimestampClaim {
  streamId: string;
  claimed: number;
  previous?: number;
}

/**
 * The document's `check_timestamp` for one stream's accepted points (`indexes[i]` is point i's record):
 * in order among themselves, and none older than the stream's newest, which moves to their newest at
 * once, so a checked request after this one is held to it even before the writer has stored these.
 * Throws `InvalidTimestampError` listing each record too old (`at` maps indexes to what the client sent).
 *
 * @example
 * const claim = await claimTimestamps(registry, stream, result.points, result.indexes, (i) => i);
 */
export async function claimTimestamps(
  registry: Pick<StreamRegistry, 'claimNewest'>,
  stream: Stream,
  points: readonly { time: number }[],
  indexes: readonly number[],
  at: (issues: Issue[]) => Issue[],
): Promise<TimestampClaim | undefined> {
  if (points.length === 0) return undefined;
  const disordered = orderIssues(points, indexes, stream.timeField);
  if (disordered.length > 0) throw new InvalidTimestampError(stream.id, at(disordered));
  const oldest = points[0]!.time;
  const newest = points[points.length - 1]!.time;
  const claim = await registry.claimNewest(stream.id, oldest, newest);
  if (!claim.claimed) throw new InvalidTimestampError(stream.id, at(olderThanNewest(points, indexes, claim.newest, stream.timeField)));
  return { streamId: stream.id, claimed: newest, ...(claim.previous !== undefined && { previous: claim.previous }) };
}

/** Undoes claims whose records could not be queued (best effort: a claim left behind only refuses older points). */
export async function releaseClaims(registry: Pick<StreamRegistry, 'releaseNewest'>, claims: readonly (TimestampClaim | undefined)[]): Promise<void> {
  await Promise.all(claims.map((c) => (c ? registry.releaseNewest(c.streamId, c.claimed, c.previous).catch(() => {}) : undefined)));
}
