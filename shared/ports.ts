/**
 * What the domain and the functions need from the world. `shared/aws` implements these on AWS SDK v3
 * clients, `shared/local` on embedded engines; the contract suites in `test/contract` hold every adapter
 * to the same behaviour.
 */
import type { EventAttributes, EventQuery, StoredEvent } from './domain/events';
import type { UploadIntent } from './domain/file-uploads';
import type { Alert, AlertState, FailedRule, SeriesState } from './domain/alert-evaluation';
import type { AlertAction } from './domain/alert-rules';
import type { LiveFilter, LiveMessage } from './domain/live-messages';
import type { DataQuery, LatestQuery, Row } from './domain/query';
import type { RollupLevel } from './domain/rollup-levels';
import type { RollupBin } from './domain/rollup-state';
import type { BatchContent, Receipt, ReceiptKey } from './domain/receipts';
import type { Stream } from './domain/stream-definition';
import type { HealthBucket, HealthDelta } from './domain/stream-health';
import type { Tags } from './domain/stream-tags';
import type { Datapoint } from './domain/validate-record';

/** Reads the time; tests pass a fixed one. @example const clock: Clock = { now: () => Date.now() }; */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** One point a store refused, with why. `index` is its position in the written array. */
export interface RejectedPoint {
  index: number;
  reason: string;
}

export interface WriteResult {
  written: number;
  rejected: RejectedPoint[];
}

/**
 * Where datapoints live: Timestream in AWS, DuckDB on one machine.
 *
 * Writing the same point twice (same stream, dimensions and time) is harmless: the second write changes
 * nothing. Rows come ordered by time (then by `q.keyDimensions`, missing values as ''), ascending or
 * descending as `q.order` says; `q.after` means strictly after that row in this order.
 *
 * @example
 * const { written, rejected } = await store.write(stream, points);
 * const rows = await store.query(stream, { ...q, limit: q.limit + 1 });
 */
export interface PointStore {
  /** Throws `StoreUnavailableError` when the store cannot take the batch now (retry later). */
  write(stream: Stream, points: Datapoint[]): Promise<WriteResult>;
  /** At most `q.limit` rows. */
  query(stream: Stream, q: DataQuery): Promise<Row[]>;
  /** The newest row of each series (each distinct combination of dimension values). */
  latest(stream: Stream, q: LatestQuery): Promise<Row[]>;
  /**
   * Whether `query(stream, q)` reads the stored rollups or the raw points (`rollup-plan.ts` decides which level
   * answers exactly); the query API says it in its answer's `source`. A store without rollups reads raw points.
   */
  sourceOf?(stream: Stream, q: DataQuery): 'rollup' | 'raw';
}

/**
 * The stored rollups of a point store (`rollup-levels.ts`, `rollup-state.ts`): kept by the store itself (in AWS
 * by each `write`; in DuckDB by a background compactor over the spans writes mark pending, queries reading the
 * raw points where a bin is pending, so answers never disagree with the raw points); read here bin by bin
 * (pending bins as last computed), and closed by
 * `POST /v1/streams/downsample?until=` (the document's `downsample_streams`).
 *
 * @example
 * const bins = await rollups.storedRollups(stream, '1h', start, end);
 * const closed = await rollups.closeBins(stream, Date.parse('2012-08-01T00:00:00Z'));
 */
export interface RollupReader {
  /** The stored bins of `level` in `[start, end)`: per series and numeric field, each bin's whole state. */
  storedRollups(stream: Stream, level: RollupLevel, start: number, end: number): Promise<RollupBin[]>;
  /**
   * Closes the stream's bins that end at or before `until` and were not closed before: returns, per level, how
   * many bins that is and the range they cover. Idempotent: closing again up to the same `until` closes none.
   */
  closeBins(stream: Stream, until: number): Promise<ClosedBins>;
}

/** What `closeBins` closed: the range `[from, until)` since the previous close, and per level the bins in it. */
export interface ClosedBins {
  from?: number;
  until: number;
  levels: { level: RollupLevel; bins: number }[];
}

/**
 * Removes a deleted stream's points (the datastream document's `delete_streams` deletes its datapoints).
 * DuckDB drops them. Timestream has no delete: they stay until its retention drops them, and no read serves
 * them meanwhile, since every read resolves its stream in the registry first, whose tombstone (`deletedAt`)
 * answers 404 and keeps the id from ever being given again.
 *
 * @example
 * const how = await points.eraseStream('freezers'); // 'erased' (DuckDB) | 'retained' (Timestream)
 */
export interface PointEraser {
  /** Idempotent: erasing a stream with no points, or erased already, is no error. */
  eraseStream(streamId: string): Promise<'erased' | 'retained'>;
}

/**
 * Rewrites a span of one series (a derived stream recomputed from its sources): its points in `[start, end]`
 * (inclusive) are replaced by `points`, so a recomputed value replaces the stored one and a point that no longer
 * derives is gone. DuckDB deletes and writes; a store without it keeps the first value written at a time.
 *
 * @example
 * await rewriter.replaceSeries(rate, { host: 'a' }, 1_000, 9_000, points);
 */
export interface SeriesRewriter {
  replaceSeries(stream: Stream, dimensions: Record<string, string>, start: number, end: number, points: Datapoint[]): Promise<WriteResult>;
}

/** What travels on the ingest queue: records of one stream, as received (validated again by the writer). */
export interface IngestEnvelope {
  streamId: string;
  /** Epoch ms: the time given to records that carry none. */
  receivedAt: number;
  source: 'http' | 'mqtt' | 'pull';
  deviceId?: string;
  records: unknown[];
  /**
   * `records` as the JSON text of an array, when the sender already holds it (an HTTP body queued whole):
   * a queue that stores JSON may write it instead of encoding the records again. Never part of a message.
   */
  recordsJson?: string;
  /**
   * The records as a device sent them, the stream's processing stage not yet run: MQTT through the IoT
   * topic rule in AWS, which reaches the writer without the ingest function. Never part of a message.
   */
  unprocessed?: boolean;
  /**
   * The MQTT payload as the device sent it (the IoT topic rule's, in AWS), for a stream whose `mqttFormat`
   * is not JSON: the writer decodes it with the stream's decoder. `records` then holds what it read as JSON,
   * if anything, and `payloadProblem` why it could not. Never part of a message.
   */
  payload?: Buffer;
  payloadProblem?: string;
  /** Records of this batch that the stream's processing stage dropped: the writer counts them on the stream. */
  filtered?: number;
  /** An `event_stream`'s records: what the request said of its events (metadata, times, TTL; `events.ts`). */
  event?: EventAttributes;
  /** The records are a file's part events (`file-events.ts`): stored as events only, not validated as points. */
  files?: true;
}

/**
 * The bytes of file events' parts (S3 in AWS, s3rver on one machine): written by the ingest function before
 * the request is acknowledged, read by a query that answers the parts.
 *
 * @example
 * await parts.putPart('parts/orders/r1/1', bytes);
 */
export interface PartStore {
  putPart(key: string, bytes: Uint8Array): Promise<void>;
  getPart(key: string): Promise<Buffer>;
}

/** How a client sends an upload's file: one PUT of exactly its bytes, with these headers, before `expiresAt`. */
export interface PresignedUpload {
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
}

/**
 * Files too large for one request (API Gateway takes 10 MB): each upload's intent and then its file, PUT by
 * the client straight to S3 (s3rver on one machine) through a URL signed for exactly that file's size and
 * SHA-256. Completion reads both back and cuts the file into part events.
 *
 * @example
 * const put = await uploads.create(intent); // { url, method: 'PUT', headers: { 'content-length': '12582912', … } }
 * const found = await uploads.open('scans', intent.uploadId); // { intent, uploaded: { size, read } } once PUT
 */
export interface UploadStore {
  /** Keeps the intent, then signs the PUT of its file (valid until `intent.urlExpiresAt`). Throws `StoreUnavailableError`. */
  create(intent: UploadIntent): Promise<PresignedUpload>;
  /** The upload's intent and, once its file is there, the file's size and a reader; `undefined` for an unknown upload. */
  open(streamId: string, uploadId: string): Promise<{ intent: UploadIntent; uploaded?: { size: number; read(): Promise<Buffer> } } | undefined>;
}

/**
 * A stream's receipts: one per batch the writer stored, chained (`shared/domain/receipts.ts`), with the
 * batch's records kept beside it, so verification can recompute them from what the stores return.
 *
 * @example
 * await receipts.append('freezers', content, (head) => nextReceipt(head, content, Date.now()));
 */
export interface ReceiptLedger {
  /**
   * Keeps the batch's records, then appends the receipt `link` makes (and signs) from the stream's head
   * (again from the new head when another writer took it first). Throws `StoreUnavailableError`: the batch is delivered again.
   */
  append(streamId: string, content: BatchContent, link: (head: Receipt | undefined) => Receipt | Promise<Receipt>): Promise<Receipt>;
  /** The stream's last receipt, if any. */
  head(streamId: string): Promise<Receipt | undefined>;
  /** Receipts in order after `after` (a receipt number), at most `limit`; `next` when there are more. */
  list(streamId: string, page: { after?: number; limit: number }): Promise<{ receipts: Receipt[]; next?: number }>;
  /** A receipt's records as kept when it was appended (`BatchContent.text`); `undefined` when they are gone. */
  receiptText(streamId: string, receipt: Receipt): Promise<string | undefined>;
}

/**
 * The key each receipt's chain hash is signed with: ECDSA P-256 over SHA-256, a KMS key in AWS (the writer
 * may sign, nothing may export it), a key file in the data dir on one machine. Someone who can rewrite the
 * stores and the receipt table still cannot sign the receipts a rewritten chain needs.
 *
 * @example
 * const { keyId, signature } = await signer.sign(receipt.chain);
 */
export interface ReceiptSigner {
  /** Signs the chain hash (its hex as ASCII). Throws `StoreUnavailableError`: the batch is delivered again. */
  sign(chain: string): Promise<{ keyId: string; signature: string }>;
  /** The public key signatures are checked with. */
  publicKey(): Promise<ReceiptKey>;
}

/**
 * Where the writer puts an `event_stream`'s events, whole (metadata, both times, data of any size): hot in
 * DynamoDB until their TTL, archived ones also cold in S3 (dynalite and s3rver on one machine).
 *
 * @example
 * await events.put('orders', storedEvents);
 */
export interface EventSink {
  /** Idempotent by event id: a redelivered batch stores nothing twice. */
  put(streamId: string, events: readonly StoredEvent[]): Promise<void>;
}

/**
 * Where a query reads them: the hot ones still hot and the cold ones after their TTL, merged; ephemeral
 * events are gone once their TTL has passed.
 *
 * @example
 * const { events: page, next } = await events.query('orders', parseEventQuery(params, now), now);
 */
export interface EventSource {
  query(streamId: string, query: EventQuery, now: number): Promise<{ events: StoredEvent[]; next?: { time: number; id: string } }>;
}

/**
 * The buffer between ingest and the writer: SQS in AWS, a durable log on one machine.
 *
 * @example
 * await queue.send([{ streamId: 'freezers', receivedAt: Date.now(), source: 'http', records }]);
 */
export interface IngestQueue {
  /**
   * Resolves only once every envelope is durably queued (splitting large ones into several messages).
   * Throws `QueueUnavailableError` otherwise, or `BackPressureError` when the queue is too deep to take
   * more now; the caller must not acknowledge the data then.
   */
  send(envelopes: IngestEnvelope[]): Promise<void>;
}

/** How many messages wait in the ingest queue (every stream's), for the status's `processing.queueLength`. */
export interface QueueDepth {
  messages: number;
  /** True when the count is the queue's estimate (SQS `ApproximateNumberOfMessages`), false when exact. */
  approximate: boolean;
}

/**
 * The ingest queue's depth: SQS's approximate attributes in AWS, the file queue's exact count on one machine.
 *
 * @example
 * const { messages, approximate } = await depth.depth();
 */
export interface QueueDepthReader {
  /** Throws `QueueUnavailableError` when the queue cannot be asked. */
  depth(): Promise<QueueDepth>;
}

/** Per-stream counters, updated once per written batch. */
export interface StreamStats {
  lastDataAt?: string;
  pointsTotal: number;
  pointsToday: number;
  /** Records that failed validation after they were queued (e.g. MQTT in AWS). */
  invalidCount: number;
  /** Records the store refused. */
  rejectedCount: number;
  /** Records the stream's processing stage filtered out (dropped, not refused). */
  filteredCount: number;
  /** The latest invalid or refused records, newest first, with their reason (a record cut to 1 KiB comes back as text). */
  recentRejections: { at: string; reason: string; record?: unknown }[];
  /** The time of the newest point stored or accepted with `checkTimestamp` (the document's `latest_datapoint`). */
  newestPointAt?: string;
  /** The last hour's per-minute health aggregates (`stream-health.ts`), oldest first; what `streamHealth` reads. */
  healthBuckets?: HealthBucket[];
}

export interface StatsDelta {
  /** Epoch ms of the batch. */
  at: number;
  points: number;
  /** Records that failed validation in the writer. */
  invalid: number;
  /** Records the store refused. */
  rejected: number;
  /** Records the processing stage's filters dropped. */
  filtered?: number;
  /** A few of the invalid or refused records with their reason (the counts above are exact). */
  samples: { reason: string; record?: unknown }[];
  /** Epoch ms of the batch's newest point: the stream's newest moves to it if it is newer. */
  newestPointAt?: number;
  /** The batch's latency bins and wait sum, added to the minute bucket of `at` with the counts above. */
  health?: Pick<HealthDelta, 'latency' | 'latencySumMs'>;
}

/** What `claimNewest` found: the claim taken (and the newest it replaced), or the newer point that holds it. */
export type NewestClaim = { claimed: true; previous?: number } | { claimed: false; newest: number };

export interface ListStreamsOptions {
  /** String tags, each equal (`?tag.KEY=VALUE`). */
  tags?: Record<string, string>;
  /** Tags of any JSON value, matched as the datastream document's `find_streams` does (`matchesTags`). */
  tagQuery?: Tags;
  /** Only the streams of this vault. */
  vaultId?: string;
  limit?: number;
  cursor?: string;
}

/**
 * Streams and their counters: DynamoDB in AWS, DynamoDB's API on dynalite on one machine.
 *
 * @example
 * await registry.create(stream);
 * const found = await registry.get(stream.id);
 */
export interface StreamRegistry {
  /** Throws `StreamConflictError` if the id is taken, or was used by a deleted stream. */
  create(stream: Stream): Promise<void>;
  get(id: string): Promise<Stream | undefined>;
  /** `limit` 1-1000 (default 100); a cursor it did not issue is a `BadRequestError`. */
  list(options?: ListStreamsOptions): Promise<{ streams: Stream[]; nextCursor?: string }>;
  /** Optimistic: throws `StreamConflictError` if the stored version is not `stream.version - 1`. */
  update(stream: Stream): Promise<void>;
  /** Removes the stream and its tokens; its id is never reused. Throws `StreamNotFoundError`. */
  delete(id: string): Promise<void>;
  addStats(streamId: string, delta: StatsDelta): Promise<void>;
  getStats(streamId: string, now: number): Promise<StreamStats>;
  /**
   * The document's `check_timestamp`, atomically: moves the stream's newest point time to `newest` unless a
   * point newer than `oldest` is known (then `claimed: false` with its time). Equal times are allowed.
   */
  claimNewest(streamId: string, oldest: number, newest: number): Promise<NewestClaim>;
  /** Undoes a claim whose records could not be queued: back to `previous`, unless another claim moved it since. */
  releaseNewest(streamId: string, claimed: number, previous: number | undefined): Promise<void>;
}

export type Scope = 'admin' | `ingest:${string}` | `read:${string}`;

/** A token as stored: its SHA-256 hash, never the token itself. */
export interface TokenRecord {
  hash: string;
  scopes: Scope[];
  streamId?: string;
  createdAt: string;
  label?: string;
}

/**
 * Hashed bearer tokens.
 *
 * @example
 * await tokens.put({ hash: hashToken(token), scopes: ['ingest:freezers'], streamId: 'freezers', createdAt });
 */
export interface TokenStore {
  put(token: TokenRecord): Promise<void>;
  find(hash: string): Promise<TokenRecord | undefined>;
  /** Deletes every token of a stream. */
  deleteForStream(streamId: string): Promise<void>;
}

/** What an `iot_sensor`'s device holds across streams: its MQTT username and its own topic. */
export interface DeviceClaims {
  username?: string;
  topic?: string;
}

/** A claim `claim` could not take: which one, and the stream holding it. */
export interface DeviceClaimConflict {
  taken: 'username' | 'topic';
  heldBy: string;
}

/**
 * Which stream owns an MQTT username or topic, so a login or a publish on a custom topic finds its stream
 * (DynamoDB in AWS, dynalite on one machine). A claim whose holder no longer names it (or never wrote its
 * stream, after a grace period) may be taken over.
 *
 * @example
 * const conflict = await directory.claim('temp', { username: 'sensor_user', topic: 'sensors/temperature/facility-a' });
 * await directory.findTopic('sensors/temperature/facility-a'); // 'temp'
 */
export interface DeviceDirectory {
  /** Claims all or none: `undefined` once held by `streamId`, else the conflict (nothing is left claimed). */
  claim(streamId: string, claims: DeviceClaims): Promise<DeviceClaimConflict | undefined>;
  /** Drops the claims `streamId` holds; one another stream holds is left alone. */
  release(streamId: string, claims: DeviceClaims): Promise<void>;
  findUsername(username: string): Promise<string | undefined>;
  findTopic(topic: string): Promise<string | undefined>;
}

/** Why a pull run failed: a stable `code` (`target.forbidden`, `source.timeout`, `db.auth`, …) and a message for people. */
export interface PullErrorInfo {
  at: string;
  code: string;
  message: string;
}

/**
 * A pull stream's state between runs: the database cursor, the dedupe memory, what the last run did and
 * when the next one is due. One DynamoDB item per stream (`STREAM#<id>`/`PULL`).
 */
export interface PullState {
  streamId: string;
  /** The last incremental value enqueued (database streams); `$1` of the next query. */
  cursor?: string | number | null;
  /** Dedupe memory: key hash → the newest record time (epoch ms) sent for it. Bounded. */
  seen: Record<string, number>;
  lastRunAt?: string;
  lastSuccessAt?: string;
  lastStatus?: 'succeeded' | 'failed';
  /** The last failure; cleared by the next success. */
  lastError?: PullErrorInfo;
  /** When the schedule is next due (ISO); absent until the dispatcher first sees the stream. */
  nextRunAt?: string;
  /** The schedule expression `nextRunAt` was computed from: a changed schedule is re-read at once. */
  schedule?: string;
  runs: number;
  failures: number;
  recordsPulled: number;
  recordsEnqueued: number;
  recordsDeduped: number;
  recordsInvalid: number;
}

/** What one finished run changes in the state. A failed run keeps the cursor and the dedupe memory. */
export type PullOutcome =
  | { ok: true; at: number; cursor?: string | number | null; seen: Record<string, number>; pulled: number; enqueued: number; deduped: number; invalid: number }
  /** `invalid`: the records a strict run refused for failing the schema (counted in `recordsInvalid` too). */
  | { ok: false; at: number; error: PullErrorInfo; pulled: number; invalid?: number };

/**
 * Per-stream pull state, with a lease so one stream is never pulled twice at once.
 *
 * @example
 * if (await state.acquire('vendor', now, now + 60_000)) {
 *   try { … } finally { await state.finish('vendor', outcome); }
 * }
 */
export interface PullStateStore {
  get(streamId: string): Promise<PullState | undefined>;
  /** The states of several streams (missing ones are absent from the map). */
  getMany(streamIds: string[]): Promise<Map<string, PullState>>;
  /** Takes the stream's lease until `until` (epoch ms); `false` while another run holds an unexpired lease. */
  acquire(streamId: string, now: number, until: number): Promise<boolean>;
  /** Records a finished run and releases the lease. */
  finish(streamId: string, outcome: PullOutcome): Promise<void>;
  /**
   * Moves `nextRunAt` from `expected` to `next` and records the `schedule` it was computed from; `false` if it
   * was no longer `expected` (another dispatcher claimed the run).
   */
  claimSchedule(streamId: string, expected: string | undefined, next: string, schedule: string): Promise<boolean>;
}

/**
 * Secret values for pull sources: Secrets Manager (`tributary/pull/<NAME>`) in AWS, environment variables
 * or a 0600 file on one machine. Throws `SecretUnavailableError` naming the first missing secret.
 *
 * @example
 * const { VENDOR_TOKEN } = await secrets.get(['VENDOR_TOKEN']);
 */
export interface SecretSource {
  get(names: string[]): Promise<Record<string, string>>;
}

/** A page of alerts, newest first; `nextCursor` fetches the next page. */
export interface AlertPage {
  alerts: Alert[];
  nextCursor?: string;
}

/** How one action ended, as the state machine's last task reports it. */
export interface ActionResult {
  index: number;
  status: 'succeeded' | 'failed';
  error?: string;
}

/**
 * Alerts and the per (rule, series) state behind them: DynamoDB in AWS, dynalite on one machine.
 *
 * `fire` is the race's referee: of two batches that fire the same rule and series at once, exactly one
 * gets `true` and records its alert.
 *
 * @example
 * const states = await alerts.loadStates(stream.id, { rules: ['freezer warm'], series: ['["f1"]'] });
 * if (await alerts.fire(alert, 300_000)) await starter.start(alert, rule.actions);
 */
export interface AlertStore {
  /**
   * The (rule, series) states of a stream: with `only`, just those of `only.rules` × `only.series` that
   * exist (what a batch touches, read by key); without it, every one (the silence check's view).
   */
  loadStates(streamId: string, only?: { rules: readonly string[]; series: readonly string[] }): Promise<SeriesState[]>;
  /**
   * Marks the series firing and records the alert, unless it is firing already or fired within
   * `cooldownMs` of `now` (then `false`, nothing written).
   */
  fire(alert: Alert, cooldownMs: number, now: number): Promise<boolean>;
  /** Marks a firing series and its alert resolved; `false` if it was not firing with that alert. */
  resolve(streamId: string, rule: string, series: string, alertId: string, at: number): Promise<boolean>;
  get(alertId: string): Promise<Alert | undefined>;
  /** `limit` 1-1000; a cursor it did not issue is a `BadRequestError`. */
  listByStream(streamId: string, page: { limit: number; cursor?: string }): Promise<AlertPage>;
  listByState(state: AlertState, page: { limit: number; cursor?: string }): Promise<AlertPage>;
  /** Throws `AlertNotFoundError`. Acknowledging twice keeps the first time. */
  acknowledge(alertId: string, at: number): Promise<Alert>;
  /** One attempt of one action: counts it, keeps its error. */
  recordAttempt(alertId: string, index: number, at: number, error?: string): Promise<void>;
  /** The final status of each action. */
  recordOutcomes(alertId: string, results: ActionResult[], at: number): Promise<void>;
  /** Keeps why a rule of the stream failed (one entry per rule: a later failure replaces it). */
  failRule(streamId: string, failure: FailedRule): Promise<void>;
  /** Every failure kept for the stream's rules, of any version (`currentFailures` picks those that hold). */
  listRuleFailures(streamId: string): Promise<FailedRule[]>;
}

/**
 * The per-stream secret that signs webhook bodies: created once, returned to the client once.
 *
 * @example
 * const created = await secrets.ensureSigningSecret(stream.id, newSecret); // the secret if it is new, else undefined
 */
export interface SigningSecretStore {
  /** Stores `candidate` unless the stream has a secret; returns it only when it was stored now. */
  ensureSigningSecret(streamId: string, candidate: string): Promise<string | undefined>;
  /**
   * The secrets that sign a webhook sent at `at`: the current one first, then the one it replaced while
   * `at` is before that rotation's `previousUntil`; none when the stream has no secret.
   */
  getSigningSecrets(streamId: string, at: number): Promise<string[]>;
  /**
   * Replaces the stream's secret (or sets its first): the next webhook is signed with `secret`, and also
   * with the replaced one until `previousUntil` (epoch ms), so receivers can switch without a gap.
   */
  replaceSigningSecret(streamId: string, secret: string, previousUntil: number): Promise<void>;
}

/** What the alert state machine is started with. */
export interface AlertExecutionInput {
  alert: Alert;
  actions: { index: number; action: AlertAction }[];
}

/**
 * Starts an alert's actions: a Step Functions execution in AWS (named after the alert, so a retry does not
 * start it twice), the same ASL in-process on one machine. Resolves once started, not once done.
 *
 * @example
 * await starter.start({ alert, actions: rule.actions.map((action, index) => ({ index, action })) });
 */
export interface AlertStarter {
  start(input: AlertExecutionInput): Promise<void>;
}

/**
 * Evaluates a stream's alert rules on a written batch (the writer's optional hook).
 *
 * @example
 * await evaluator.evaluate(stream, writtenPoints);
 */
export interface AlertEvaluator {
  evaluate(stream: Stream, points: Datapoint[]): Promise<void>;
}

/**
 * Sends an alert email: an SNS topic in AWS, the log on one machine.
 *
 * @example
 * await email.send({ subject: 'freezer warm', message: 'f1 at -12 °C' });
 */
export interface AlertEmailSender {
  /** To `to` when given, else to the deployment's alert subscribers. */
  send(message: AlertEmail): Promise<void>;
}

/** One alert email. */
export interface AlertEmail {
  subject: string;
  message: string;
  to?: readonly string[];
}

/**
 * Publishes an MQTT message to a stream's devices: the IoT data plane in AWS, the aedes broker locally.
 *
 * @example
 * await publisher.publish('tributary/freezers/devices/f1/alerts', JSON.stringify(alert));
 */
export interface AlertPublisher {
  publish(topic: string, payload: string): Promise<void>;
}

/** What a request with an idempotency key is known by: the key's scope (a stream), the client's key, a hash of its body. */
export interface IdempotentRequest {
  scope: string;
  key: string;
  fingerprint: string;
}

export interface IdempotentOutcome<T> {
  value: T;
  /** The value an earlier request with this key recorded: `work` did not run now. */
  replayed: boolean;
  /** `false` when `work` ran but its value could not be recorded as completed: a retry may run it again. */
  recorded: boolean;
}

/**
 * Runs a request's work at most once per key within a window (24 hours by default): DynamoDB through
 * Powertools idempotency in AWS, the same adapter on dynalite on one machine.
 *
 * @example
 * const { value, replayed } = await store.once({ scope: 'freezers', key, fingerprint }, () => accept(records), { holdMs: 10_000 });
 */
export interface IdempotencyStore {
  /**
   * Claims the key, runs `work`, and records its value (JSON) as completed only once `work` resolved. A key
   * already completed with this fingerprint resolves to its recorded value, `replayed`, without running `work`.
   * When `work` throws, the claim is released and the error passes through, so a retry runs it again.
   * Throws `IdempotencyKeyInFlightError` while another request holds the claim (at most `holdMs`, then a retry
   * may take it over), `IdempotencyKeyReusedError` for a known key with another fingerprint, and
   * `StoreUnavailableError` when the store fails before `work` ran.
   */
  once<T>(request: IdempotentRequest, work: () => Promise<T>, options: { holdMs: number }): Promise<IdempotentOutcome<T>>;
}

/**
 * Live subscriptions' fan-out (`GET /v1/streams/{id}/live`): the writer hands it each stream's stored points
 * after the batch is stored, the alert evaluator each alert firing and resolving. In-process sockets on one
 * machine, API Gateway WebSocket connections in AWS. It renders each subscriber's `data_update` from its own
 * filter. A slow or gone subscriber never fails or holds up the caller: `publish` resolves within a bounded
 * time and never throws.
 *
 * @example
 * await live.publishPoints(stream, storedPoints);
 * await live.publish('freezers', { type: 'error_alert', streamId: 'freezers', state: 'firing', alert });
 */
export interface LiveFanout {
  publishPoints(stream: Stream, points: readonly Datapoint[]): Promise<void>;
  publish(streamId: string, message: LiveMessage): Promise<void>;
}

/** A live ticket as stored: its SHA-256 hash, never the ticket itself. */
export interface LiveTicket {
  hash: string;
  streamId: string;
  /** Who it was issued to (the token's principal), for the logs. */
  principal: string;
  /** Epoch ms. */
  expiresAt: number;
}

/**
 * Short-lived single-use tickets that open one live subscription, for clients that cannot send a header on a
 * WebSocket (browsers). DynamoDB in AWS, the same adapter on dynalite on one machine.
 *
 * @example
 * await tickets.issue({ hash: hashToken(ticket), streamId: 'freezers', principal, expiresAt: now + 60_000 });
 * const found = await tickets.redeem(hashToken(ticket), Date.now()); // once; undefined after, or once expired
 */
export interface LiveTicketStore {
  issue(ticket: LiveTicket): Promise<void>;
  /** Takes the ticket (deleting it) if it exists and has not expired at `now`; `undefined` otherwise. Throws `StoreUnavailableError`. */
  redeem(hash: string, now: number): Promise<LiveTicket | undefined>;
}

/** One open WebSocket of a live subscription in AWS, as the connection table keeps it. */
export interface LiveConnection {
  connectionId: string;
  streamId: string;
  filter: LiveFilter;
  /** Epoch ms. */
  connectedAt: number;
  /** Epoch ms: API Gateway closes a connection after 2 h, and the table's TTL drops its item after that. */
  expiresAt: number;
}

/**
 * API Gateway WebSocket connections by stream (a DynamoDB table with TTL): put by `$connect`, removed by
 * `$disconnect` and by the fan-out when a post answers 410 Gone.
 *
 * @example
 * await connections.put({ connectionId, streamId: 'freezers', filter, connectedAt: now, expiresAt: now + 7_200_000 });
 * const open = await connections.list('freezers');
 */
export interface LiveConnectionStore {
  put(connection: LiveConnection): Promise<void>;
  /** Idempotent: removing a connection that is gone already is no error. */
  remove(connectionId: string): Promise<void>;
  /** The stream's connections not yet expired at `now`. Throws `StoreUnavailableError`. */
  list(streamId: string, now: number): Promise<LiveConnection[]>;
}

/** One export file being written to the export store: bytes written in order, then finished or aborted. */
export interface ExportUpload {
  /** Appends bytes; the adapter cuts them into parts of its own size. Throws `StoreUnavailableError`. */
  push(bytes: Uint8Array): Promise<void>;
  /** Completes the file and signs a GET URL for it, valid for the store's lifetime of a link. */
  finish(): Promise<{ url: string; expiresAt: number; bytes: number }>;
  /** Drops what was written; never throws. */
  abort(): Promise<void>;
}

/**
 * Where an export too large for one HTTP answer goes (S3 in AWS, s3rver on one machine): written in parts as
 * the query pages arrive, so memory stays bounded, and answered as a presigned GET URL.
 *
 * @example
 * const file = await exports.begin({ key: 'exports/freezers/abc.csv', contentType: 'text/csv', filename: 'freezers.csv' });
 * await file.push(bytes);
 * const { url } = await file.finish();
 */
export interface ExportStore {
  begin(file: { key: string; contentType: string; filename: string }): Promise<ExportUpload>;
}
