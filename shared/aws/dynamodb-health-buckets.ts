import { type AttributeValue, type DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { bucketStart, HEALTH_BUCKET_MS, HEALTH_WINDOW_MS, type HealthBucket, type HealthDelta } from '../domain/stream-health';
import { callDynamo } from './dynamodb-call';
import { TABLE_KEYS } from './dynamodb-table';

type Item = Record<string, AttributeValue>;
const { partitionKey: PK, sortKey: SK } = TABLE_KEYS;
/** `HEALTH#<minute start, ISO>`: sorts by time, so the last hour is one key range. */
const PREFIX = 'HEALTH#';
/** A bucket outlives the hour the status reads by one more, then DynamoDB's TTL removes it. */
const BUCKET_TTL_MS = 2 * HEALTH_WINDOW_MS;
/** Latency bins are top-level numbers `l<key>` (ADD takes top-level attributes only), the counters beside them. */
const LATENCY_PREFIX = 'l';
const COUNTERS = { points: 'hp', invalid: 'hi', rejected: 'hr', latencySumMs: 'hs' } as const;

const healthKey = (streamId: string, start: number): Item => ({ [PK]: { S: `STREAM#${streamId}` }, [SK]: { S: `${PREFIX}${new Date(start).toISOString()}` } });

/**
 * One `UpdateItem` that adds a batch's health aggregates to its stream's minute bucket: the three counters,
 * the wait sum and one ADD per latency bin the batch touched (a few: the batch's waits are close together).
 *
 * @example
 * await client.send(healthUpdate(table, 'freezers', Date.now(), { points: 10, invalid: 0, rejected: 0, latency: { '242': 10 }, latencySumMs: 1200 }));
 */
export function healthUpdate(tableName: string, streamId: string, at: number, delta: HealthDelta): UpdateItemCommand {
  const start = bucketStart(at);
  const names: Record<string, string> = { '#ttl': TABLE_KEYS.ttlAttribute };
  const values: Record<string, AttributeValue> = { ':ttl': { N: String(Math.floor((start + BUCKET_TTL_MS) / 1000)) } };
  const adds: string[] = [];
  const add = (attribute: string, n: number, i: string) => {
    names[`#${i}`] = attribute;
    values[`:${i}`] = { N: String(n) };
    adds.push(`#${i} :${i}`);
  };
  for (const [field, attribute] of Object.entries(COUNTERS)) add(attribute, delta[field as keyof typeof COUNTERS], attribute);
  Object.entries(delta.latency).forEach(([key, n], i) => {
    if (/^-?\d+$/.test(key) && n > 0) add(`${LATENCY_PREFIX}${key}`, n, `b${i}`);
  });
  return new UpdateItemCommand({
    TableName: tableName,
    Key: healthKey(streamId, start),
    UpdateExpression: `ADD ${adds.join(', ')} SET #ttl = :ttl`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  });
}

/**
 * The stream's minute buckets of the hour before `now` (one `Query`, eventually consistent: a batch stored a
 * moment ago may show on the next read).
 *
 * @example
 * const buckets = await readHealthBuckets(client, table, 'freezers', Date.now());
 */
export async function readHealthBuckets(client: DynamoDBClient, tableName: string, streamId: string, now: number): Promise<HealthBucket[]> {
  const from = bucketStart(now - HEALTH_WINDOW_MS);
  const out: HealthBucket[] = [];
  let startKey: Item | undefined;
  do {
    const page = await callDynamo('Query', () =>
      client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
          ExpressionAttributeValues: {
            ':pk': { S: `STREAM#${streamId}` },
            ':from': healthKey(streamId, from)[SK]!,
            ':to': healthKey(streamId, bucketStart(now) + HEALTH_BUCKET_MS - 1)[SK]!,
          },
          ...(startKey && { ExclusiveStartKey: startKey }),
        }),
      ),
    );
    for (const item of page.Items ?? []) out.push(toBucket(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return out;
}

function toBucket(item: Item): HealthBucket {
  const n = (attribute: string) => Number(item[attribute]?.N ?? 0);
  const latency: Record<string, number> = {};
  for (const [attribute, value] of Object.entries(item)) {
    if (attribute.startsWith(LATENCY_PREFIX) && /^l-?\d+$/.test(attribute) && value.N !== undefined) latency[attribute.slice(1)] = Number(value.N);
  }
  return {
    start: Date.parse(item[SK]!.S!.slice(PREFIX.length)),
    points: n(COUNTERS.points),
    invalid: n(COUNTERS.invalid),
    rejected: n(COUNTERS.rejected),
    latencySumMs: n(COUNTERS.latencySumMs),
    latency,
  };
}
