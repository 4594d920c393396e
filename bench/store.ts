// Store-level benchmark of the DuckDB point store, without HTTP or the queue: loads the `npm run bench`
// dataset (200 sensors x 5,000 points, time-major) in writes of BATCH points (default 50,000, the runtime's
// writer batch), then times Q1-Q3 as store calls (median of 20 after 2 warm-ups). A script: it asserts nothing.
//   node --import tsx bench/store.ts            one run, JSON line on stdout
//   GROUP=0 node --import tsx bench/store.ts    with `groupBySeries: false` (points appended as they came)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { points, recordOf } from '../../shared/bench/peers/gen.mjs';
import { parseDataQuery, parseLatestQuery } from '../shared/domain/query';
import { newStream, parseStreamInput } from '../shared/domain/stream-definition';
import { compileStream, type Datapoint } from '../shared/domain/validate-record';
import { DuckDbPointStore, type DuckDbPointStoreOptions } from '../shared/local/duckdb/duckdb-point-store';
import { benchStream, QUERIES } from './dataset';

const SENSORS = Number(process.env.SENSORS ?? 200);
const PER_SENSOR = Number(process.env.PER_SENSOR ?? 5000);
const BATCH = Number(process.env.BATCH ?? 50_000);
const NOW = Date.parse('2026-06-01T00:00:00Z');

const stream = newStream(parseStreamInput(benchStream('bench_store')), new Date(NOW), () => '');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function timed(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return +median(times).toFixed(2);
}

function dataset(): Datapoint[][] {
  const compiled = compileStream(stream);
  const batches: Datapoint[][] = [];
  let records: Record<string, unknown>[] = [];
  const flush = () => {
    const { points: valid, issues } = compiled.validate(records, { now: NOW });
    if (issues.length) throw new Error(`dataset does not validate: ${JSON.stringify(issues[0])}`);
    batches.push(valid);
    records = [];
  };
  for (const p of points({ sensors: SENSORS, perSensor: PER_SENSOR })) {
    records.push(recordOf(p));
    if (records.length === BATCH) flush();
  }
  if (records.length) flush();
  return batches;
}

const options: Partial<DuckDbPointStoreOptions> = process.env.GROUP === '0' ? { groupBySeries: false } : {};
const batches = dataset();
const total = batches.reduce((n, b) => n + b.length, 0);
const dir = await mkdtemp(join(tmpdir(), 'bench-store-'));
const store = await DuckDbPointStore.open(join(dir, 'points.duckdb'), options);
try {
  const t = performance.now();
  const cpu = process.cpuUsage();
  for (const b of batches) await store.write(stream, b);
  const loadS = (performance.now() - t) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  const q1 = parseDataQuery(stream, QUERIES.q1, NOW);
  const q2 = parseDataQuery(stream, QUERIES.q2, NOW);
  const q3 = parseLatestQuery(stream, QUERIES.q3);
  const result = {
    groupBySeries: process.env.GROUP !== '0',
    batch: BATCH,
    points: total,
    loadPointsPerSec: Math.round(total / loadS),
    // CPU time of the process (DuckDB's threads included): steadier than wall time beside other work.
    loadCpuMs: Math.round((user + system) / 1000),
    q1_ms: await timed(() => store.query(stream, q1)),
    q2_ms: await timed(() => store.query(stream, q2)),
    q3_ms: await timed(() => store.latest(stream, q3)),
  };
  console.log(JSON.stringify(result));
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
