/**
 * The single DynamoDB table's key design, shared by the CDK app and the adapters so they cannot drift.
 *
 * Items: `STREAM#<id>`/`META` (the stream; a deleted one keeps a tombstone so its id is never reused),
 * `STREAM#<id>`/`STATS` and `STREAM#<id>`/`DAY#<yyyy-mm-dd>` (counters), `STREAM#<id>`/`REJECTIONS` (the
 * latest refused records), `STREAM#<id>`/`PULL` (a pull stream's state), `TOKEN#<sha256>`/`TOKEN`.
 * The `gsi1` index lists streams (`gsi1pk = STREAM`, `gsi1sk = <id>`) and a stream's tokens
 * (`gsi1pk = TOKENS#<streamId>`), and alerts by state across streams (`gsi1pk = ALERTS#firing | ALERTS#resolved`,
 * newest first; a resolve moves the item). A stream's alerts are read from its own partition (`ALERT#`, ids sort
 * by time). `ALERTSTATE#`, `ALERT#`, `RULEFAIL#` and `ALERTSECRET` items are written by `DynamoDbAlertStore`.
 *
 * Attributes, item by item (all written by `DynamoDbRegistry`):
 *
 * | pk / sk | attributes |
 * |---|---|
 * | `STREAM#<id>` / `META` (live) | `id` S, `definition` S (the `Stream` as JSON), `version` N, `tags` M of S (the string tags, for `list`'s filter), `gsi1pk` = `STREAM`, `gsi1sk` = `<id>` |
 * | `STREAM#<id>` / `META` (tombstone) | `id` S, `deletedAt` S; no `definition`, no `gsi1*`: it drops out of the index |
 * | `STREAM#<id>` / `STATS` | `pointsTotal` N, `invalidCount` N, `rejectedCount` N, `lastDataAt` S (ISO) |
 * | `STREAM#<id>` / `DAY#<yyyy-mm-dd>` | `points` N, `expiresAt` N (end of that UTC day + `DAY_COUNTER_TTL_DAYS` days) |
 * | `STREAM#<id>` / `REJECTIONS` | `samples` L of M `{at S, reason S, record? S (JSON, ≤ 1 KiB), recordTruncated? BOOL}`, newest first |
 * | `STREAM#<id>` / `PULL` | written by `DynamoDbPullStateStore`: `cursorJson` S (the database cursor as JSON), `seenJson` S (dedupe memory: key hash → newest time), `nextRunAt` S (ISO; the dispatcher's compare-and-set claim), `scheduleExpression` S (what `nextRunAt` was computed from), `leaseUntil` N (epoch ms; one run at a time), `lastRunAt` S, `lastSuccessAt` S, `lastStatus` S, `lastError` S (JSON `{at, code, message}`), `runs` N, `failures` N, `recordsPulled` N, `recordsEnqueued` N, `recordsDeduped` N, `recordsInvalid` N |
 * | `TOKEN#<sha256>` / `TOKEN` | `hash` S, `scopes` L of S, `createdAt` S, `streamId`? S, `label`? S, `gsi1pk` = `TOKENS#<streamId>`, `gsi1sk` = `<sha256>` |
 * | `MQTTUSER#<username>` / `CLAIM`, `MQTTTOPIC#<topic>` / `CLAIM` | written by `DynamoDbDeviceClaims`: `streamId` S (the `iot_sensor` stream whose device logs in with that MQTT username, or publishes on that topic), `claimedAt` N (epoch ms) |
 * | `STREAM#<id>` / `ALERTSTATE#<rule>#<series>` | `rule` S, `series` S, `alertState` S (`firing` \| `resolved`), `alertId` S, `firedAt` N (epoch ms; the cooldown counts from it), `expiresAt`? N (only while resolved: the resolve + the store's `resolvedRetentionMs`, 30 days by default; a fire removes it) |
 * | `STREAM#<id>` / `ALERT#<alertId>` | `body` S (the alert's fixed part as JSON), `alertState` S, `resolvedAt`? S, `acknowledged` BOOL, `acknowledgedAt`? S, `outcomes` L of M `{type S, status S, attempts N, lastError? S, lastAttemptAt? S}`, `actionsDoneAt`? S, `gsi1pk` = `ALERTS#<state>`, `gsi1sk` = `<firedAt ISO>#<alertId>`, `expiresAt`? N (set by the resolve as on the state: resolved alerts expire, firing ones never) |
 * | `STREAM#<id>` / `RULEFAIL#<rule>` | `rule` S, `reason` S, `failedAt` S, `streamVersion` N (the rule is skipped while the stream is at this version) |
 * | `STREAM#<id>` / `ALERTSECRET` | `secret` S (the webhook signing secret; `POST /v1/streams/{id}/alert-secret` replaces it), `previous` S (the secret it replaced, `''` if none), `previousUntil` N (epoch ms; until then both sign) |
 *
 * The index must project ALL attributes (`INDEX_PROJECTION`): `list()` reads definitions from it.
 *
 * @example
 * new dynamodb.TableV2(this, 'Table', {
 *   partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
 *   sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
 *   timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
 *   globalSecondaryIndexes: [{
 *     indexName: TABLE_KEYS.index.name,
 *     partitionKey: { name: TABLE_KEYS.index.partitionKey, type: dynamodb.AttributeType.STRING },
 *     sortKey: { name: TABLE_KEYS.index.sortKey, type: dynamodb.AttributeType.STRING },
 *     projectionType: dynamodb.ProjectionType.ALL,
 *   }],
 * });
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  index: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /** Items with this numeric attribute (epoch seconds) expire: the per-day counters, resolved alerts and their states. */
  ttlAttribute: 'expiresAt',
} as const;

/**
 * What `gsi1` projects: every attribute, since `list()` returns whole definitions from the index.
 *
 * @example
 * Projection: { ProjectionType: INDEX_PROJECTION }
 */
export const INDEX_PROJECTION = 'ALL' as const;

/**
 * How many days a `DAY#` counter outlives its UTC day (DynamoDB deletes expired items within days, not at once).
 *
 * @example
 * const expiresAt = (dayStartMs + (1 + DAY_COUNTER_TTL_DAYS) * 86_400_000) / 1000;
 */
export const DAY_COUNTER_TTL_DAYS = 3;

/**
 * How many refused records `REJECTIONS` keeps (newest first).
 *
 * @example
 * recentRejections: samples.slice(0, RECENT_REJECTIONS)
 */
export const RECENT_REJECTIONS = 20;
