import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  BadRequestError,
  PayloadTooLargeError,
  StoreUnavailableError,
  StreamConflictError,
  StreamNotFoundError,
  type TributaryError,
} from '../domain/errors';
import type { Stream } from '../domain/stream-definition';
import { STREAM_ID } from '../domain/stream-names';
export { SAMPLE_RECORD_BYTES } from './dynamodb-rejection-samples';
import { matchesTags } from '../domain/stream-tags';
import {
  type Clock,
  type ListStreamsOptions,
  type NewestClaim,
  type StatsDelta,
  type StreamRegistry,
  type StreamStats,
  systemClock,
  type TokenRecord,
  type TokenStore,
} from '../ports';
import { callDynamo, checkTableOptions } from './dynamodb-call';
import { healthUpdate, readHealthBuckets } from './dynamodb-health-buckets';
import { decodeCursor, encodeCursor } from './dynamodb-stream-cursor';
import { fromSample, type Sample, toSample } from './dynamodb-rejection-samples';
import { DAY_COUNTER_TTL_DAYS, RECENT_REJECTIONS, TABLE_KEYS } from './dynamodb-table';

/**
 * What `DynamoDbRegistry` is built from: a ready client (built once per cold start) and the table's name.
 *
 * @example
 * const options: DynamoDbRegistryOptions = { client: new DynamoDBClient({}), tableName: config.TABLE_NAME };
 */
export interface DynamoDbRegistryOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Stamps tombstones (`deletedAt`); the system clock unless given. */
  clock?: Clock;
}

type Item = Record<string, AttributeValue>;
const { partitionKey: PK, sortKey: SK, index: GSI } = TABLE_KEYS;
const STREAMS = 'STREAM';
const streamKey = (id: string, sk: string): Item => ({ [PK]: { S: `STREAM#${id}` }, [SK]: { S: sk } });
const tokenKey = (hash: string): Item => ({ [PK]: { S: `TOKEN#${hash}` }, [SK]: { S: 'TOKEN' } });

const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;
/** DynamoDB items are capped at 400 KB; leave room for the other attributes. */
const MAX_DEFINITION_BYTES = 350_000;
const BATCH_WRITE_SIZE = 25;
const BATCH_WRITE_ATTEMPTS = 8;
const DAY_MS = 86_400_000;
/** On `STATS`: epoch ms of the stream's newest point, stored or accepted with `checkTimestamp`. */
const NEWEST = 'newestPointAt';

/**
 * `StreamRegistry` and `TokenStore` on one DynamoDB table (the key design of `dynamodb-table.ts`). The
 * same class runs in AWS and, on dynalite, on one machine. Every SDK call goes through `callDynamo`:
 * failures become Tributary errors, a failed condition whatever the operation makes of it.
 *
 * - `get` and `find` read strongly consistent, so a stream or token is usable as soon as it is created;
 *   `list` and `deleteForStream` read the index, which is eventually consistent in AWS.
 * - Stats are three items, so the hot `STATS` item stays one write unit: `addStats` is one `UpdateItem` on
 *   `STATS` (ADD counters, SET `lastDataAt`), one on today's `DAY#` item (ADD points, TTL), and, only when
 *   records were refused, one on `REJECTIONS` that prepends the samples to a list trimmed to the newest 20,
 *   and, for the writer's batches, one on the minute's `HEALTH#` item (counters and latency bins, TTL 2 h;
 *   `getStats` reads the last hour of them with one `Query`).
 *   The updates are not one transaction: dynalite has no `TransactWriteItems`, and a writer that fails
 *   half-way retries its batch, whose stats are then counted twice (stats are at-least-once, like the queue).
 *
 * @example
 * const registry = new DynamoDbRegistry({ client: new DynamoDBClient({}), tableName: process.env.TABLE_NAME! });
 * await registry.create(stream);
 * await registry.put({ hash: hashToken(token), scopes: [`ingest:${stream.id}`], streamId: stream.id, createdAt });
 */
export class DynamoDbRegistry implements StreamRegistry, TokenStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly clock: Clock;

  constructor(options: DynamoDbRegistryOptions) {
    checkTableOptions('DynamoDbRegistry', options);
    this.client = options.client;
    this.table = options.tableName;
    this.clock = options.clock ?? systemClock;
  }

  async create(stream: Stream): Promise<void> {
    await callDynamo(
      'PutItem',
      () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: streamItem(stream),
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': PK },
          }),
        ),
      async () => {
        const existing = await this.getMeta(stream.id);
        throw new StreamConflictError(
          existing && !existing.definition
            ? `Stream id '${stream.id}' belonged to a deleted stream and cannot be used again.`
            : `Stream id '${stream.id}' is taken.`,
        );
      },
    );
  }

  async get(id: string): Promise<Stream | undefined> {
    const meta = await this.getMeta(id);
    return meta?.definition === undefined ? undefined : parseDefinition(id, meta.definition);
  }

  async list(options: ListStreamsOptions = {}): Promise<{ streams: Stream[]; nextCursor?: string }> {
    const asked = Number.isFinite(options.limit) ? Math.trunc(options.limit!) : DEFAULT_LIST_LIMIT;
    const limit = Math.min(Math.max(asked, 1), MAX_LIST_LIMIT);
    const tags = Object.entries(options.tags ?? {});
    const names: Record<string, string> = { '#gpk': GSI.partitionKey };
    const values: Item = { ':streams': { S: STREAMS } };
    const filters = tags.map(([key, value], i) => {
      names['#tags'] = 'tags';
      names[`#k${i}`] = key;
      values[`:v${i}`] = { S: value };
      return `#tags.#k${i} = :v${i}`;
    });
    if (options.vaultId !== undefined) {
      names['#vault'] = 'vaultId';
      values[':vault'] = { S: options.vaultId };
      filters.push('#vault = :vault');
    }
    const streams: Stream[] = [];
    let startKey: Item | undefined = options.cursor === undefined ? undefined : indexKey(decodeCursor(options.cursor));
    // one more than asked, to know whether another page exists; a filtered page may hold fewer, so read on
    do {
      const want = limit + 1 - streams.length;
      const input: QueryCommandInput = {
        TableName: this.table,
        IndexName: GSI.name,
        KeyConditionExpression: '#gpk = :streams',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        Limit: filters.length || options.tagQuery ? Math.max(want, 100) : want,
        ...(filters.length && { FilterExpression: filters.join(' AND ') }),
        ...(startKey && { ExclusiveStartKey: startKey }),
      };
      const page = await callDynamo('Query', () => this.client.send(new QueryCommand(input)));
      for (const item of page.Items ?? []) {
        const id = item.id?.S;
        const definition = item.definition?.S;
        if (id === undefined || definition === undefined) continue;
        const stream = parseDefinition(id, definition);
        if (options.tagQuery && !matchesTags(stream.tags, options.tagQuery)) continue;
        streams.push(stream);
        if (streams.length > limit) break;
      }
      startKey = page.LastEvaluatedKey;
    } while (streams.length <= limit && startKey);
    if (streams.length <= limit) return { streams };
    const page = streams.slice(0, limit);
    return { streams: page, nextCursor: encodeCursor(page[page.length - 1]!.id) };
  }

  async update(stream: Stream): Promise<void> {
    await callDynamo(
      'PutItem',
      () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: streamItem(stream),
            ConditionExpression: 'attribute_exists(#definition) AND #version = :previous',
            ExpressionAttributeNames: { '#definition': 'definition', '#version': 'version' },
            ExpressionAttributeValues: { ':previous': { N: String(stream.version - 1) } },
          }),
        ),
      async () => {
        const existing = await this.getMeta(stream.id);
        if (!existing?.definition) throw new StreamNotFoundError(stream.id);
        throw new StreamConflictError(
          `Stream '${stream.id}' is at version ${existing.version ?? '?'}; this change was made from version ${stream.version - 1}. Read it again and retry.`,
        );
      },
    );
  }

  async delete(id: string): Promise<void> {
    await callDynamo(
      'PutItem',
      () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: { ...streamKey(id, 'META'), id: { S: id }, deletedAt: { S: new Date(this.clock.now()).toISOString() } },
            ConditionExpression: 'attribute_exists(#definition)',
            ExpressionAttributeNames: { '#definition': 'definition' },
          }),
        ),
      async () => {
        // a tombstone: an earlier delete may have stopped before its clean-up; finish it, still report 404
        if (await this.getMeta(id)) await this.removeStreamData(id);
        throw new StreamNotFoundError(id);
      },
    );
    await this.removeStreamData(id);
  }

  async addStats(streamId: string, delta: StatsDelta): Promise<void> {
    const { points, invalid, rejected, samples } = normalizeDelta(delta);
    const filtered = delta.filtered ?? 0;
    if (points === 0 && invalid === 0 && rejected === 0 && filtered === 0 && samples.length === 0) return;
    const at = new Date(delta.at);
    const updates: Promise<unknown>[] = [
      callDynamo('UpdateItem', () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: streamKey(streamId, 'STATS'),
            UpdateExpression: `ADD pointsTotal :points, invalidCount :invalid, rejectedCount :rejected${filtered ? ', filteredCount :filtered' : ''} SET lastDataAt = :at`,
            ExpressionAttributeValues: {
              ':points': { N: String(points) },
              ...(filtered && { ':filtered': { N: String(filtered) } }),
              ':invalid': { N: String(invalid) },
              ':rejected': { N: String(rejected) },
              ':at': { S: at.toISOString() },
            },
          }),
        ),
      ),
    ];
    if (points > 0) {
      const dayStart = Math.floor(delta.at / DAY_MS) * DAY_MS;
      const expiresAt = (dayStart + (1 + DAY_COUNTER_TTL_DAYS) * DAY_MS) / 1000;
      updates.push(
        callDynamo('UpdateItem', () =>
          this.client.send(
            new UpdateItemCommand({
              TableName: this.table,
              Key: streamKey(streamId, dayKey(delta.at)),
              UpdateExpression: 'ADD points :points SET #ttl = :ttl',
              ExpressionAttributeNames: { '#ttl': TABLE_KEYS.ttlAttribute },
              ExpressionAttributeValues: { ':points': { N: String(points) }, ':ttl': { N: String(expiresAt) } },
            }),
          ),
        ),
      );
    }
    if (samples.length) updates.push(this.addSamples(streamId, at.toISOString(), samples));
    // the minute's health bucket: only for what the writer handled (it sends `health`), one UpdateItem per batch
    if (delta.health) {
      const health = { points, invalid, rejected, ...delta.health };
      updates.push(callDynamo('UpdateItem', () => this.client.send(healthUpdate(this.table, streamId, delta.at, health))));
    }
    if (delta.newestPointAt !== undefined) updates.push(this.updateNewest(streamId, 'SET #newest = :n', 'attribute_not_exists(#newest) OR #newest < :n', { ':n': delta.newestPointAt }));
    await settleAll(updates);
  }

  async claimNewest(streamId: string, oldest: number, newest: number): Promise<NewestClaim> {
    const out = await this.updateNewest(streamId, 'SET #newest = :n', 'attribute_not_exists(#newest) OR #newest <= :oldest', { ':n': newest, ':oldest': oldest });
    if (!out) return { claimed: false, newest: Number((await this.getItem(streamKey(streamId, 'STATS'), true))?.[NEWEST]?.N ?? oldest) };
    const previous = out[NEWEST]?.N;
    return previous === undefined ? { claimed: true } : { claimed: true, previous: Number(previous) };
  }

  async releaseNewest(streamId: string, claimed: number, previous: number | undefined): Promise<void> {
    // another claim or a stored point that moved it since stays
    await this.updateNewest(streamId, previous === undefined ? 'REMOVE #newest' : 'SET #newest = :n', '#newest = :claimed', { ':claimed': claimed, ...(previous !== undefined && { ':n': previous }) });
  }

  /**
   * One conditional update of the stream's newest point time (`STATS`.`newestPointAt`, epoch ms): the old
   * attributes, or `undefined` when the condition failed.
   */
  private async updateNewest(streamId: string, update: string, condition: string, values: Record<string, number>): Promise<Item | undefined> {
    return callDynamo<Item | undefined>(
      'UpdateItem',
      async () =>
        (
          await this.client.send(
            new UpdateItemCommand({
              TableName: this.table,
              Key: streamKey(streamId, 'STATS'),
              UpdateExpression: update,
              ConditionExpression: condition,
              ExpressionAttributeNames: { '#newest': NEWEST },
              ExpressionAttributeValues: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { N: String(v) }])),
              ReturnValues: 'UPDATED_OLD',
            }),
          )
        ).Attributes ?? {},
      async () => undefined,
    );
  }

  async getStats(streamId: string, now: number): Promise<StreamStats> {
    const [stats, day, rejections, healthBuckets] = await Promise.all([
      this.getItem(streamKey(streamId, 'STATS'), false),
      this.getItem(streamKey(streamId, dayKey(now)), false),
      this.getItem(streamKey(streamId, 'REJECTIONS'), false),
      readHealthBuckets(this.client, this.table, streamId, now),
    ]);
    const s = stats ? unmarshall(stats) : {};
    const samples = ((rejections ? unmarshall(rejections).samples : undefined) ?? []) as Sample[];
    return {
      ...(typeof s.lastDataAt === 'string' && { lastDataAt: s.lastDataAt }),
      pointsTotal: Number(s.pointsTotal ?? 0),
      pointsToday: Number(day?.points?.N ?? 0),
      invalidCount: Number(s.invalidCount ?? 0),
      rejectedCount: Number(s.rejectedCount ?? 0),
      filteredCount: Number(s.filteredCount ?? 0),
      recentRejections: samples.slice(0, RECENT_REJECTIONS).map(fromSample),
      ...(typeof s[NEWEST] === 'number' && { newestPointAt: new Date(s[NEWEST]).toISOString() }),
      ...(healthBuckets.length > 0 && { healthBuckets }),
    };
  }

  async put(token: TokenRecord): Promise<void> {
    const item = marshall(
      {
        hash: token.hash,
        scopes: token.scopes,
        createdAt: token.createdAt,
        streamId: token.streamId,
        label: token.label,
        ...(token.streamId !== undefined && { [GSI.partitionKey]: `TOKENS#${token.streamId}`, [GSI.sortKey]: token.hash }),
      },
      { removeUndefinedValues: true },
    );
    await callDynamo('PutItem', () => this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...item, ...tokenKey(token.hash) } })));
  }

  async find(hash: string): Promise<TokenRecord | undefined> {
    const item = await this.getItem(tokenKey(hash), true);
    if (!item) return undefined;
    const t = unmarshall(item);
    return {
      hash: t.hash,
      scopes: t.scopes ?? [],
      createdAt: t.createdAt,
      ...(t.streamId !== undefined && { streamId: t.streamId }),
      ...(t.label !== undefined && { label: t.label }),
    };
  }

  async deleteForStream(streamId: string): Promise<void> {
    const keys = await this.queryKeys({
      IndexName: GSI.name,
      KeyConditionExpression: '#gpk = :tokens',
      ExpressionAttributeNames: { '#gpk': GSI.partitionKey, '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':tokens': { S: `TOKENS#${streamId}` } },
    });
    await this.deleteKeys(keys);
  }

  private async getItem(key: Item, consistent: boolean): Promise<Item | undefined> {
    const out = await callDynamo('GetItem', () =>
      this.client.send(new GetItemCommand({ TableName: this.table, Key: key, ConsistentRead: consistent })),
    );
    return out.Item;
  }

  private async getMeta(id: string): Promise<{ definition?: string; version?: string } | undefined> {
    const item = await this.getItem(streamKey(id, 'META'), true);
    if (!item) return undefined;
    return {
      ...(item.definition?.S !== undefined && { definition: item.definition.S }),
      ...(item.version?.N !== undefined && { version: item.version.N }),
    };
  }

  private async addSamples(streamId: string, at: string, samples: StatsDelta['samples']): Promise<void> {
    // newest first: the batch's later records are the newer ones
    const fresh = samples.slice(-RECENT_REJECTIONS).reverse().map((s) => toSample(at, s));
    const out = await callDynamo('UpdateItem', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: streamKey(streamId, 'REJECTIONS'),
          UpdateExpression: 'SET samples = list_append(:fresh, if_not_exists(samples, :none))',
          ExpressionAttributeValues: { ':fresh': { L: fresh.map((s) => ({ M: marshall(s, { removeUndefinedValues: true }) })) }, ':none': { L: [] } },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    const length = out.Attributes?.samples?.L?.length ?? 0;
    if (length <= RECENT_REJECTIONS) return;
    // Prepending keeps the oldest samples at the highest indexes, so removing index 20 and up is right even
    // if another writer prepended in between; the condition only guards against a concurrent trim. Highest
    // index first: DynamoDB removes the listed positions of the list as it was, dynalite one after another.
    const excess = Array.from({ length: length - RECENT_REJECTIONS }, (_, i) => `samples[${length - 1 - i}]`);
    await callDynamo(
      'UpdateItem',
      () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: streamKey(streamId, 'REJECTIONS'),
            UpdateExpression: `REMOVE ${excess.join(', ')}`,
            ConditionExpression: 'size(samples) >= :length',
            ExpressionAttributeValues: { ':length': { N: String(length) } },
          }),
        ),
      async () => ({ $metadata: {} }), // another writer trimmed first
    );
  }

  /** Everything of a stream but its tombstone: stats, day counters, rejections, tokens. */
  private async removeStreamData(id: string): Promise<void> {
    const keys = await this.queryKeys({
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': { S: `STREAM#${id}` } },
    });
    await this.deleteKeys(keys.filter((k) => k[SK]?.S !== 'META'));
    await this.deleteForStream(id);
  }

  private async queryKeys(input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
    const keys: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await callDynamo('Query', () =>
        this.client.send(
          new QueryCommand({ ...input, TableName: this.table, ProjectionExpression: '#pk, #sk', ...(startKey && { ExclusiveStartKey: startKey }) }),
        ),
      );
      for (const item of page.Items ?? []) keys.push({ [PK]: item[PK]!, [SK]: item[SK]! });
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return keys;
  }

  private async deleteKeys(keys: Item[]): Promise<void> {
    for (let i = 0; i < keys.length; i += BATCH_WRITE_SIZE) {
      let requests: WriteRequest[] = keys.slice(i, i + BATCH_WRITE_SIZE).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests.length; attempt++) {
        if (attempt === BATCH_WRITE_ATTEMPTS) {
          throw new StoreUnavailableError(`DynamoDB BatchWriteItem left ${requests.length} deletes unprocessed after ${attempt} attempts.`);
        }
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        const out = await callDynamo('BatchWriteItem', () =>
          this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: requests } })),
        );
        requests = out.UnprocessedItems?.[this.table] ?? [];
      }
    }
  }
}

/**
 * What one `addStats` call adds. The port's `StatsDelta` lists the store's refusals only, so those are
 * both the refused count and the samples.
 */
function normalizeDelta(delta: StatsDelta): { points: number; invalid: number; rejected: number; samples: StatsDelta['samples'] } {
  return { points: delta.points, invalid: delta.invalid, rejected: delta.rejected, samples: delta.samples };
}

function streamItem(stream: Stream): Item {
  const definition = JSON.stringify(stream);
  if (Buffer.byteLength(definition, 'utf8') > MAX_DEFINITION_BYTES) {
    throw new PayloadTooLargeError(`The definition of stream '${stream.id}' is larger than the ${MAX_DEFINITION_BYTES} bytes a stream may take.`);
  }
  return {
    ...streamKey(stream.id, 'META'),
    id: { S: stream.id },
    definition: { S: definition },
    version: { N: String(stream.version) },
    // the string tags, for `list`'s `tags` filter; JSON-valued ones are matched on the definition (`tagQuery`)
    tags: { M: Object.fromEntries(Object.entries(stream.tags).flatMap(([k, v]) => (typeof v === 'string' ? [[k, { S: v }]] : []))) },
    ...(stream.vaultId !== undefined && { vaultId: { S: stream.vaultId } }),
    [GSI.partitionKey]: { S: STREAMS },
    [GSI.sortKey]: { S: stream.id },
  };
}

function parseDefinition(id: string, definition: string): Stream {
  try {
    return JSON.parse(definition) as Stream;
  } catch (err) {
    throw new StoreUnavailableError(`The stored definition of stream '${id}' is unreadable.`, { cause: err });
  }
}

/** The index key of a stream's `META` item: where a page that ended on `id` resumes. */
function indexKey(id: string): Item {
  return { ...streamKey(id, 'META'), [GSI.partitionKey]: { S: STREAMS }, [GSI.sortKey]: { S: id } };
}

/** `DAY#yyyy-mm-dd`, the UTC day of `at`. */
function dayKey(at: number): string {
  return `DAY#${new Date(at).toISOString().slice(0, 10)}`;
}

/** Runs every update to the end, then throws the first failure (so none is left running unobserved). */
async function settleAll(updates: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(updates);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason as TributaryError;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
