import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { PullOutcome, PullState, PullStateStore } from '../ports';
import { batchGetItems } from './dynamodb-batch-get';
import { callDynamo, checkTableOptions } from './dynamodb-call';
import { TABLE_KEYS } from './dynamodb-table';

/**
 * What `DynamoDbPullStateStore` is built from.
 *
 * @example
 * const options: DynamoDbPullStateOptions = { client: new DynamoDBClient({}), tableName: config.TABLE_NAME };
 */
export interface DynamoDbPullStateOptions {
  client: DynamoDBClient;
  tableName: string;
}

type Item = Record<string, AttributeValue>;
const { partitionKey: PK, sortKey: SK } = TABLE_KEYS;
const key = (streamId: string): Item => ({ [PK]: { S: `STREAM#${streamId}` }, [SK]: { S: 'PULL' } });

/**
 * `PullStateStore` on the single table: one `STREAM#<id>`/`PULL` item per pull stream (attributes in
 * `dynamodb-table.ts`). Every change is one `UpdateItem`: counters are ADDed, the lease is conditional, and
 * the dispatcher's claim on a due run is a compare-and-set on `nextRunAt`. Deleting the stream removes the
 * item with the stream's other items.
 *
 * @example
 * const state = new DynamoDbPullStateStore({ client, tableName: 'tributary' });
 * if (await state.acquire('vendor', Date.now(), Date.now() + 60_000)) { … }
 */
export class DynamoDbPullStateStore implements PullStateStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;

  constructor(options: DynamoDbPullStateOptions) {
    checkTableOptions('DynamoDbPullStateStore', options);
    this.client = options.client;
    this.table = options.tableName;
  }

  async get(streamId: string): Promise<PullState | undefined> {
    const out = await callDynamo('GetItem', () => this.client.send(new GetItemCommand({ TableName: this.table, Key: key(streamId), ConsistentRead: true })));
    return out.Item ? fromItem(streamId, out.Item) : undefined;
  }

  async getMany(streamIds: string[]): Promise<Map<string, PullState>> {
    const found = new Map<string, PullState>();
    const items = await batchGetItems({ client: this.client, table: this.table, keys: [...new Set(streamIds)].map(key) });
    for (const item of items) {
      const id = item[PK]?.S?.slice('STREAM#'.length);
      if (id) found.set(id, fromItem(id, item));
    }
    return found;
  }

  async acquire(streamId: string, now: number, until: number): Promise<boolean> {
    return this.conditional({
      TableName: this.table,
      Key: key(streamId),
      UpdateExpression: 'SET leaseUntil = :until',
      ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil < :now',
      ExpressionAttributeValues: { ':until': { N: String(until) }, ':now': { N: String(now) } },
    });
  }

  async finish(streamId: string, outcome: PullOutcome): Promise<void> {
    const at = new Date(outcome.at).toISOString();
    const values: Item = { ':at': { S: at }, ':one': { N: '1' }, ':pulled': { N: String(outcome.pulled) } };
    let update: string;
    if (outcome.ok) {
      Object.assign(values, {
        ':ok': { S: 'succeeded' },
        ':seen': { S: JSON.stringify(outcome.seen) },
        ':enqueued': { N: String(outcome.enqueued) },
        ':deduped': { N: String(outcome.deduped) },
        ':invalid': { N: String(outcome.invalid) },
      });
      const cursor = outcome.cursor === undefined ? '' : ', cursorJson = :cursor';
      if (outcome.cursor !== undefined) values[':cursor'] = { S: JSON.stringify(outcome.cursor) };
      update =
        `SET lastRunAt = :at, lastSuccessAt = :at, lastStatus = :ok, seenJson = :seen${cursor} ` +
        'ADD runs :one, recordsPulled :pulled, recordsEnqueued :enqueued, recordsDeduped :deduped, recordsInvalid :invalid ' +
        'REMOVE leaseUntil, lastError';
    } else {
      Object.assign(values, { ':failed': { S: 'failed' }, ':error': { S: JSON.stringify(outcome.error) }, ':invalid': { N: String(outcome.invalid ?? 0) } });
      update = 'SET lastRunAt = :at, lastStatus = :failed, lastError = :error ADD runs :one, failures :one, recordsPulled :pulled, recordsInvalid :invalid REMOVE leaseUntil';
    }
    await callDynamo('UpdateItem', () =>
      this.client.send(new UpdateItemCommand({ TableName: this.table, Key: key(streamId), UpdateExpression: update, ExpressionAttributeValues: values })),
    );
  }

  async claimSchedule(streamId: string, expected: string | undefined, next: string, schedule: string): Promise<boolean> {
    return this.conditional({
      TableName: this.table,
      Key: key(streamId),
      UpdateExpression: 'SET nextRunAt = :next, scheduleExpression = :schedule',
      ConditionExpression: expected === undefined ? 'attribute_not_exists(nextRunAt)' : 'nextRunAt = :expected',
      ExpressionAttributeValues: { ':next': { S: next }, ':schedule': { S: schedule }, ...(expected !== undefined && { ':expected': { S: expected } }) },
    });
  }

  private conditional(input: UpdateItemCommandInput): Promise<boolean> {
    return callDynamo('UpdateItem', () => this.client.send(new UpdateItemCommand(input)).then(() => true), async () => false);
  }
}

function fromItem(streamId: string, item: Item): PullState {
  const n = (name: string) => Number(item[name]?.N ?? 0);
  const s = (name: string) => item[name]?.S;
  const json = <T>(name: string, fallback: T): T => {
    const text = s(name);
    if (text === undefined) return fallback;
    try {
      return JSON.parse(text) as T;
    } catch {
      return fallback;
    }
  };
  const state: PullState = {
    streamId,
    seen: json<Record<string, number>>('seenJson', {}),
    runs: n('runs'),
    failures: n('failures'),
    recordsPulled: n('recordsPulled'),
    recordsEnqueued: n('recordsEnqueued'),
    recordsDeduped: n('recordsDeduped'),
    recordsInvalid: n('recordsInvalid'),
  };
  if (item.cursorJson) state.cursor = json<string | number | null>('cursorJson', null);
  for (const name of ['lastRunAt', 'lastSuccessAt', 'nextRunAt'] as const) {
    const v = s(name);
    if (v !== undefined) state[name] = v;
  }
  const schedule = s('scheduleExpression');
  if (schedule !== undefined) state.schedule = schedule;
  const status = s('lastStatus');
  if (status === 'succeeded' || status === 'failed') state.lastStatus = status;
  if (item.lastError) state.lastError = json('lastError', { at: '', code: 'unknown', message: 'unreadable' });
  return state;
}

