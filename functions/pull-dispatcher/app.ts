import { isPullType } from '../../shared/domain/stream-names';
import { firstRunAt, nextRunAfter, parseSchedule, type Schedule } from '../../shared/domain/pull-schedule';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Clock, PullState, PullStateStore, StreamRegistry } from '../../shared/ports';
import type { Logger } from '../commons/http';

export interface DispatcherDeps {
  registry: StreamRegistry;
  state: PullStateStore;
  clock: Clock;
  log: Logger;
  /** Starts the pulls of these streams (AWS: one SQS message each; locally: runs them in the background). */
  dispatch(streamIds: string[]): Promise<void>;
}

const PAGE = 1000;

/**
 * The schedule's clock: called once a minute (EventBridge in AWS, croner on one machine), it lists the
 * active pull streams, reads their pull state in one batch, and dispatches those that are due. A stream is
 * claimed before it is dispatched: `nextRunAt` moves to the schedule's next time only if no other
 * dispatcher moved it first, so each due run is dispatched once. A new stream on a rate schedule is due at
 * once; on a cron schedule at its first match after its creation. A changed schedule counts from the change
 * the same way. A run missed while nothing was running happens once, not once per missed tick.
 *
 * @example
 * const tick = makeDispatcher({ registry, state, clock: systemClock, log: jsonLogger, dispatch: sendToPullQueue });
 * await tick(); // { dispatched: ['vendor-readings'] }
 */
export function makeDispatcher(deps: DispatcherDeps) {
  const { registry, state, clock, log } = deps;

  return async function tick(): Promise<{ dispatched: string[] }> {
    const streams = await pullStreams();
    const states = await state.getMany(streams.map((s) => s.id));
    const now = clock.now();
    const due: string[] = [];
    for (const stream of streams) {
      const expression = stream.source!.schedule;
      const schedule = parseSchedule(expression);
      const pull = states.get(stream.id);
      const current = pull?.nextRunAt;
      const dueAt = dueTime(schedule, expression, stream, pull);
      if (dueAt === undefined || dueAt > now) {
        // a changed schedule moves the next run at once, without running now
        if (current !== undefined && pull?.schedule !== expression && dueAt !== undefined) {
          await state.claimSchedule(stream.id, current, new Date(dueAt).toISOString(), expression);
        }
        continue;
      }
      const next = nextRunAfter(schedule, now);
      if (next === undefined) continue;
      if (await state.claimSchedule(stream.id, current, new Date(next).toISOString(), expression)) due.push(stream.id);
    }
    if (due.length) {
      await deps.dispatch(due);
      log.info('pulls dispatched', { count: due.length });
    }
    return { dispatched: due };
  };

  /** When the stream is due: its claimed `nextRunAt`, or, if the dispatcher never saw this schedule, its first run. */
  function dueTime(schedule: Schedule, expression: string, stream: Stream, pull: PullState | undefined): number | undefined {
    if (pull?.nextRunAt !== undefined && (pull.schedule === undefined || pull.schedule === expression)) return Date.parse(pull.nextRunAt);
    const since = pull?.nextRunAt === undefined ? stream.createdAt : stream.updatedAt;
    return firstRunAt(schedule, Date.parse(since));
  }

  async function pullStreams(): Promise<Stream[]> {
    const found: Stream[] = [];
    let cursor: string | undefined;
    do {
      const page = await registry.list({ limit: PAGE, ...(cursor && { cursor }) });
      for (const s of page.streams) if (isPullType(s.type) && s.source && s.state === 'active') found.push(s);
      cursor = page.nextCursor;
    } while (cursor);
    return found;
  }
}
