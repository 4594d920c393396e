// `npx tsx bench/dynalite-latency.ts`: the latency of the registry calls the local runtime makes per request
// (GetItem for `get` and `find`) and per written batch (`addStats`: two or three UpdateItems), on dynalite in
// memory and on LevelDB. A script: it asserts nothing.
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbRegistry } from '../shared/aws/dynamodb-registry';
import { newStream, parseStreamInput } from '../shared/domain/stream-definition';
import { ensureTable, startDynalite } from '../shared/local/dynalite-server';

const N = Number(process.env.N ?? 2000);
const WARM_UP = 200;

async function time(label: string, op: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < WARM_UP; i++) await op(i);
  const ms: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    await op(i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(2);
  const mean = (ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(2);
  console.log(`${label.padEnd(44)} mean ${mean} ms  p50 ${at(0.5)}  p95 ${at(0.95)}  p99 ${at(0.99)}  (n=${N})`);
}

async function measure(kind: string, path?: string): Promise<void> {
  const dynamo = await startDynalite(path ? { path } : {});
  try {
    await ensureTable(dynamo.client, 'tributary');
    const registry = new DynamoDbRegistry({ client: dynamo.client, tableName: 'tributary' });
    const stream = newStream(
      parseStreamInput({ id: 'bench', name: 'Bench', type: 'iot_sensor', schema: { deviceId: { type: 'string' }, t: { type: 'number' } }, dimensions: ['deviceId'] }),
      new Date(),
      () => '',
    );
    await registry.create(stream);
    const key = { pk: { S: 'STREAM#bench' }, sk: { S: 'META' } };
    await time(`${kind}: GetItem (raw, consistent)`, () => dynamo.client.send(new GetItemCommand({ TableName: 'tributary', Key: key, ConsistentRead: true })));
    await time(`${kind}: registry.get`, () => registry.get('bench'));
    await time(`${kind}: UpdateItem (raw, ADD on STATS)`, () =>
      dynamo.client.send(
        new UpdateItemCommand({
          TableName: 'tributary',
          Key: { pk: { S: 'STREAM#bench' }, sk: { S: 'STATS' } },
          UpdateExpression: 'ADD pointsTotal :one',
          ExpressionAttributeValues: { ':one': { N: '1' } },
        }),
      ),
    );
    await time(`${kind}: registry.addStats (STATS + DAY)`, (i) => registry.addStats('bench', { at: Date.now(), points: 1 + (i % 5), invalid: 0, rejected: 0, samples: [] }));
    await time(`${kind}: registry.addStats (+ 2 rejections)`, () =>
      registry.addStats('bench', { at: Date.now(), points: 5, invalid: 0, rejected: 2, samples: [{ reason: 'a', record: { t: 1 } }, { reason: 'b' }] }),
    );
  } finally {
    await dynamo.close();
  }
}

await measure('memory');
const dir = await mkdtemp(join(tmpdir(), 'dynalite-bench-'));
try {
  await measure('leveldb', dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}
