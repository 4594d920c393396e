// Store-level cost of the stored rollups: the `npm run bench` dataset (200 sensors x 5,000 points, time-major)
// written in batches of BATCH points (default 50,000, the runtime's writer batch) to a DuckDB store with and
// without rollups, then a redelivery of the last batch; prints ms per batch and points/s of each, and with rollups
// the time the compactor takes to recompute every pending bin afterwards (in chunks of CHUNK pending spans,
// default 2,000), as points/s of the dataset. A script.
// The dataset has one point per sensor per minute, so every point makes its own 10 s and 1 min bins: HIGHEST=minutes
// declares the stream's highestGranularity as such a stream should (no 10 s level).
//   node --import tsx bench/rollups.ts
//   HIGHEST=minutes node --import tsx bench/rollups.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { points, recordOf } from '../../shared/bench/peers/gen.mjs';
import { parseDataQuery } from '../shared/domain/query';
import { newStream, parseStreamInput } from '../shared/domain/stream-definition';
import { compileStream, type Datapoint } from '../shared/domain/validate-record';
import { DuckDbPointStore } from '../shared/local/duckdb/duckdb-point-store';
import { benchStream } from './dataset';

const SENSORS = Number(process.env.SENSORS ?? 200);
const PER_SENSOR = Number(process.env.PER_SENSOR ?? 5000);
const BATCH = Number(process.env.BATCH ?? 50_000);
const NOW = Date.parse('2026-06-01T00:00:00Z');
const stream = newStream(
  parseStreamInput({ ...benchStream('bench_rollups'), ...(process.env.HIGHEST && { highestGranularity: process.env.HIGHEST }) }),
  new Date(NOW),
  () => '',
);

function dataset(): Datapoint[][] {
  const compiled = compileStream(stream);
  const batches: Datapoint[][] = [];
  let records: Record<string, unknown>[] = [];
  const flush = () => {
    batches.push(compiled.validate(records, { now: NOW }).points);
    records = [];
  };
  for (const p of points({ sensors: SENSORS, perSensor: PER_SENSOR })) {
    records.push(recordOf(p));
    if (records.length === BATCH) flush();
  }
  if (records.length) flush();
  return batches;
}

const batches = dataset();
const total = batches.reduce((n, b) => n + b.length, 0);
const out: Record<string, unknown> = { points: total, batch: BATCH, highestGranularity: process.env.HIGHEST ?? 'none' };
for (const rollups of [false, true]) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-rollups-'));
  const store = await DuckDbPointStore.open(join(dir, 'points.duckdb'), { rollups });
  try {
    const t = performance.now();
    for (const b of batches) await store.write(stream, b);
    const ms = performance.now() - t;
    const r = performance.now();
    await store.write(stream, batches[batches.length - 1]!);
    const redeliveryMs = +(performance.now() - r).toFixed(1);
    const c = performance.now();
    const compacted = rollups ? await store.compactRollups({ maxSpans: Number(process.env.CHUNK ?? 2_000) }) : { bins: 0, pendingStreams: 0 };
    const compactMs = performance.now() - c;
    // hourly and daily mean/min/max over the whole dataset (aligned: a stored level answers), median of 10
    const queryMs: Record<string, number> = {};
    for (const granularity of ['1h', '1d']) {
      const q = parseDataQuery(stream, { start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z', granularity, downsamplers: 'mean,min,max', limit: '10000' }, NOW);
      const times: number[] = [];
      for (let i = 0; i < 12; i++) {
        const t0 = performance.now();
        await store.query(stream, q);
        if (i >= 2) times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      queryMs[granularity] = +(((times[4] ?? 0) + (times[5] ?? 0)) / 2).toFixed(2);
    }
    out[rollups ? 'withRollups' : 'without'] = {
      msPerBatch: +(ms / batches.length).toFixed(1),
      pointsPerSec: Math.round(total / (ms / 1000)),
      redeliveryMs,
      ...(rollups && { compaction: { ms: Math.round(compactMs), finestBins: compacted.bins, pointsPerSec: Math.round(total / (compactMs / 1000)) } }),
      rssMB: Math.round(process.memoryUsage().rss / 1e6),
      queryMs, source: store.sourceOf(stream, parseDataQuery(stream, { start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z', granularity: '1h' }, NOW)) };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
console.log(JSON.stringify(out));
