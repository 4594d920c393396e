/**
 * The single DynamoDB table's key design, shared by the CDK app and the adapters so they cannot drift.
 *
 * Items: `STREAM#<id>`/`META` (the stream; a deleted one keeps a tombstone so its id is never reused),
 * `STREAM#<id>`/`STATS` and `STREAM#<id>`/`DAY#<yyyy-mm-dd>` (counters), `TOKEN#<sha256>`/`TOKEN`.
 * The `gsi1` index lists streams (`gsi1pk = STREAM`, `gsi1sk = <id>`) and a stream's tokens
 * (`gsi1pk = TOKENS#<streamId>`).
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  index: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /** Items with this numeric attribute (epoch seconds) expire: rejected-record samples, day counters. */
  ttlAttribute: 'expiresAt',
} as const;
