import { gunzipSync, gzipSync } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
import { DEFAULT_IDEMPOTENCY_WINDOW_SECONDS } from './dynamodb-idempotency-table';

/** Prefix of every stored key: fixed, so a redeploy that renames the function keeps its keys. */
const KEY_PREFIX = 'tributary-ingest';

/** Values up to this many bytes of JSON are stored as text, larger ones gzipped. */
const PLAIN_MAX_BYTES = 64 * 1024;

type Stored = { json: string } | { gzip: string };
type Claimed = { key: string[]; fingerprint: string };
type Run = (data: Claimed, context: Context, work: () => Promise<Stored>) => Promise<Stored & { replayed?: true }>;

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
  readonly #windowSeconds: number;
  readonly #run: Run;

  constructor(options: DynamoDbIdempotencyStoreOptions) {
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
