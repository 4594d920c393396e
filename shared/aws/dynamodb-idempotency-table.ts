import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

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
