import {
  BatchWriteItemCommand,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '../domain/errors';
import type { RollupLevel } from '../domain/rollup-levels';
import type { BinState, RollupBin } from '../domain/rollup-state';
import { callDynamo, checkTableOptions } from './dynamodb-call';
import { TABLE_KEYS } from './dynamodb-table';

/**
 * Stored rollup bins as DynamoDB items (the rollups table, `pk`/`sk` string keys as Tributary's other tables):
 * one item per stream, level, bin, series and field, holding the bin's whole state.
 * - `pk` `ROLLUP#<streamId>#<level>`, `sk` `<bin + 10^16, 17 digits>#<series>#<field>`: a level's bins of every
 *   series and field sort by time, so a query range and a coarser bin's children are each one `Query`;
 * - attributes `d` (the series' dimension values, JSON), `f`, `b`, `n`, `s`, `q`, `m2`, `mn`, `mx`, `ft`, `fv`,
 *   `lt`, `lv`, `ts` (the time sum, a number of up to 38 digits: exact), `k` (the sketch's buckets, a map);
 *   a null of the state is an absent attribute.
 * Items are written whole (`PutRequest`): writing a bin's state again is idempotent, so a redelivered batch
 * that recomputes the same state changes nothing. The close mark is `pk` `ROLLUP#<streamId>`, `sk` `CLOSED`.
 *
 * @example
 * const bins = new DynamoDbRollupBins({ client, tableName: 'rollups' });
 * await bins.putBins('freezers', '1h', [{ bin, dimensions: { site: 'a' }, field: 'temp', state }]);
 */
export class DynamoDbRollupBins {
  private readonly client: DynamoDBClient;
  private readonly table: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    checkTableOptions('DynamoDbRollupBins', options);
    this.client = options.client;
    this.table = options.tableName;
  }

  /** Writes the bins' states over whatever was stored (25 per `BatchWriteItem`, unprocessed ones sent again). */
  async putBins(streamId: string, level: RollupLevel, dims: readonly string[], bins: readonly RollupBin[]): Promise<void> {
    for (let i = 0; i < bins.length; i += BATCH) {
      let requests: WriteRequest[] = bins.slice(i, i + BATCH).map((b) => ({ PutRequest: { Item: toItem(streamId, level, dims, b) } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt === ATTEMPTS) throw new StoreUnavailableError(`DynamoDB BatchWriteItem left ${requests.length} rollup bins unprocessed after ${attempt} attempts.`);
        if (attempt > 0) await new Promise((ok) => setTimeout(ok, Math.min(1000, 25 * 2 ** attempt)));
        const out = await callDynamo('BatchWriteItem', () => this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: requests } })));
        requests = out.UnprocessedItems?.[this.table] ?? [];
      }
    }
  }

  /** The stored bins of `level` starting in `[start, end)`, every series and field, by strongly consistent `Query`. */
  async range(streamId: string, level: RollupLevel, dims: readonly string[], start: number, end: number): Promise<RollupBin[]> {
    const out: RollupBin[] = [];
    if (start >= end) return out;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await callDynamo('Query', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
            ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#sk': TABLE_KEYS.sortKey },
            // `#` sorts before every digit: `<start>#` is the first key of the bin at `start`, `<end>#` past the last before `end`
            ExpressionAttributeValues: { ':pk': { S: partition(streamId, level) }, ':lo': { S: `${binKey(Math.max(start, MIN_BIN))}#` }, ':hi': { S: `${binKey(Math.min(end, MAX_BIN))}#` } },
            ConsistentRead: true,
            ...(startKey && { ExclusiveStartKey: startKey }),
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const bin = fromItem(item, dims);
        if (bin.bin >= start && bin.bin < end) out.push(bin);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return out;
  }

  /** Moves the stream's close mark to `until` unless it is there or later; answers the mark it found before. */
  async moveCloseMark(streamId: string, until: number): Promise<{ previous?: number; moved: boolean }> {
    const key = { [TABLE_KEYS.partitionKey]: { S: `ROLLUP#${streamId}` }, [TABLE_KEYS.sortKey]: { S: 'CLOSED' } };
    return callDynamo<{ previous?: number; moved: boolean }>(
      'UpdateItem',
      async () => {
        const out = await this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: key,
            UpdateExpression: 'SET #u = :u',
            ConditionExpression: 'attribute_not_exists(#u) OR #u < :u',
            ExpressionAttributeNames: { '#u': 'until' },
            ExpressionAttributeValues: { ':u': { N: String(until) } },
            ReturnValues: 'ALL_OLD',
          }),
        );
        const previous = out.Attributes?.until?.N;
        return { ...(previous !== undefined && { previous: Number(previous) }), moved: true };
      },
      async () => {
        const found = await callDynamo('GetItem', () => this.client.send(new GetItemCommand({ TableName: this.table, Key: key, ConsistentRead: true })));
        return { previous: Number(found.Item?.until?.N ?? until), moved: false };
      },
    );
  }
}

const BATCH = 25;
const ATTEMPTS = 8;
const OFFSET = 10 ** 16;
const MIN_BIN = -(OFFSET - 1);
const MAX_BIN = OFFSET * 9;

const partition = (streamId: string, level: RollupLevel) => `ROLLUP#${streamId}#${level}`;
/** A bin's start as a key that sorts as the number does (times from year −314,000 to +2,850,000). */
const binKey = (bin: number) => String(bin + OFFSET).padStart(17, '0');
const seriesOf = (dims: readonly string[], dimensions: Record<string, string>) => JSON.stringify(dims.map((d) => dimensions[d] ?? ''));

function toItem(streamId: string, level: RollupLevel, dims: readonly string[], b: RollupBin): Record<string, AttributeValue> {
  const series = seriesOf(dims, b.dimensions);
  const s = b.state;
  const item: Record<string, AttributeValue> = {
    [TABLE_KEYS.partitionKey]: { S: partition(streamId, level) },
    [TABLE_KEYS.sortKey]: { S: `${binKey(b.bin)}#${series}#${b.field}` },
    d: { S: series },
    f: { S: b.field },
    b: { N: String(b.bin) },
    n: { N: String(s.count) },
    m2: { N: num(s.m2) },
    ts: { N: s.timeSum.toString() },
    k: { M: Object.fromEntries(Object.entries(s.sketch).map(([bucket, c]) => [bucket, { N: String(c) }])) },
  };
  const optional: [string, number | null][] = [['s', s.sum], ['q', s.sumSquares], ['mn', s.min], ['mx', s.max], ['ft', s.firstTime], ['fv', s.firstValue], ['lt', s.lastTime], ['lv', s.lastValue]];
  for (const [name, v] of optional) if (v !== null) item[name] = { N: num(v) };
  return item;
}

/** A double as DynamoDB's number text: shortest round-trip digits (DynamoDB keeps 38 significant digits). */
const num = (v: number) => (Object.is(v, -0) ? '0' : String(v));

function fromItem(item: Record<string, AttributeValue>, dims: readonly string[]): RollupBin {
  const n = (name: string): number | null => (item[name]?.N === undefined ? null : Number(item[name]!.N));
  const values = JSON.parse(item.d?.S ?? '[]') as string[];
  const dimensions: Record<string, string> = {};
  dims.forEach((d, i) => {
    if (values[i]) dimensions[d] = values[i]!;
  });
  const state: BinState = {
    count: n('n') ?? 0,
    sum: n('s'),
    sumSquares: n('q'),
    m2: n('m2') ?? 0,
    min: n('mn'),
    max: n('mx'),
    firstTime: n('ft'),
    firstValue: n('fv'),
    lastTime: n('lt'),
    lastValue: n('lv'),
    timeSum: BigInt(item.ts?.N ?? '0'),
    sketch: Object.fromEntries(Object.entries(item.k?.M ?? {}).map(([bucket, c]) => [bucket, Number(c.N)])),
  };
  return { bin: n('b') ?? 0, field: item.f?.S ?? '', dimensions, state };
}
