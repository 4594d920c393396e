import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { eventsTableDefinition } from '../../shared/aws/dynamodb-event-store';
import { DynamoDbReceiptLedger } from '../../shared/aws/receipt-ledger';
import { StoreUnavailableError } from '../../shared/domain/errors';
import { checkChain } from '../../shared/domain/receipts';
import { ensureTable, startDynalite } from '../../shared/local/dynalite-server';
import { startS3 } from '../../shared/local/s3-server';
import { batchContent, chainHash, nextReceipt } from '../../functions/commons/receipt-hash';
import { startedForSuite } from '../fixtures/lifecycle';

// The receipt ledger on dynalite and s3rver, as the writer and the query function use it in AWS: writers
// racing for a stream's head still make one unbroken chain; entries come back as kept; pages follow on.

const dynamo = startedForSuite(() => startDynalite());
const s3 = startedForSuite(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-s3-'));
  const server = await startS3({ directory: dir, buckets: ['events'] });
  return { ...server, close: async () => (await server.close(), await rm(dir, { recursive: true, force: true })) };
});
let tables = 0;
async function ledger(): Promise<{ tableName: string; make: () => DynamoDbReceiptLedger }> {
  const tableName = `receipts-${++tables}`;
  await ensureTable(dynamo.client, tableName, 30_000, eventsTableDefinition(tableName));
  return { tableName, make: () => new DynamoDbReceiptLedger({ client: dynamo.client, tableName, s3: s3.client, bucket: 'events' }) };
}
const T = Date.parse('2026-12-01T00:00:00Z');
const names = { dimensions: ["deviceId"], fields: ["v"] };
const content = (n: number) => batchContent([{ time: T + n, dimensions: { deviceId: `d-${n % 3}` }, values: { v: n } }], [], names);

describe('DynamoDbReceiptLedger (dynalite + s3rver)', () => {
  it('makes one unbroken chain of writers racing for the head, each batch once', async () => {
    const { make } = await ledger();
    const writers = [make(), make(), make()];
    const appended = await Promise.all(Array.from({ length: 30 }, (_, n) => writers[n % 3]!.append('s', content(n), (head) => nextReceipt(head, content(n), T + n))));
    expect(appended.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const { receipts } = await make().list('s', { limit: 1000 });
    expect(receipts).toHaveLength(30);
    expect(checkChain(receipts, chainHash)).toEqual([]);
    expect(new Set(receipts.map((r) => r.hash)).size).toBe(30);
  });

  it('gives back the records it kept, pages in order, and knows the head', async () => {
    const { make } = await ledger();
    const l = make();
    for (let n = 0; n < 5; n++) await l.append('s', content(n), (head) => nextReceipt(head, content(n), T));
    const first = await l.list('s', { limit: 2 });
    expect(first.receipts.map((r) => r.seq)).toEqual([1, 2]);
    expect(first.next).toBe(2);
    const rest = await l.list('s', { after: 2, limit: 10 });
    expect(rest.receipts.map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(rest.next).toBeUndefined();
    expect((await l.head('s'))?.seq).toBe(5);
    expect(await l.head('other')).toBeUndefined();
    expect(await l.receiptText('s', rest.receipts[0]!)).toBe(content(2).text);
    expect(await l.receiptText('s', { ...rest.receipts[0]!, hash: 'f'.repeat(64) })).toBeUndefined();
  });

  it('keeps a receipt’s signature and key with it, and links a signed receipt made asynchronously', async () => {
    const { make } = await ledger();
    const l = make();
    await l.append('s', content(1), (head) => nextReceipt(head, content(1), T));
    const signed = await l.append('s', content(2), async (head) => ({ ...nextReceipt(head, content(2), T), keyId: 'local:0123456789abcdef', signature: 'MEUCIQ==' }));
    const { receipts } = await make().list('s', { limit: 10 });
    expect(receipts[0]).not.toHaveProperty('signature');
    expect(receipts[1]).toEqual(signed);
    expect(receipts[1]).toMatchObject({ keyId: 'local:0123456789abcdef', signature: 'MEUCIQ==' });
    expect(checkChain(receipts, chainHash)).toEqual([]);
  });

  it('throws StoreUnavailableError when S3 cannot keep the entries, and appends nothing', async () => {
    const { tableName, make } = await ledger();
    const down = new DynamoDbReceiptLedger({ client: dynamo.client, tableName, s3: new S3Client({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 }), bucket: 'events' });
    await expect(down.append('s', content(1), (head) => nextReceipt(head, content(1), T))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await make().head('s')).toBeUndefined();
  });
});
