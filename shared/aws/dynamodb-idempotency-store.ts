import { gunzipSync, gzipSync } from 'node:zlib';
import { type AttributeValue, type CreateTableCommandInput, type DynamoDBClient, DeleteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyItemNotFoundError,
  IdempotencyUnknownError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context } from 'aws-lambda';
import { IdempotencyKeyInFlightError, IdempotencyKeyReusedError, StoreUnavailableError } from '../domain/errors';
import type { IdempotencyStore, IdempotentOutcome, IdempotentRequest } from '../ports';
import { isConditionFailure, toStoreError } from './dynamodb-errors';

/**
 * The idempotency table's key and time-to-live attribute: Powertools' defaults, shared by the CDK app
 * (partition key, TTL) and the local table so they cannot drift. One item per key:
 *
 * | attribute | |
 * |---|---|
 * | `id` S | `tributary-ingest#<base64 SHA-256 of [scope, key]>`: the client's key is never stored as sent |
 * | `status` S | `INPROGRESS` \| `COMPLETED` |
 * | `expiration` N | epoch seconds: the end of the key's window (DynamoDB's TTL deletes the item after it) |
 * | `in_progress_expiration` N | epoch ms: until then a claim in progress answers 409; after it a retry takes it over |
 * | `validation` S | base64 SHA-256 of the request's fingerprint (its body's hash) |
 * | `data` M | the recorded value: `{json}` or, past 64 KiB, `{gzip}` (base64), to stay within DynamoDB's 400 KB items |
 *
 * @example
 * new dynamodb.Table(this, 'IdempotencyTable', {
 *   partitionKey: { name: IDEMPOTENCY_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
 *   timeToLiveAttribute: IDEMPOTENCY_TABLE_KEYS.ttlAttribute,
 * });
 */
export const IDEMPOTENCY_TABLE_KEYS = { partitionKey: 'id', ttlAttribute: 'expiration' } as const;

/** How long a key's answer is replayed: 24 hours, as Stripe keeps keys. */
export const DEFAULT_IDEMPOTENCY_WINDOW_SECONDS = 86_400;

/** Prefix of every stored key: fixed, so a redeploy that renames the function keeps its keys. */
const KEY_PREFIX = 'tributary-ingest';

/** Values up to this many bytes of JSON are stored as text, larger ones gzipped. */
const PLAIN_MAX_BYTES = 64 * 1024;

type Stored = { json: string } | { gzip: string };
type Claimed = { key: string[]; fingerprint: string };
type Run = (data: Claimed, context: Context, work: () => Promise<Stored>) => Promise<Stored & { replayed?: true }>;

/**
 * The `CreateTable` input of the idempotency table, for the local runtime (the CDK app creates it in AWS).
 *
 * @example
 * await ensureTable(client, 'tributary-idempotency', 30_000, idempotencyTableDefinition('tributary-idempotency'));
 */
export function idempotencyTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: IDEMPOTENCY_TABLE_KEYS.partitionKey, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: IDEMPOTENCY_TABLE_KEYS.partitionKey, KeyType: 'HASH' }],
  };
}

export interface DynamoDbIdempotencyStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long a completed key is replayed (default {@link DEFAULT_IDEMPOTENCY_WINDOW_SECONDS}). */
  windowSeconds?: number;
}

/**
 * `IdempotencyStore` on DynamoDB, through Powertools idempotency's DynamoDB persistence layer: a conditional
 * `PutItem` claims a key (`INPROGRESS`, held for `holdMs`), `UpdateItem` records the value (`COMPLETED`),
 * `DeleteItem` releases the claim of a request that failed. The key is the SHA-256 of `[scope, key]`, the
 * fingerprint is compared by its SHA-256.
 *
 * @example
 * const store = new DynamoDbIdempotencyStore({ client: new DynamoDBClient({}), tableName: config.IDEMPOTENCY_TABLE_NAME });
 * const { value, replayed } = await store.once({ scope: 'freezers', key: 'k-1', fingerprint }, work, { holdMs: 10_000 });
 */
export class DynamoDbIdempotencyStore implements IdempotencyStore {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #windowSeconds: number;
  readonly #run: Run;

  constructor(options: DynamoDbIdempotencyStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#windowSeconds = options.windowSeconds ?? DEFAULT_IDEMPOTENCY_WINDOW_SECONDS;
    const config = new IdempotencyConfig({
      eventKeyJmesPath: 'key',
      payloadValidationJmesPath: 'fingerprint',
      throwOnNoIdempotencyKey: true,
      expiresAfterSeconds: this.#windowSeconds,
      hashFunction: 'sha256',
      // called only when the value comes from the table, never for a value `work` just produced
      responseHook: (response) => ({ ...(response as Stored), replayed: true }),
    });
    const persistenceStore = new DynamoDBPersistenceLayer({ tableName: options.tableName, awsSdkV3Client: options.client });
    this.#run = makeIdempotent(async (_data: Claimed, _context: Context, work: () => Promise<Stored>) => work(), { persistenceStore, config, keyPrefix: KEY_PREFIX });
  }

  async once<T>(request: IdempotentRequest, work: () => Promise<T>, options: { holdMs: number }): Promise<IdempotentOutcome<T>> {
    let ran: { value: T } | undefined;
    try {
      const returned = await this.#run({ key: [request.scope, request.key], fingerprint: request.fingerprint }, holding(options.holdMs), async () => {
        const value = await work();
        ran = { value };
        return encode(value);
      });
      return { value: decode(returned) as T, replayed: returned.replayed === true, recorded: true };
    } catch (err) {
      // `work` resolved, so only recording it failed: its effect stands and the caller answers with it
      if (ran) return { value: ran.value, replayed: false, recorded: false };
      throw this.#translate(err);
    }
  }

  /**
   * Deletes the keys whose window has passed, as DynamoDB's TTL does in AWS: for the local runtime, whose
   * dynalite has no TTL. An expired key is already ignored by `once`; this only frees its space.
   * Resolves to how many items it deleted.
   *
   * @example
   * setInterval(() => void store.deleteExpired(Date.now()), 600_000);
   */
  async deleteExpired(nowMs: number): Promise<number> {
    const names = { '#e': IDEMPOTENCY_TABLE_KEYS.ttlAttribute };
    const values = { ':now': { N: String(Math.floor(nowMs / 1000)) } };
    let deleted = 0;
    let start: Record<string, AttributeValue> | undefined;
    try {
      do {
        const page = await this.#client.send(
          new ScanCommand({
            TableName: this.#tableName,
            FilterExpression: '#e < :now',
            ProjectionExpression: IDEMPOTENCY_TABLE_KEYS.partitionKey,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ...(start && { ExclusiveStartKey: start }),
          }),
        );
        for (const item of page.Items ?? []) {
          const key = { [IDEMPOTENCY_TABLE_KEYS.partitionKey]: item[IDEMPOTENCY_TABLE_KEYS.partitionKey]! };
          // a key claimed again since the scan has a new expiration: the condition keeps it
          await this.#client
            .send(new DeleteItemCommand({ TableName: this.#tableName, Key: key, ConditionExpression: '#e < :now', ExpressionAttributeNames: names, ExpressionAttributeValues: values }))
            .then(
              () => deleted++,
              (err: unknown) => {
                if (!isConditionFailure(err)) throw err;
              },
            );
        }
        start = page.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      throw toStoreError(err, 'Scan/DeleteItem (expired idempotency keys)');
    }
    return deleted;
  }

  /** Powertools' errors, by class, as Tributary's; the errors of `work` pass through as they are. */
  #translate(err: unknown): unknown {
    const hours = Math.round(this.#windowSeconds / 360) / 10;
    // not found: the claim seen a moment ago was released by its failed request; a retry now runs anew
    if (err instanceof IdempotencyAlreadyInProgressError || err instanceof IdempotencyItemNotFoundError) {
      return new IdempotencyKeyInFlightError('A request with this Idempotency-Key is still being processed; retry once it has been answered.', { cause: err });
    }
    if (err instanceof IdempotencyValidationError) {
      return new IdempotencyKeyReusedError(
        `This Idempotency-Key was used for a request with another body within the last ${hours} hours; send a new request with a new key.`,
        { cause: err },
      );
    }
    if (err instanceof IdempotencyUnknownError) return new StoreUnavailableError('The idempotency store is unavailable; nothing was accepted, retry.', { cause: err });
    return err;
  }
}

/** The remaining time Powertools reads from a Lambda context: how long a claim holds before a retry may take it over. */
function holding(holdMs: number): Context {
  return { getRemainingTimeInMillis: () => holdMs } as Context;
}

function encode(value: unknown): Stored {
  const json = JSON.stringify(value);
  return Buffer.byteLength(json) <= PLAIN_MAX_BYTES ? { json } : { gzip: gzipSync(json).toString('base64') };
}

function decode(stored: Stored): unknown {
  return JSON.parse('json' in stored ? stored.json : gunzipSync(Buffer.from(stored.gzip, 'base64')).toString('utf8'));
}
