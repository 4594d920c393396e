// Issue 11's one-year query, Tributary's side at the store level: one series, 1 point/s over 365 days (31.5 M
// points), daily mean/min/max. The raw points go into the DuckDB store's points table by one INSERT … FROM
// range() (through the store's appender, 31.5 M JavaScript points would take longer than the query; the
// store first writes one point to create its tables), with the year's span marked pending as a write marks
// it; the store is then reopened, the query timed on the raw points (the span is pending), the compactor run
// once over the whole year, and the same query timed from the rollups. Prints JSON. A script.
//   node --import tsx bench/year.ts            (DAYS=30 for a shorter run)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseDataQuery } from '../shared/domain/query';
import { newStream, parseStreamInput } from '../shared/domain/stream-definition';
import { DuckDbPointStore } from '../shared/local/duckdb/duckdb-point-store';

const DAYS = Number(process.env.DAYS ?? 365);
const T0 = Date.parse('2025-01-01T00:00:00Z');
const END = T0 + DAYS * 86_400_000;
const stream = newStream(
  parseStreamInput({ id: 'bench_year', name: 'Bench year', type: 'iot_sensor', schema: { sensorId: { type: 'string', required: true }, temperature: { type: 'number' } }, dimensions: ['sensorId'] }),
  new Date(T0),
  () => '',
);
const q = parseDataQuery(stream, { start: new Date(T0).toISOString(), end: new Date(END).toISOString(), granularity: '1d', downsamplers: 'mean,min,max', limit: '1000' }, END);

async function median(f: () => Promise<unknown>, n: number): Promise<number> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return +times[Math.floor(n / 2)]!.toFixed(1);
}

const dir = await mkdtemp(join(tmpdir(), 'bench-year-'));
const path = join(dir, 'points.duckdb');
try {
  const first = await DuckDbPointStore.open(path);
  await first.write(stream, [{ time: T0, dimensions: { sensorId: 's1' }, values: { temperature: 20 } }]);
  await first.close();
  const t = performance.now();
  const db = await DuckDBInstance.create(path);
  const c = await db.connect();
  await c.run(`INSERT INTO "points/bench_year" ("$series", "time", "temperature")
    SELECT 0, ${T0} + i * 1000, 20 + 10 * sin(i / 86400.0 * 2 * pi()) + (hash(i) % 1000) / 1000.0 FROM range(1, ${DAYS * 86_400}) AS r(i)`);
  await c.run(`INSERT INTO "dirty/bench_year" VALUES (0, ${T0}, ${END - 1000})`);
  c.closeSync();
  db.closeSync();
  const loadMs = Math.round(performance.now() - t);
  const store = await DuckDbPointStore.open(path);
  try {
    const source = () => store.sourceOf(stream, q);
    const rawSource = source();
    const rawMs = await median(() => store.query(stream, q), 5);
    const c0 = performance.now();
    const compacted = await store.compactRollups();
    const compactMs = Math.round(performance.now() - c0);
    const rollupSource = source();
    const rollupMs = await median(() => store.query(stream, q), 20);
    const rows = await store.query(stream, q);
    console.log(
      JSON.stringify({
        points: DAYS * 86_400,
        days: rows.length,
        loadMs,
        raw: { source: rawSource, dailyMeanMinMaxMs: rawMs },
        compaction: { ms: compactMs, finestBins: compacted.bins, pointsPerSec: Math.round((DAYS * 86_400) / (compactMs / 1000)) },
        rollup: { source: rollupSource, dailyMeanMinMaxMs: rollupMs },
        rssMB: Math.round(process.memoryUsage().rss / 1e6),
      }),
    );
  } finally {
    await store.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
