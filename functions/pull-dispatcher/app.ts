import { firstRunAt, nextOnGrid, parseSchedule, runsWithin, type Schedule } from '../../shared/domain/pull-schedule';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Clock, PullState, PullStateStore, StreamRegistry } from '../../shared/ports';
import type { Logger } from '../commons/http';

export interface DispatcherDeps {
  registry: StreamRegistry;
  state: PullStateStore;
  clock: Clock;
  log: Logger;
  /**
   * Starts the pulls of these streams (AWS: one SQS message each; locally: runs them in the background), after
   * `delaySeconds` when given: the later runs of a rate shorter than the tick.
   */
  dispatch(streamIds: string[], delaySeconds?: number): Promise<void>;
  /**
   * How often the dispatcher is called, when that is coarser than some rates (EventBridge's minute): a stream on
   * `rate(10 seconds)` is then dispatched 6 times per tick, 10 seconds apart (`runsWithin`). Unset, each tick
   * dispatches what is due then (one machine's 5-second tick).
   */
  tickMs?: number;
}

const PAGE = 1000;

/**
 * The schedule's clock: called once a minute (EventBridge in AWS, croner on one machine), it lists the
 * active pull streams, reads their pull state in one batch, and dispatches those that are due. A stream is
 * claimed before it is dispatched: `nextRunAt` moves to the schedule's next time only if no other
 * dispatcher moved it first, so each due run is dispatched once. A new stream on a rate schedule is due at
 * once; on a cron schedule at its first match after its creation. A changed schedule counts from the change
 * the same way. A run missed while nothing was running happens once, not once per missed tick. A rate in
 * seconds keeps its grid (each run `everyMs` after the one before, however late the tick); with `tickMs` set, the
 * runs of a rate shorter than the tick are spread over it.
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
    /** Streams to start later in this tick, by delay in seconds. */
    const later = new Map<number, string[]>();
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
      const spread = runsWithin(schedule, now, deps.tickMs);
      const next = spread.offsetsMs.length > 1 ? spread.next : nextOnGrid(schedule, dueAt, now);
      if (next === undefined) continue;
      if (!(await state.claimSchedule(stream.id, current, new Date(next).toISOString(), expression))) continue;
      due.push(stream.id);
      for (const offset of spread.offsetsMs.slice(1)) {
        const delay = Math.round(offset / 1000);
        later.set(delay, [...(later.get(delay) ?? []), stream.id]);
      }
    }
    if (due.length) {
      await deps.dispatch(due);
      for (const [delay, ids] of later) await deps.dispatch(ids, delay);
      log.info('pulls dispatched', { count: due.length, later: [...later.values()].reduce((n, ids) => n + ids.length, 0) });
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
      // api_pull and database streams, and iot_sensor streams polled from a device (Modbus TCP, BACnet/IP)
      for (const s of page.streams) if (s.source && s.state === 'active') found.push(s);
      cursor = page.nextCursor;
    } while (cursor);
    return found;
  }
}
