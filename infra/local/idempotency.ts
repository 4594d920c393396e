import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbIdempotencyStore } from '../../shared/aws/dynamodb-idempotency-store';
import { deleteExpiredIdempotencyKeys } from '../../shared/aws/dynamodb-idempotency-sweep';
import { idempotencyTableDefinition } from '../../shared/aws/dynamodb-idempotency-table';
import { ensureTable } from '../../shared/local/dynalite-server';
import type { Logger } from '../../functions/commons/http';
import type { IdempotencyStore } from '../../shared/ports';

/** The local idempotency table's name, beside Tributary's table in the same dynalite. */
export const IDEMPOTENCY_TABLE_NAME = 'tributary-idempotency';

/** How often expired keys are deleted (DynamoDB's TTL does it in AWS; dynalite has none). */
const SWEEP_EVERY_MS = 10 * 60_000;

export interface LocalIdempotency {
  store: IdempotencyStore;
  close(): Promise<void>;
}

/**
 * The `Idempotency-Key` store of the local runtime: the AWS adapter on dynalite, and a sweep that deletes
 * keys past their window every 10 minutes (at start too), standing in for the table's TTL.
 *
 * @example
 * const idempotency = await startLocalIdempotency(dynamo.client, log);
 * makeIngestHandler({ registry, queue, clock, log, idempotency: idempotency.store });
 */
export async function startLocalIdempotency(client: DynamoDBClient, log: Logger, env: Record<string, string | undefined> = process.env): Promise<LocalIdempotency> {
  await ensureTable(client, IDEMPOTENCY_TABLE_NAME, 30_000, idempotencyTableDefinition(IDEMPOTENCY_TABLE_NAME));
  const adapter = new DynamoDbIdempotencyStore({ client, tableName: IDEMPOTENCY_TABLE_NAME });
  const store: IdempotencyStore = env.TRIBUTARY_TEST_CRASH_MID_IDEMPOTENT_INGEST === '1' ? crashingBeforeRecord(adapter) : adapter;
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    sweeping = deleteExpiredIdempotencyKeys(client, IDEMPOTENCY_TABLE_NAME, Date.now()).catch((err: unknown) => log.error('idempotency sweep failed', { error: (err as Error)?.name, reason: (err as Error)?.message }));
  };
  sweep();
  const timer = setInterval(sweep, SWEEP_EVERY_MS);
  timer.unref();
  return {
    store,
    async close() {
      clearInterval(timer);
      await sweeping;
    },
  };
}

/**
 * Test-only, off unless `TRIBUTARY_TEST_CRASH_MID_IDEMPOTENT_INGEST=1`: ends the process with SIGKILL once a
 * keyed request's work has resolved (its records queued) and before its key is recorded as completed, so a
 * test crashes the real process exactly there (`test/e2e/idempotent-ingest.test.ts`).
 */
function crashingBeforeRecord(store: IdempotencyStore): IdempotencyStore {
  return {
    once: (request, work, options) =>
      store.once(
        request,
        async () => {
          const value = await work();
          process.kill(process.pid, 'SIGKILL');
          return value;
        },
        options,
      ),
  };
}
