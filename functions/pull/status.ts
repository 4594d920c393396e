import { firstRunAt, parseSchedule, type PullSource } from '../../shared/domain/pull-source';
import type { PullState } from '../../shared/ports';

/** The `pull` section of `GET /v1/streams/{id}/status`: the pull state without its internals, and the schedule. */
export type PullStatus = Omit<PullState, 'streamId' | 'seen' | 'schedule'> & { schedule: string };

/**
 * What a pull stream's status shows: its state, and when the schedule next fires (for a stream the
 * dispatcher has not seen yet, when it will first be due: see `firstRunAt`).
 *
 * @example
 * const pull = pullStatus(stream, await pullState.get(stream.id));
 */
export function pullStatus(stream: { source: PullSource; createdAt: string; updatedAt: string }, state: PullState | undefined): PullStatus {
  const { source } = stream;
  const stale = state?.nextRunAt === undefined || (state.schedule !== undefined && state.schedule !== source.schedule);
  const first = stale ? firstRunAt(parseSchedule(source.schedule), Date.parse(state?.nextRunAt === undefined ? stream.createdAt : stream.updatedAt)) : undefined;
  const next = stale ? (first === undefined ? undefined : new Date(first).toISOString()) : state!.nextRunAt;
  return {
    schedule: source.schedule,
    ...(state?.lastRunAt && { lastRunAt: state.lastRunAt }),
    ...(state?.lastSuccessAt && { lastSuccessAt: state.lastSuccessAt }),
    ...(state?.lastStatus && { lastStatus: state.lastStatus }),
    ...(next && { nextRunAt: next }),
    ...(state?.lastError && { lastError: state.lastError }),
    ...(source.kind === 'database' && { cursor: state?.cursor !== undefined ? state.cursor : source.initialCursor }),
    runs: state?.runs ?? 0,
    failures: state?.failures ?? 0,
    recordsPulled: state?.recordsPulled ?? 0,
    recordsEnqueued: state?.recordsEnqueued ?? 0,
    recordsDeduped: state?.recordsDeduped ?? 0,
    recordsInvalid: state?.recordsInvalid ?? 0,
  };
}
