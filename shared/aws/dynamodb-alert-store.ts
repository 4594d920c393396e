import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { streamOfAlert, type ActionOutcome, type Alert, type AlertState, type FailedRule, type SeriesState } from '../domain/alert-evaluation';
import { AlertNotFoundError, BadRequestError } from '../domain/errors';
import type { ActionResult, AlertPage, AlertStore, SigningSecretStore } from '../ports';
import { batchGetItems } from './dynamodb-batch-get';
import { callDynamo, checkTableOptions } from './dynamodb-call';
import { TABLE_KEYS } from './dynamodb-table';

/**
 * What `DynamoDbAlertStore` is built from: a ready client and the table's name.
 *
 * @example
 * const options: DynamoDbAlertStoreOptions = { client: new DynamoDBClient({}), tableName: config.TABLE_NAME };
 */
export interface DynamoDbAlertStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /**
   * How long a resolved alert (and its series' state) is kept before the table's TTL deletes it:
   * `RESOLVED_ALERT_RETENTION_MS` (30 days) unless given; at least 7 days, the longest cooldown, which
   * counts from the state. Firing alerts never expire.
   */
  resolvedRetentionMs?: number;
}

/**
 * How long a resolved alert is kept unless the store is told otherwise: 30 days.
 *
 * @example
 * new DynamoDbAlertStore({ client, tableName, resolvedRetentionMs: 2 * RESOLVED_ALERT_RETENTION_MS });
 */
export const RESOLVED_ALERT_RETENTION_MS = 30 * 86_400_000;
const MIN_RETENTION_MS = 7 * 86_400_000;

type Item = Record<string, AttributeValue>;
const { partitionKey: PK, sortKey: SK, index: GSI, ttlAttribute: TTL } = TABLE_KEYS;
const streamPk = (streamId: string): AttributeValue => ({ S: `STREAM#${streamId}` });
const stateSk = (rule: string, series: string) => `ALERTSTATE#${rule}#${series}`;
const alertSk = (id: string) => `ALERT#${id}`;
const statePartition = (state: AlertState) => `ALERTS#${state}`;
/** Errors kept on an outcome are cut to this many characters. */
const MAX_ERROR_CHARS = 512;

/**
 * `AlertStore` and `SigningSecretStore` on the single table (key design in `dynamodb-table.ts`):
 *
 * - `fire` is a conditional `UpdateItem` on the `ALERTSTATE#<rule>#<series>` item (the referee: not firing and
 *   out of cooldown), then a `PutItem` of the `ALERT#<id>` item. Not one transaction (dynalite has none): a
 *   writer that dies between the two leaves the series firing without its alert item; the next resolve
 *   clears it.
 * - A resolve sets the table's TTL attribute (`expiresAt`) on the alert and its state, `resolvedRetentionMs`
 *   after the resolve; a fire removes it from the state. Firing alerts never expire.
 * - A batch reads the states it touches by key (`BatchGetItem`, 100 keys a request).
 * - Alerts of a stream are read from the stream's partition (`sk` begins with `ALERT#`, ids sort by time);
 *   alerts by state from `gsi1` (`gsi1pk = ALERTS#firing | ALERTS#resolved`, `gsi1sk = <firedAt>#<id>`), which
 *   a resolve moves.
 *
 * @example
 * const alerts = new DynamoDbAlertStore({ client: new DynamoDBClient({}), tableName: 'tributary' });
 * if (await alerts.fire(alert, 300_000, Date.now())) await starter.start({ alert, actions });
 */
export class DynamoDbAlertStore implements AlertStore, SigningSecretStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly retentionMs: number;

  constructor(options: DynamoDbAlertStoreOptions) {
    checkTableOptions('DynamoDbAlertStore', options);
    const retention = options.resolvedRetentionMs ?? RESOLVED_ALERT_RETENTION_MS;
    if (!Number.isSafeInteger(retention) || retention < MIN_RETENTION_MS) {
      throw new TypeError(`DynamoDbAlertStore needs resolvedRetentionMs of at least ${MIN_RETENTION_MS} (7 days), got ${JSON.stringify(options.resolvedRetentionMs)}.`);
    }
    this.client = options.client;
    this.table = options.tableName;
    this.retentionMs = retention;
  }

  async loadStates(streamId: string, only?: { rules: readonly string[]; series: readonly string[] }): Promise<SeriesState[]> {
    const items = only
      ? await batchGetItems({ client: this.client, table: this.table, keys: stateKeys(streamId, only), projection: STATE_PROJECTION })
      : await this.queryAll({
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
          ExpressionAttributeValues: { ':pk': streamPk(streamId), ':prefix': { S: 'ALERTSTATE#' } },
        });
    return items.map(toState);
  }

  async fire(alert: Alert, cooldownMs: number, now: number): Promise<boolean> {
    const won = await this.updateState(alert.streamId, alert.rule, alert.series, {
      // a firing series never expires: a resolve set the TTL, a fire takes it away
      UpdateExpression: 'SET #st = :firing, alertId = :id, firedAt = :now, #rule = :rule, series = :series REMOVE #ttl',
      ConditionExpression: 'attribute_not_exists(#st) OR (#st <> :firing AND (attribute_not_exists(firedAt) OR firedAt <= :edge))',
      ExpressionAttributeNames: { '#st': 'alertState', '#rule': 'rule', '#ttl': TTL },
      ExpressionAttributeValues: {
        ':firing': { S: 'firing' },
        ':id': { S: alert.id },
        ':now': { N: String(now) },
        ':edge': { N: String(now - cooldownMs) },
        ':rule': { S: alert.rule },
        ':series': { S: alert.series },
      },
    });
    if (won) await this.call('PutItem', () => this.client.send(new PutItemCommand({ TableName: this.table, Item: alertItem(alert) })));
    return won;
  }

  async resolve(streamId: string, rule: string, series: string, alertId: string, at: number): Promise<boolean> {
    const expiresAt = { N: String(Math.floor((at + this.retentionMs) / 1000)) };
    const won = await this.updateState(streamId, rule, series, {
      UpdateExpression: 'SET #st = :resolved, #ttl = :ttl',
      ConditionExpression: '#st = :firing AND alertId = :id',
      ExpressionAttributeNames: { '#st': 'alertState', '#ttl': TTL },
      ExpressionAttributeValues: { ':resolved': { S: 'resolved' }, ':firing': { S: 'firing' }, ':id': { S: alertId }, ':ttl': expiresAt },
    });
    if (!won) return false;
    await this.updateAlert(alertId, {
      UpdateExpression: 'SET #st = :resolved, resolvedAt = :at, #gpk = :gpk, #ttl = :ttl',
      ExpressionAttributeNames: { '#st': 'alertState', '#gpk': GSI.partitionKey, '#ttl': TTL },
      ExpressionAttributeValues: { ':resolved': { S: 'resolved' }, ':at': { S: iso(at) }, ':gpk': { S: statePartition('resolved') }, ':ttl': expiresAt },
    }).catch((err: unknown) => {
      if (!(err instanceof AlertNotFoundError)) throw err;
    });
    return true;
  }

  async get(alertId: string): Promise<Alert | undefined> {
    const streamId = streamOfAlert(alertId);
    if (!streamId) return undefined;
    const out = await this.call('GetItem', () =>
      this.client.send(new GetItemCommand({ TableName: this.table, Key: alertKey(streamId, alertId), ConsistentRead: true })),
    );
    return out.Item ? toAlert(out.Item) : undefined;
  }

  async listByStream(streamId: string, page: { limit: number; cursor?: string }): Promise<AlertPage> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    if (after && streamOfAlert(after.id) !== streamId) throw badCursor();
    return this.page(page.limit, {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': streamPk(streamId), ':prefix': { S: 'ALERT#' } },
      ...(after && { ExclusiveStartKey: alertKey(streamId, after.id) }),
    });
  }

  async listByState(state: AlertState, page: { limit: number; cursor?: string }): Promise<AlertPage> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    return this.page(page.limit, {
      IndexName: GSI.name,
      KeyConditionExpression: '#gpk = :gpk',
      ExpressionAttributeNames: { '#gpk': GSI.partitionKey },
      ExpressionAttributeValues: { ':gpk': { S: statePartition(state) } },
      ...(after && {
        ExclusiveStartKey: {
          ...alertKey(streamOfAlert(after.id)!, after.id),
          [GSI.partitionKey]: { S: statePartition(state) },
          [GSI.sortKey]: { S: `${after.firedAt}#${after.id}` },
        },
      }),
    });
  }

  async acknowledge(alertId: string, at: number): Promise<Alert> {
    const item = await this.updateAlert(alertId, {
      UpdateExpression: 'SET acknowledged = :yes, acknowledgedAt = if_not_exists(acknowledgedAt, :at)',
      ExpressionAttributeValues: { ':yes': { BOOL: true }, ':at': { S: iso(at) } },
    });
    return toAlert(item);
  }

  async recordAttempt(alertId: string, index: number, at: number, error?: string): Promise<void> {
    const i = outcomeIndex(index);
    await this.updateAlert(alertId, {
      UpdateExpression: `SET outcomes[${i}].attempts = outcomes[${i}].attempts + :one, outcomes[${i}].lastAttemptAt = :at${error === undefined ? '' : `, outcomes[${i}].lastError = :err`}`,
      ExpressionAttributeValues: { ':one': { N: '1' }, ':at': { S: iso(at) }, ...(error !== undefined && { ':err': { S: error.slice(0, MAX_ERROR_CHARS) } }) },
    });
  }

  async recordOutcomes(alertId: string, results: ActionResult[], at: number): Promise<void> {
    if (results.length === 0) return;
    const sets: string[] = ['actionsDoneAt = :at'];
    const values: Item = { ':at': { S: iso(at) } };
    for (const [n, r] of results.entries()) {
      const i = outcomeIndex(r.index);
      sets.push(`outcomes[${i}].#status = :s${n}`);
      values[`:s${n}`] = { S: r.status };
      if (r.error !== undefined) {
        sets.push(`outcomes[${i}].lastError = :e${n}`);
        values[`:e${n}`] = { S: r.error.slice(0, MAX_ERROR_CHARS) };
      }
    }
    await this.updateAlert(alertId, { UpdateExpression: `SET ${sets.join(', ')}`, ExpressionAttributeNames: { '#status': 'status' }, ExpressionAttributeValues: values });
  }

  async failRule(streamId: string, failure: FailedRule): Promise<void> {
    // an UpdateItem (an upsert), the call the writer already makes on alert states
    await this.call('UpdateItem', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { [PK]: streamPk(streamId), [SK]: { S: `RULEFAIL#${failure.rule}` } },
          UpdateExpression: 'SET #rule = :rule, reason = :reason, failedAt = :at, streamVersion = :v',
          ExpressionAttributeNames: { '#rule': 'rule' },
          ExpressionAttributeValues: {
            ':rule': { S: failure.rule },
            ':reason': { S: failure.reason.slice(0, MAX_ERROR_CHARS) },
            ':at': { S: failure.failedAt },
            ':v': { N: String(failure.streamVersion) },
          },
        }),
      ),
    );
  }

  async listRuleFailures(streamId: string): Promise<FailedRule[]> {
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': streamPk(streamId), ':prefix': { S: 'RULEFAIL#' } },
    });
    return items.map((i) => ({ rule: i.rule?.S ?? '', reason: i.reason?.S ?? '', failedAt: i.failedAt?.S ?? '', streamVersion: Number(i.streamVersion?.N ?? 0) }));
  }

  async ensureSigningSecret(streamId: string, candidate: string): Promise<string | undefined> {
    return this.call(
      'PutItem',
      async () => {
        await this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: { ...secretKey(streamId), secret: { S: candidate } },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': PK },
          }),
        );
        return candidate;
      },
      async () => undefined,
    );
  }

  async getSigningSecrets(streamId: string, at: number): Promise<string[]> {
    const out = await this.call('GetItem', () => this.client.send(new GetItemCommand({ TableName: this.table, Key: secretKey(streamId), ConsistentRead: true })));
    const current = out.Item?.secret?.S;
    if (!current) return [];
    const previous = out.Item?.previous?.S;
    const until = Number(out.Item?.previousUntil?.N ?? 0);
    return previous && at < until ? [current, previous] : [current];
  }

  async replaceSigningSecret(streamId: string, secret: string, previousUntil: number): Promise<void> {
    // One UpdateItem (an upsert, so the alerts API needs no PutItem on the table): its right-hand sides read
    // the item as it was, so `previous` gets the secret being replaced ('' when there was none).
    await this.call('UpdateItem', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: secretKey(streamId),
          UpdateExpression: 'SET #secret = :s, #previous = if_not_exists(#secret, :none), #until = :u',
          ExpressionAttributeNames: { '#secret': 'secret', '#previous': 'previous', '#until': 'previousUntil' },
          ExpressionAttributeValues: { ':s': { S: secret }, ':none': { S: '' }, ':u': { N: String(previousUntil) } },
        }),
      ),
    );
  }

  /** A conditional update of a (rule, series) state item: `false` when the condition failed. */
  private updateState(
    streamId: string,
    rule: string,
    series: string,
    update: { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Item },
  ): Promise<boolean> {
    const Key = stateKey(streamId, rule, series);
    return this.call(
      'UpdateItem',
      () => this.client.send(new UpdateItemCommand({ TableName: this.table, Key, ...update })).then(() => true),
      async () => false,
    );
  }

  private async updateAlert(alertId: string, update: { UpdateExpression: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues: Item }): Promise<Item> {
    const streamId = streamOfAlert(alertId);
    if (!streamId) throw new AlertNotFoundError(alertId);
    return this.call(
      'UpdateItem',
      async () => {
        const out = await this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: alertKey(streamId, alertId),
            ...update,
            ConditionExpression: 'attribute_exists(#pk)',
            ExpressionAttributeNames: { ...update.ExpressionAttributeNames, '#pk': PK },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return out.Attributes ?? {};
      },
      async () => {
        throw new AlertNotFoundError(alertId);
      },
    );
  }

  private async page(limit: number, input: Omit<QueryCommandInput, 'TableName'>): Promise<AlertPage> {
    const out = await this.call('Query', () =>
      this.client.send(new QueryCommand({ TableName: this.table, ...input, ScanIndexForward: false, Limit: Math.min(Math.max(Math.trunc(limit), 1), 1000) })),
    );
    const alerts = (out.Items ?? []).map(toAlert);
    const last = alerts[alerts.length - 1];
    return { alerts, ...(out.LastEvaluatedKey && last && { nextCursor: encodeCursor(last) }) };
  }

  private async queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const out = await this.call('Query', () =>
        this.client.send(new QueryCommand({ TableName: this.table, ...input, ConsistentRead: true, ...(startKey && { ExclusiveStartKey: startKey }) })),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  private call<T>(action: string, send: () => Promise<T>, onConditionFailed?: () => Promise<T>): Promise<T> {
    return callDynamo(action, send, onConditionFailed);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const secretKey = (streamId: string): Item => ({ [PK]: streamPk(streamId), [SK]: { S: 'ALERTSECRET' } });
const stateKey = (streamId: string, rule: string, series: string): Item => ({ [PK]: streamPk(streamId), [SK]: { S: stateSk(rule, series) } });
/** What a state read needs (the `pk`/`sk` of thousands of items are left out). */
const STATE_PROJECTION = { expression: '#rule, series, alertState, alertId, firedAt', names: { '#rule': 'rule' } };

/** The keys of `rules` × `series`, each once (BatchGetItem refuses a repeated key). */
function stateKeys(streamId: string, only: { rules: readonly string[]; series: readonly string[] }): Item[] {
  const series = [...new Set(only.series)];
  return [...new Set(only.rules)].flatMap((rule) => series.map((s) => stateKey(streamId, rule, s)));
}

function toState(i: Item): SeriesState {
  return {
    rule: i.rule?.S ?? '',
    series: i.series?.S ?? '',
    state: i.alertState?.S === 'firing' ? 'firing' : 'resolved',
    ...(i.alertId?.S && { alertId: i.alertId.S }),
    ...(i.firedAt?.N && { firedAt: Number(i.firedAt.N) }),
  };
}
const alertKey = (streamId: string, id: string): Item => ({ [PK]: streamPk(streamId), [SK]: { S: alertSk(id) } });

function outcomeIndex(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > 99) throw new TypeError(`An action index is an integer 0-99, got ${index}.`);
  return index;
}

/** The immutable part of an alert goes in `body` (JSON); what changes has attributes of its own. */
function alertItem(alert: Alert): Item {
  const { state, resolvedAt, acknowledged, acknowledgedAt, actions, ...body } = alert;
  return {
    ...alertKey(alert.streamId, alert.id),
    body: { S: JSON.stringify(body) },
    alertState: { S: state },
    acknowledged: { BOOL: acknowledged },
    outcomes: { L: actions.map((a) => ({ M: { type: { S: a.type }, status: { S: a.status }, attempts: { N: String(a.attempts) } } })) },
    [GSI.partitionKey]: { S: statePartition(state) },
    [GSI.sortKey]: { S: `${alert.firedAt}#${alert.id}` },
  };
}

function toAlert(item: Item): Alert {
  const body = JSON.parse(item.body?.S ?? '{}') as Omit<Alert, 'state' | 'acknowledged' | 'actions'>;
  const actions: ActionOutcome[] = (item.outcomes?.L ?? []).map((o) => {
    const m = o.M ?? {};
    return {
      type: m.type?.S as ActionOutcome['type'],
      status: (m.status?.S ?? 'pending') as ActionOutcome['status'],
      attempts: Number(m.attempts?.N ?? 0),
      ...(m.lastError?.S !== undefined && { lastError: m.lastError.S }),
      ...(m.lastAttemptAt?.S !== undefined && { lastAttemptAt: m.lastAttemptAt.S }),
    };
  });
  return {
    ...body,
    state: item.alertState?.S === 'resolved' ? 'resolved' : 'firing',
    ...(item.resolvedAt?.S && { resolvedAt: item.resolvedAt.S }),
    acknowledged: item.acknowledged?.BOOL === true,
    ...(item.acknowledgedAt?.S && { acknowledgedAt: item.acknowledgedAt.S }),
    actions,
  };
}

/** Opaque to clients: base64url of `{"id", "firedAt"}` of the page's last alert. */
function encodeCursor(last: Alert): string {
  return Buffer.from(JSON.stringify({ id: last.id, firedAt: last.firedAt }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { id: string; firedAt: string } {
  let parsed: { id?: unknown; firedAt?: unknown } | undefined;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const { id, firedAt } = parsed ?? {};
  if (typeof id !== 'string' || !streamOfAlert(id) || typeof firedAt !== 'string' || Number.isNaN(Date.parse(firedAt))) throw badCursor();
  return { id, firedAt };
}

const badCursor = () => new BadRequestError('Invalid query parameters.', [{ path: ['cursor'], message: 'is not a cursor returned by this API' }]);
