import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { BadRequestError, StoreUnavailableError } from '../../shared/domain/errors';
import { MAX_SLIDING_ROWS } from '../../shared/domain/query-window';
import { parseDataQuery, parseLatestQuery } from '../../shared/domain/query';
import { applyPatch, newStream, parseStreamInput, parseStreamPatch, type Stream } from '../../shared/domain/stream-definition';
import { compileStream, type Datapoint } from '../../shared/domain/validate-record';
import { DuckDbPointStore } from '../../shared/local/duckdb/duckdb-point-store';
import { pointStoreContract } from './point-store.contract';
import { pointStoreRewriteContract } from './point-store-rewrite.contract';
import { pointStoreWindowsContract } from './point-store-windows.contract';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const NOW = T0 + 86_400_000;
const storeModule = pathToFileURL(fileURLToPath(new URL('../../shared/local/duckdb/duckdb-point-store.ts', import.meta.url))).href;

const dirs: string[] = [];
async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'duckdb-point-store-'));
  dirs.push(dir);
  return join(dir, 'points.duckdb');
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

pointStoreContract('DuckDbPointStore in memory', async () => {
  const store = await DuckDbPointStore.open(':memory:');
  return { store, close: () => store.close() };
});

pointStoreWindowsContract('DuckDbPointStore in memory', async () => {
  const store = await DuckDbPointStore.open(':memory:');
  return { store, close: () => store.close() };
});

pointStoreRewriteContract('DuckDbPointStore in memory', async () => {
  const store = await DuckDbPointStore.open(':memory:');
  return { store, close: () => store.close() };
});

pointStoreContract('DuckDbPointStore on a file', async () => {
  const store = await DuckDbPointStore.open(await tempFile());
  return { store, close: () => store.close() };
});

const definition = {
  id: 'sensors',
  name: 'Sensors',
  type: 'iot_sensor',
  schema: { sensorId: { type: 'string', required: true }, temperature: { type: 'number' }, co2: { type: 'integer' } },
  dimensions: ['sensorId'],
};
const sensors: Stream = newStream(parseStreamInput(definition), new Date(T0), () => 'x');

function readings(stream: Stream, from: number, count: number, sensorCount = 4): Datapoint[] {
  const records = Array.from({ length: count }, (_, i) => ({
    sensorId: `s${(from + i) % sensorCount}`,
    timestamp: T0 + Math.floor((from + i) / sensorCount) * 1000,
    temperature: (from + i) / 4,
    co2: from + i,
  }));
  const { points, issues } = compileStream(stream).validate(records, { now: NOW });
  expect(issues).toEqual([]);
  return points;
}

const all = (stream: Stream) => parseDataQuery(stream, { start: String(T0), end: String(NOW), limit: '10000' }, NOW);
const countOf = async (store: DuckDbPointStore, stream: Stream) => {
  const rows = await store.query(stream, parseDataQuery(stream, { start: String(T0), end: String(NOW), granularity: '1d', fields: 'co2', downsamplers: 'count' }, NOW));
  return rows.reduce((n, r) => n + ((r.values.co2 as { count: number }).count ?? 0), 0);
};

describe('DuckDbPointStore on a file', () => {
  it('keeps every written point across close and reopen, then still drops duplicates and adds new fields', async () => {
    const path = await tempFile();
    const first = await DuckDbPointStore.open(path);
    await first.write(sensors, readings(sensors, 0, 1000));
    const before = await first.query(sensors, all(sensors));
    await first.close();

    const second = await DuckDbPointStore.open(path);
    try {
      expect(await second.query(sensors, all(sensors))).toEqual(before);
      await second.write(sensors, readings(sensors, 500, 1000));
      expect(await countOf(second, sensors)).toBe(1500);
      const grown = applyPatch(sensors, parseStreamPatch({ schema: { note: { type: 'string' } } }), new Date(NOW));
      await second.write(grown, compileStream(grown).validate([{ sensorId: 's9', timestamp: T0, note: 'later' }], { now: NOW }).points);
      const latest = await second.latest(grown, parseLatestQuery(grown, { 'dim.sensorId': 's9', fields: 'note' }));
      expect(latest).toEqual([{ time: T0, dimensions: { sensorId: 's9' }, values: { note: 'later' } }]);
    } finally {
      await second.close();
    }
  });

  it('keeps a write that resolved when the process is killed with SIGKILL right after', async () => {
    const path = await tempFile();
    const script = `
      import { DuckDbPointStore } from ${JSON.stringify(storeModule)};
      let input = '';
      for await (const chunk of process.stdin) input += chunk;
      const { stream, points } = JSON.parse(input);
      const store = await DuckDbPointStore.open(process.env.DB);
      await store.write(stream, points);
      process.stdout.write('written\\n');
      setInterval(() => {}, 1000);
    `;
    const points = readings(sensors, 0, 3000);
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, DB: path },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdin.end(JSON.stringify({ stream: sensors, points }));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('written') && resolve());
      child.once('exit', (code) => reject(new Error(`child exited with ${code} before writing`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const store = await DuckDbPointStore.open(path);
    try {
      expect(await countOf(store, sensors)).toBe(3000);
    } finally {
      await store.close();
    }
  });

  it('appends each write grouped by series, each series in time order, and reads every series back whole', async () => {
    const path = await tempFile();
    const store = await DuckDbPointStore.open(path);
    const writes = [
      readings(sensors, 0, 6_000, 3_000), // creates s0..s2999, time-major
      readings(sensors, 6_000, 12_000, 3_000).filter((p) => Number(p.dimensions.sensorId!.slice(1)) % 3 === 0), // every third series
      [...readings(sensors, 20_000, 400, 4), ...readings(sensors, 23_000, 400, 4)], // fits one vector: kept as it came
    ];
    const co2Ranges = [[0, 6_000], [6_000, 18_000], [20_000, 24_000]] as const;
    try {
      for (const points of writes) expect((await store.write(sensors, points)).rejected).toEqual([]);
      for (const sensorId of ['s0', 's1', 's2', 's3', 's1500', 's2999']) {
        const expected = writes.flat().filter((p) => p.dimensions.sensorId === sensorId).map((p) => [p.time, p.values.co2]);
        const q = parseDataQuery(sensors, { start: String(T0), end: String(NOW), fields: 'co2', 'dim.sensorId': sensorId, limit: '10000' }, NOW);
        expect((await store.query(sensors, q)).map((r) => [r.time, r.values.co2]), sensorId).toEqual(expected);
      }
    } finally {
      await store.close();
    }

    // The physical order: each write's rows (told apart by co2) are contiguous; within them, a series' rows are
    // in time order and no further apart than one 2048-row vector (time-major, they would be a tick apart).
    const instance = await DuckDBInstance.create(path);
    try {
      const connection = await instance.connect();
      const reader = await connection.runAndReadAll('SELECT "$series", "time", "co2" FROM "points/sensors" ORDER BY rowid');
      const rows = reader.getRows().map((r) => r.map(Number) as [number, number, number]);
      expect(rows).toHaveLength(writes.reduce((n, w) => n + w.length, 0));
      let at = 0;
      for (const [w, points] of writes.entries()) {
        const stored = rows.slice(at, (at += points.length));
        const [lo, hi] = co2Ranges[w]!;
        expect(stored.every(([, , co2]) => co2 >= lo && co2 < hi), `write ${w} is contiguous`).toBe(true);
        const seen = new Map<number, { first: number; last: number; time: number }>();
        stored.forEach(([sid, time], i) => {
          const s = seen.get(sid);
          if (s && time <= s.time) throw new Error(`write ${w}: series ${sid} goes back in time at row ${i}`);
          seen.set(sid, { first: s?.first ?? i, last: i, time });
        });
        const widest = Math.max(...[...seen.values()].map((s) => s.last - s.first + 1));
        expect(widest, `write ${w}: widest span of one series`).toBeLessThanOrEqual(2_048);
      }
      connection.closeSync();
    } finally {
      instance.closeSync();
    }
  });

  it('refuses a second store on the same file in this process', async () => {
    const path = await tempFile();
    const store = await DuckDbPointStore.open(path);
    try {
      await expect(DuckDbPointStore.open(path)).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
    }
    const again = await DuckDbPointStore.open(path);
    await again.close();
  });

  it('reports a file it cannot open as StoreUnavailableError carrying the engine error', async () => {
    const error = await DuckDbPointStore.open(join(await tempFile(), 'missing-dir', 'points.duckdb')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).code).toBe('store.unavailable');
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});

describe('DuckDbPointStore', () => {
  it('refuses writes and queries after close with StoreUnavailableError', async () => {
    const store = await DuckDbPointStore.open(':memory:');
    await store.write(sensors, readings(sensors, 0, 10));
    await store.close();
    await expect(store.write(sensors, readings(sensors, 10, 10))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.query(sensors, all(sensors))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.latest(sensors, parseLatestQuery(sensors, {}))).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('lands every concurrent write whole while queries run beside them', async () => {
    const store = await DuckDbPointStore.open(':memory:', { readers: 2 });
    try {
      const batch = 500;
      const writes = Array.from({ length: 20 }, (_, i) => store.write(sensors, readings(sensors, i * batch, batch)));
      const counts = Array.from({ length: 20 }, () => countOf(store, sensors));
      const results = await Promise.all(writes);
      expect(results.every((r) => r.written === batch && r.rejected.length === 0)).toBe(true);
      // Each query sees whole batches: a count that is not a multiple of the batch would be a torn write.
      for (const n of await Promise.all(counts)) expect(n % batch).toBe(0);
      expect(await countOf(store, sensors)).toBe(20 * batch);
    } finally {
      await store.close();
    }
  });

  it('filters by dimension the same way with few matching series (listed by number) and many (joined)', async () => {
    const sited = newStream(parseStreamInput({ ...definition, id: 'sited', schema: { ...definition.schema, site: { type: 'string' } }, dimensions: ['sensorId', 'site'] }), new Date(T0), () => 'x');
    const store = await DuckDbPointStore.open(':memory:');
    try {
      // 1 200 series in two sites, 2 points each: co2 is 0..2 399
      const points = readings(sited, 0, 2_400, 1_200).map((p) => ({ ...p, dimensions: { ...p.dimensions, site: Number(p.dimensions.sensorId!.slice(1)) < 1_100 ? 'north' : 'south' } }));
      await store.write(sited, points);
      const q = (filters: Record<string, string>) =>
        parseDataQuery(sited, { start: String(T0), end: String(NOW), granularity: '1d', fields: 'co2', downsamplers: 'count,sum', ...filters }, NOW);
      const few = await store.query(sited, q({ 'dim.sensorId': 's7,s1199,nope' }));
      expect(few.map((r) => r.values.co2)).toEqual([{ count: 4, sum: 7 + 1_207 + 1_199 + 2_399 }]);
      const north = await store.query(sited, q({ 'dim.site': 'north' }));
      const sum = Array.from({ length: 1_100 }, (_, i) => i + (i + 1_200)).reduce((a, b) => a + b, 0);
      expect(north.map((r) => r.values.co2)).toEqual([{ count: 2_200, sum }]);
      expect(await store.query(sited, q({ 'dim.sensorId': 'nope' }))).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('keeps fields whose names differ only in case apart (DuckDB compares identifiers without case)', async () => {
    const stream = newStream(
      parseStreamInput({ id: 'cases', name: 'Cases', type: 'iot_sensor', schema: { Site: { type: 'string' }, temp: { type: 'number' }, Temp: { type: 'number' }, TIME: { type: 'integer' } }, dimensions: ['Site'] }),
      new Date(T0),
      () => 'x',
    );
    const store = await DuckDbPointStore.open(':memory:');
    try {
      const { points } = compileStream(stream).validate([{ Site: 'x', timestamp: T0, temp: 1, Temp: 2, TIME: 3 }], { now: NOW });
      await store.write(stream, points);
      const rows = await store.query(stream, parseDataQuery(stream, { start: String(T0), end: String(NOW) }, NOW));
      expect(rows).toEqual([{ time: T0, dimensions: { Site: 'x' }, values: { temp: 1, Temp: 2, TIME: 3 } }]);
    } finally {
      await store.close();
    }
  });

  it('bins points from before 1970 at their epoch-aligned start (flooring, not truncating)', async () => {
    const store = await DuckDbPointStore.open(':memory:');
    try {
      const times = ['1969-12-31T23:58:30Z', '1969-12-31T23:59:30Z', '1970-01-01T00:00:10Z'];
      const { points } = compileStream(sensors).validate(times.map((timestamp, i) => ({ sensorId: 's1', timestamp, co2: i })), { now: NOW });
      await store.write(sensors, points);
      const q = parseDataQuery(sensors, { start: '1969-12-31T23:00:00Z', end: '1970-01-01T01:00:00Z', granularity: '1m', fields: 'co2', downsamplers: 'sum' }, NOW);
      const rows = await store.query(sensors, q);
      expect(rows.map((r) => [r.time, r.values.co2])).toEqual([
        [-120_000, { sum: 0 }],
        [-60_000, { sum: 1 }],
        [0, { sum: 2 }],
      ]);
    } finally {
      await store.close();
    }
  });

  it('rejects, with its index and reason, a point whose value does not have its field’s type, and stores the rest', async () => {
    const store = await DuckDbPointStore.open(':memory:');
    try {
      const points: Datapoint[] = [
        { time: T0, dimensions: { sensorId: 's1' }, values: { temperature: 1 } },
        { time: T0, dimensions: { sensorId: 's2' }, values: { temperature: 'warm' } },
        { time: T0, dimensions: { sensorId: 's3' }, values: { co2: 1.5 } },
      ];
      const result = await store.write(sensors, points);
      expect(result.written).toBe(1);
      expect(result.rejected.map((r) => r.index)).toEqual([1, 2]);
      expect(result.rejected[0]!.reason).toContain('temperature');
      expect(result.rejected[1]!.reason).toContain('co2');
      expect((await store.query(sensors, all(sensors))).map((r) => r.dimensions.sensorId)).toEqual(['s1']);
    } finally {
      await store.close();
    }
  });

  it(`refuses, before aggregating, a sliding query whose points × size/step pass ${MAX_SLIDING_ROWS} rows, naming window`, async () => {
    const store = await DuckDbPointStore.open(':memory:');
    try {
      const points: Datapoint[] = Array.from({ length: 30_001 }, (_, i) => ({ time: T0 + i * 1000, dimensions: { sensorId: 's1' }, values: { temperature: i } }));
      await store.write(sensors, points);
      const q = (window: string) => parseDataQuery(sensors, { start: String(T0), end: String(NOW), window, downsamplers: 'count' }, NOW);
      const refused = await store.query(sensors, q('sliding:1000s/1s')).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(BadRequestError);
      expect((refused as BadRequestError).issues).toEqual([{ path: ['window'], message: expect.stringMatching(/^the range holds 30001 points, each in 1000 windows: more than the 30000000 rows/) }]);
      const rows = await store.query(sensors, { ...q('sliding:999s/1s'), limit: 2 });
      expect(rows.map((r) => r.values.temperature)).toEqual([{ count: 999 }, { count: 999 }]);
    } finally {
      await store.close();
    }
  });
});

describe('DuckDbPointStore.eraseStream', () => {
  it('drops one stream’s points for good (after a reopen too), leaves the others, and may be repeated', async () => {
    const file = await tempFile();
    const other: Stream = { ...sensors, id: 'other-sensors' };
    let store = await DuckDbPointStore.open(file);
    await store.write(sensors, readings(sensors, 0, 40));
    await store.write(other, readings(other, 0, 8));
    expect(await store.eraseStream(sensors.id)).toBe('erased');
    expect(await store.query(sensors, all(sensors))).toEqual([]);
    expect(await store.latest(sensors, parseLatestQuery(sensors, {}))).toEqual([]);
    expect(await store.query(other, all(other))).toHaveLength(8);
    expect(await store.eraseStream(sensors.id)).toBe('erased');
    expect(await store.eraseStream('never-written')).toBe('erased');
    await store.close();
    store = await DuckDbPointStore.open(file);
    expect(await store.query(sensors, all(sensors))).toEqual([]);
    expect(await store.query(other, all(other))).toHaveLength(8);
    await store.close();
  });
});
