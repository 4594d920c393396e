import { Cron } from 'croner';
import { join } from 'node:path';
import type { HttpHandler, Logger } from '../../functions/commons/http';
import { makePullHttpHandler, makePullRunner } from '../../functions/pull/app';
import { BacnetReader } from '../../functions/pull/bacnet-source';
import { makeDispatcher } from '../../functions/pull-dispatcher/app';
import type { DynamoDBClient } from '../../shared/aws/dynamodb-local-client';
import { DynamoDbPullStateStore, type DynamoDbPullStateOptions } from '../../shared/aws/dynamodb-pull-state';
import { FileSecretSource } from '../../shared/local/file-secret-source';
import type { Clock, IngestQueue, PullOutcome, PullStateStore, StreamRegistry } from '../../shared/ports';

/**
 * Settings of the local pull scheduler.
 *
 * @example
 * const options: LocalPullsOptions = { tick: '* * * * * *', allowLoopback: true };
 */
export interface LocalPullsOptions {
  /** croner pattern of the dispatcher's tick (default every 5 seconds; EventBridge's is every minute). */
  tick?: string;
  /** Let pulls reach 127.0.0.0/8 and ::1 (default true on one machine: the sources are often beside it). */
  allowLoopback?: boolean;
  /**
   * The environment `TRIBUTARY_SECRET_<NAME>`, `TRIBUTARY_BACNET_PORT` and `TRIBUTARY_BACNET_BROADCAST` are read
   * from (default `process.env`).
   */
  env?: Record<string, string | undefined>;
  /** The scheduler's clock (default the runtime's); tests move it to reach the next scheduled run. */
  clock?: Clock;
}

export interface LocalPulls {
  state: PullStateStore;
  /** `POST /v1/streams/{id}/pull`. */
  handler: HttpHandler;
  /** One dispatcher tick, now (what the croner job runs). */
  tick(): Promise<{ dispatched: string[] }>;
  /** Starts the croner job. */
  start(): void;
  /** Stops the job and waits for running pulls. */
  close(): Promise<void>;
}

export interface LocalPullsDeps {
  client: DynamoDBClient;
  tableName: string;
  registry: StreamRegistry;
  queue: IngestQueue;
  dataDir: string;
  clock: Clock;
  log: Logger;
}

/**
 * Scheduled pulls on one machine: the same dispatcher and pull runner as the Lambdas, with the pull state
 * in the same DynamoDB table (on dynalite), secrets from the environment or `<dataDir>/secrets.json`, and
 * croner standing in for EventBridge. Every tick re-reads the registry, so a created, patched, paused or
 * deleted stream is picked up on the next tick; due pulls run in the background, one per stream at a time.
 *
 * @example
 * const pulls = createLocalPulls({ client, tableName, registry, queue, dataDir, clock, log }, { tick: '* * * * * *' });
 * pulls.start();
 */
export function createLocalPulls(deps: LocalPullsDeps, options: LocalPullsOptions = {}): LocalPulls {
  const env = options.env ?? process.env;
  const crash = env.TRIBUTARY_TEST_CRASH_MID_PULL === '1' ? crashMidPull : undefined;
  const state = new ProcessLeasePullStateStore({ client: deps.client, tableName: deps.tableName }, crash);
  const secrets = new FileSecretSource({ env, file: join(deps.dataDir, 'secrets.json') });
  const bacnet = new BacnetReader(bacnetSettings(env));
  const runPull = makePullRunner({
    registry: deps.registry,
    queue: crash ? { send: (envelopes) => deps.queue.send(envelopes).then(crash) } : deps.queue,
    state,
    secrets,
    clock: deps.clock,
    log: deps.log,
    allowLoopback: options.allowLoopback ?? true,
    bacnet,
  });
  const running = new Set<Promise<unknown>>();
  const dispatch = async (streamIds: string[]) => {
    for (const id of streamIds) {
      const run = runPull(id, 'schedule')
        .catch((err: Error) => deps.log.error('scheduled pull failed', { streamId: id, error: err?.name, reason: err?.message }))
        .finally(() => running.delete(run));
      running.add(run);
    }
  };
  const tick = makeDispatcher({ registry: deps.registry, state, clock: options.clock ?? deps.clock, log: deps.log, dispatch });
  let job: Cron | undefined;
  let ticking: Promise<unknown> | undefined;
  return {
    state,
    handler: makePullHttpHandler({ runPull, log: deps.log }),
    tick,
    start() {
      job ??= new Cron(options.tick ?? '*/5 * * * * *', { protect: true, unref: true, catch: (err) => deps.log.error('pull dispatcher failed', { reason: (err as Error)?.message }) }, async () => {
        ticking = tick();
        await ticking;
      });
    },
    async close() {
      job?.stop();
      // a tick under way still reads the table and may start pulls: both end before the table closes
      await ticking?.catch(() => {});
      await Promise.allSettled([...running]);
      bacnet.close();
    },
  };
}

/**
 * The BACnet/IP client's settings: `TRIBUTARY_BACNET_PORT` (default 47808, where devices' I-Am broadcasts
 * arrive; 0 any free port, enough when every source gives its device's address) and `TRIBUTARY_BACNET_BROADCAST`
 * (`host[:port]` a Who-Is goes to, default 255.255.255.255).
 */
function bacnetSettings(env: Record<string, string | undefined>): { port?: number; broadcastAddress?: string } {
  const port = env.TRIBUTARY_BACNET_PORT ? Number(env.TRIBUTARY_BACNET_PORT) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65_535)) throw new Error(`TRIBUTARY_BACNET_PORT: must be a UDP port (0-65535), got '${env.TRIBUTARY_BACNET_PORT}'`);
  return { ...(port !== undefined && { port }), ...(env.TRIBUTARY_BACNET_BROADCAST && { broadcastAddress: env.TRIBUTARY_BACNET_BROADCAST }) };
}

/**
 * The pull state with the one-run-per-stream lease held in this process. One process owns a data dir (a
 * second one fails to open its LevelDB), so a lease a run left in the table when `kill -9` ended it is stale as
 * soon as the runtime starts again; honouring it would answer the stream's pulls with 409 and skip its
 * scheduled runs until it expired (twice the source's timeout plus 30 s after the crash, 50 s by default).
 * The runs of this process still exclude each other, as the table's lease makes them do in AWS.
 */
class ProcessLeasePullStateStore extends DynamoDbPullStateStore {
  private readonly leases = new Map<string, number>();

  constructor(
    options: DynamoDbPullStateOptions,
    private readonly afterFinish?: () => void,
  ) {
    super(options);
  }

  override async acquire(streamId: string, now: number, until: number): Promise<boolean> {
    if ((this.leases.get(streamId) ?? -Infinity) >= now) return false;
    this.leases.set(streamId, until);
    return true;
  }

  override async finish(streamId: string, outcome: PullOutcome): Promise<void> {
    try {
      await super.finish(streamId, outcome);
    } finally {
      this.leases.delete(streamId);
    }
    this.afterFinish?.();
  }
}

/**
 * Test-only, off unless `TRIBUTARY_TEST_CRASH_MID_PULL=1`: ends the process with SIGKILL right after a pull's
 * first durable write (its records queued, or its state and cursor saved, whichever the runner does first), so
 * a test crashes the real process exactly between the two (`test/e2e/pull-durability.test.ts`).
 */
function crashMidPull(): void {
  process.kill(process.pid, 'SIGKILL');
}
