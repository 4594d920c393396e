import { type AttributeValue, BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '../domain/errors';
import { callDynamo } from './dynamodb-call';

type Item = Record<string, AttributeValue>;

/** BatchGetItem takes at most 100 keys a request. */
export const BATCH_GET_SIZE = 100;
/** Chunks in flight at once: a batch touching thousands of series must not burst a table's read capacity. */
const CONCURRENCY = 4;
const MAX_ATTEMPTS = 8;

/** What `batchGetItems` reads: the keys (no duplicates; BatchGetItem refuses them) and the attributes wanted. */
export interface BatchGet {
  client: DynamoDBClient;
  table: string;
  keys: readonly Item[];
  /** A `ProjectionExpression` and its names; every attribute unless given. */
  projection?: { expression: string; names: Record<string, string> };
}

/**
 * Reads items by key with strongly consistent `BatchGetItem`s of up to 100 keys, a few in flight at once,
 * retrying unprocessed keys with backoff. Keys that name no item are simply absent from the result.
 *
 * @example
 * const items = await batchGetItems({ client, table: 'tributary', keys, projection: { expression: '#a', names: { '#a': 'alertState' } } });
 */
export async function batchGetItems(get: BatchGet): Promise<Item[]> {
  const chunks: Item[][] = [];
  for (let i = 0; i < get.keys.length; i += BATCH_GET_SIZE) chunks.push(get.keys.slice(i, i + BATCH_GET_SIZE));
  const found: Item[] = [];
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) found.push(...(await readChunk(get, chunks[next++]!)));
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, chunks.length) }, worker));
  return found;
}

async function readChunk(get: BatchGet, chunk: Item[]): Promise<Item[]> {
  const found: Item[] = [];
  let keys = chunk;
  for (let attempt = 0; keys.length > 0; attempt++) {
    if (attempt === MAX_ATTEMPTS) throw new StoreUnavailableError(`DynamoDB BatchGetItem left ${keys.length} keys unprocessed.`);
    if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
    const request = {
      Keys: keys,
      ConsistentRead: true,
      ...(get.projection && { ProjectionExpression: get.projection.expression, ExpressionAttributeNames: get.projection.names }),
    };
    const out = await callDynamo('BatchGetItem', () => get.client.send(new BatchGetItemCommand({ RequestItems: { [get.table]: request } })));
    found.push(...(out.Responses?.[get.table] ?? []));
    keys = out.UnprocessedKeys?.[get.table]?.Keys ?? [];
  }
  return found;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
