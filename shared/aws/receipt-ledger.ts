import { promisify } from 'node:util';
import { constants, gunzip, gzip } from 'node:zlib';
import { PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { StoreUnavailableError } from '../domain/errors';
import type { BatchContent, Receipt } from '../domain/receipts';
import type { ReceiptLedger } from '../ports';
import { callDynamo } from './dynamodb-call';

/** Where receipts' details live in the events bucket. */
export const RECEIPTS_PREFIX = 'receipts/';

/** What a stream's receipts partition key ends with (`<stream>#receipts`): the writer's grant names it. */
export const RECEIPTS_PARTITION_SUFFIX = '#receipts';

/** How many times an append retries after another writer took the head it read. */
const MAX_RACES = 20;
const SEQ_DIGITS = 12;

const seqKey = (seq: number) => String(seq).padStart(SEQ_DIGITS, '0');

/**
 * `ReceiptLedger` on the events table and bucket: a stream's receipts are items of the partition
 * `<stream>#receipts`, sorted by their zero-padded number, each put only if that number is free (so two
 * writers racing for the head cannot both take it: the loser reads the new head and links to it); each
 * receipt's records (its lines) are one gzipped object, `receipts/<stream>/<batch hash>.ndjson.gz`, put before
 * the receipt names it. The same adapter runs on dynalite and s3rver on one machine.
 *
 * @example
 * const ledger = new DynamoDbReceiptLedger({ client, tableName: config.EVENTS_TABLE_NAME, s3, bucket: config.EVENTS_BUCKET });
 */
export class DynamoDbReceiptLedger implements ReceiptLedger {
  /** The head this process last appended or read, per stream: most appends then need no read first. */
  private readonly heads = new Map<string, Receipt>();

  constructor(private readonly options: { client: DynamoDBClient; tableName: string; s3: S3Client; bucket: string }) {}

  async append(streamId: string, content: BatchContent, link: (head: Receipt | undefined) => Receipt | Promise<Receipt>): Promise<Receipt> {
    // the fastest level: the lines are kept once and read only to verify (about a tenth of their size still)
    const body = await promisify(gzip)(content.text, { level: constants.Z_BEST_SPEED, chunkSize: 1 << 20 });
    try {
      await this.options.s3.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: detailKey(streamId, content.hash), Body: body, ContentType: 'application/x-ndjson', ContentEncoding: 'gzip' }));
    } catch (err) {
      throw new StoreUnavailableError(`S3 PutObject failed: ${(err as Error).name}.`, { cause: err });
    }
    let head = this.heads.get(streamId) ?? (await this.head(streamId));
    for (let race = 0; race < MAX_RACES; race++) {
      const receipt = await link(head);
      const put = new PutItemCommand({ TableName: this.options.tableName, Item: receiptItem(streamId, receipt), ConditionExpression: 'attribute_not_exists(e)' });
      const taken = await callDynamo('PutItem', () => this.options.client.send(put).then(() => false), async () => true);
      if (!taken) {
        this.heads.set(streamId, receipt);
        return receipt;
      }
      head = await this.head(streamId);
    }
    throw new StoreUnavailableError(`The receipt chain of '${streamId}' moved ${MAX_RACES} times while this batch was appended; it is delivered again.`);
  }

  async head(streamId: string): Promise<Receipt | undefined> {
    const out = await callDynamo('Query', () =>
      this.options.client.send(new QueryCommand({ TableName: this.options.tableName, KeyConditionExpression: 's = :s', ExpressionAttributeValues: { ':s': { S: partition(streamId) } }, ScanIndexForward: false, Limit: 1, ConsistentRead: true })),
    );
    const item = out.Items?.[0];
    return item ? receiptOf(item) : undefined;
  }

  async list(streamId: string, page: { after?: number; limit: number }): Promise<{ receipts: Receipt[]; next?: number }> {
    const receipts: Receipt[] = [];
    let start: Record<string, AttributeValue> | undefined;
    const values: Record<string, AttributeValue> = { ':s': { S: partition(streamId) }, ':after': { S: seqKey(page.after ?? 0) } };
    do {
      const out = await callDynamo('Query', () =>
        this.options.client.send(new QueryCommand({ TableName: this.options.tableName, KeyConditionExpression: 's = :s AND e > :after', ExpressionAttributeValues: values, Limit: page.limit + 1 - receipts.length, ExclusiveStartKey: start, ConsistentRead: true })),
      );
      for (const item of out.Items ?? []) receipts.push(receiptOf(item));
      start = out.LastEvaluatedKey;
    } while (start && receipts.length <= page.limit);
    const more = receipts.length > page.limit;
    const shown = receipts.slice(0, page.limit);
    return { receipts: shown, ...(more && { next: shown[shown.length - 1]!.seq }) };
  }

  async receiptText(streamId: string, receipt: Receipt): Promise<string | undefined> {
    let bytes: Uint8Array;
    try {
      const out = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: detailKey(streamId, receipt.hash) }));
      bytes = await out.Body!.transformToByteArray();
    } catch (err) {
      if (err instanceof NoSuchKey) return undefined;
      throw new StoreUnavailableError(`S3 GetObject failed: ${(err as Error).name}.`, { cause: err });
    }
    return (await promisify(gunzip)(bytes)).toString('utf8');
  }
}

const partition = (streamId: string) => `${streamId}${RECEIPTS_PARTITION_SUFFIX}`;
const detailKey = (streamId: string, hash: string) => `${RECEIPTS_PREFIX}${streamId}/${hash}.ndjson.gz`;

function receiptItem(streamId: string, r: Receipt): Record<string, AttributeValue> {
  return {
    s: { S: partition(streamId) },
    e: { S: seqKey(r.seq) },
    at: { N: String(r.at) },
    hash: { S: r.hash },
    count: { N: String(r.count) },
    from: { N: String(r.from) },
    to: { N: String(r.to) },
    prev: { S: r.prev },
    chain: { S: r.chain },
    ...(r.keyId && { key: { S: r.keyId } }),
    ...(r.signature && { sig: { S: r.signature } }),
  };
}

function receiptOf(item: Record<string, AttributeValue>): Receipt {
  return {
    seq: Number(item.e!.S),
    at: Number(item.at!.N),
    hash: item.hash!.S!,
    count: Number(item.count!.N),
    from: Number(item.from!.N),
    to: Number(item.to!.N),
    prev: item.prev!.S!,
    chain: item.chain!.S!,
    ...(item.key?.S && { keyId: item.key.S }),
    ...(item.sig?.S && { signature: item.sig.S }),
  };
}
