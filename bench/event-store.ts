// `node --import tsx bench/event-store.ts`: how fast the hot tier of event storage takes events on dynalite
// (the local runtime's DynamoDB), written as containers (what DynamoDbEventStore does: one item per request
// and day) next to one item per event (what it did first), 20,000 events in batches of 2,000, three runs
// each. A script: it asserts nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbEventStore, batchPut, eventsTableDefinition, padTime } from '../shared/aws/dynamodb-event-store';
import type { StoredEvent } from '../shared/domain/events';
import { ensureTable, startDynalite } from '../shared/local/dynalite-server';

const N = 20_000;
const BATCH = 2_000;
const now = Date.parse('2026-12-04T12:00:00Z');

function batches(run: number): StoredEvent[][] {
  const out: StoredEvent[][] = [];
  for (let b = 0; b < N; b += BATCH) {
    out.push(Array.from({ length: BATCH }, (_, i) => ({ id: `r${run}b${b}.${i}`, eventTime: now + b + i, validTime: now + b + i, data: { seq: b + i, v: (b + i) * 1.5, device: 'd1' }, hotUntil: now + 86_400_000, archive: true })));
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-events-'));
const dynamo = await startDynalite({ path: dir });
await ensureTable(dynamo.client, 'events', 30_000, eventsTableDefinition('events'));
const hot = new DynamoDbEventStore({ client: dynamo.client, tableName: 'events' });
const perEvent = (events: StoredEvent[]) =>
  batchPut(dynamo.client, 'events', events.map((e) => ({ s: { S: 'per-event' }, e: { S: `${padTime(e.eventTime)}#${e.id}` }, v: { S: `${padTime(e.validTime)}#${e.id}` }, d: { S: JSON.stringify(e) } })));
for (const [name, put] of [['containers', (events: StoredEvent[]) => hot.putHot('containers', events)], ['item per event', perEvent]] as const) {
  const rates: number[] = [];
  for (let run = 0; run < 3; run++) {
    const t = performance.now();
    for (const batch of batches(run)) await put(batch);
    rates.push(Math.round(N / ((performance.now() - t) / 1000)));
  }
  console.log(JSON.stringify({ write: name, events: N, batch: BATCH, eventsPerSecond: rates, median: [...rates].sort((a, b) => a - b)[1] }));
}
await dynamo.close();
await rm(dir, { recursive: true, force: true });
