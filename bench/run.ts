// `npm run bench`: prints (a) the per-record cost of validate + normalize + build Timestream records next
// to JSON.parse of the same bytes, (b) local end-to-end ingest over HTTP and MQTT QoS 1, (c) Q1-Q3 on the
// local runtime; and, unless BENCH_PEERS=0, InfluxDB and VictoriaMetrics measured by the shared harness in
// the same run. A script: it asserts nothing.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { batches } from '../../shared/bench/peers/gen.mjs';
import { timestreamChunks } from '../shared/aws/timestream-point-store';
import { newStream, parseStreamInput } from '../shared/domain/stream-definition';
import { compileStream } from '../shared/domain/validate-record';
import { benchLineStream, benchStream, QUERIES, T0 } from './dataset';
import { liveBench } from './live';
import { startInfluxd } from '../test/fixtures/influxd';
import { rulesBench } from './rules';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const peersDir = process.env.PEERS_DIR ?? resolve(repo, '../shared/bench/peers');
const ADMIN = 'trb_bench-admin-token-0123456789';
const SENSORS = Number(process.env.SENSORS ?? 200);
const PER_SENSOR = Number(process.env.PER_SENSOR ?? 5000);
const TOTAL = SENSORS * PER_SENSOR;


const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function microbench() {
  const stream = newStream(parseStreamInput(benchStream('micro')), new Date(), () => '');
  const compiled = compileStream(stream);
  const text = batches('json', 10_000, { sensors: SENSORS, perSensor: 50 }).next().value as string;
  const now = Date.parse('2026-06-01T00:00:00Z');
  const parseMs: number[] = [];
  const pipelineMs: number[] = [];
  let sink = 0;
  for (let i = 0; i < 40; i++) {
    let t = performance.now();
    const records = JSON.parse(text) as unknown[];
    parseMs.push(performance.now() - t);
    t = performance.now();
    const { points } = compiled.validate(records, { now });
    // as TimestreamPointStore.write builds them: 100 records per WriteRecords call, each chunk when it is sent
    for (const chunk of timestreamChunks(stream, points, [])) sink += chunk.records.length;
    pipelineMs.push(performance.now() - t);
  }
  const parse = median(parseMs.slice(5)) * 1e6 / 10_000;
  const pipeline = median(pipelineMs.slice(5)) * 1e6 / 10_000;
  return { records: 10_000, bytes: text.length, jsonParseNsPerRecord: Math.round(parse), pipelineNsPerRecord: Math.round(pipeline), ratio: +(pipeline / parse).toFixed(2), sink };
}

async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

async function startRuntime(env: Record<string, string>): Promise<ChildProcess> {
  // BENCH_CPU_PROF=<dir>: the runtime writes a V8 CPU profile there when it exits (bench/profile-summary.ts reads it)
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, ['--max-semi-space-size=32', ...prof, '--import', 'tsx', join(repo, 'infra/local/main.ts')], { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('Tributary is running')) ok();
    });
    child.once('exit', (code) => fail(new Error(`runtime exited ${code}: ${out}`)));
  });
  return child;
}

async function api(base: string, path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  const r = await fetch(`${base}${path}`, {
    method: init.method ?? (init.body ? 'POST' : 'GET'),
    headers: { authorization: `Bearer ${init.token ?? ADMIN}`, 'content-type': 'application/json' },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  const body = (await r.json()) as any;
  if (r.status >= 300) throw new Error(`${path}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

async function storedCount(base: string, id: string): Promise<number> {
  const r = await api(base, `/v1/streams/${id}/data?start=${T0}&end=2026-02-01T00:00:00Z&granularity=1d&fields=temperature&downsamplers=count&limit=10000`);
  return r.points.reduce((n: number, p: any) => n + (p.values.temperature.count ?? 0), 0);
}

async function waitStored(base: string, id: string): Promise<number> {
  const t = performance.now();
  for (;;) {
    if ((await storedCount(base, id)) >= TOTAL) return (performance.now() - t) / 1000;
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/** Seconds until every query answers `source: "rollup"` (at most BENCH_ROLLUP_WAIT_S, default 600; none with TRIBUTARY_ROLLUPS=0). */
async function waitSource(base: string, queries: Record<string, string>[], store: Store): Promise<number> {
  const t = performance.now();
  // the InfluxDB store keeps no rollups locally: its queries always read raw points
  const limit = process.env.TRIBUTARY_ROLLUPS === '0' || store === 'influxdb' ? 0 : Number(process.env.BENCH_ROLLUP_WAIT_S ?? 600) * 1000;
  for (;;) {
    const sources = await Promise.all(queries.map(async (q) => (await api(base, `/v1/streams/bench_http/data?${new URLSearchParams(q)}`)).source));
    if (sources.every((s) => s === 'rollup') || performance.now() - t > limit) return +((performance.now() - t) / 1000).toFixed(1);
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

async function timeQuery(base: string, path: string): Promise<number> {
  const url = `${base}${path}`;
  const curl = async () => {
    const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{time_total}', '-H', `authorization: Bearer ${ADMIN}`, url]);
    return Number(stdout) * 1000;
  };
  for (let i = 0; i < 2; i++) await curl();
  const times: number[] = [];
  for (let i = 0; i < 20; i++) times.push(await curl());
  return +median(times).toFixed(2);
}

/** Where a runtime keeps its points: DuckDB (the default) or an influxd of its own (`TRIBUTARY_STORE=influxdb`). */
type Store = 'duckdb' | 'influxdb';

/**
 * Runs `use` against a runtime of its own (fresh data dir, free ports), stopped and removed afterwards; with
 * `influxdb`, its points go to an influxd 1.6 started for it (the tests' fixture) and stopped after.
 */
async function withRuntime<T>(use: (rt: { base: string; mqttPort: number; child: ChildProcess }) => Promise<T>, store: Store = 'duckdb'): Promise<T> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-'));
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const influx = store === 'influxdb' ? await startInfluxd() : undefined;
  const storeEnv: Record<string, string> = influx ? { TRIBUTARY_STORE: 'influxdb', TRIBUTARY_INFLUX_URL: influx.url, TRIBUTARY_INFLUX_DATABASE: 'bench' } : { TRIBUTARY_STORE: 'duckdb' };
  try {
    const child = await startRuntime({ PORT: String(httpPort), MQTT_PORT: String(mqttPort), TRIBUTARY_DATA_DIR: dataDir, TRIBUTARY_ADMIN_TOKEN: ADMIN, ...storeEnv });
    try {
      return await use({ base, mqttPort, child });
    } finally {
      child.kill('SIGTERM');
      await new Promise((ok) => child.once('exit', ok));
    }
  } finally {
    await influx?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The stores the local figures run on: DuckDB, and InfluxDB beside it when `TRIBUTARY_STORE=influxdb`. */
const stores: Store[] = process.env.TRIBUTARY_STORE === 'influxdb' ? ['duckdb', 'influxdb'] : ['duckdb'];

async function local(store: Store = 'duckdb') {
  return withRuntime(async ({ base, mqttPort, child }) => {
    const http = await api(base, '/v1/streams', { body: benchStream('bench_http') });
    const { stdout } = await run(process.execPath, [join(peersDir, 'load.mjs'), `${base}/v1/streams/bench_http/data`, 'json', '5000', '4', 'content-type=application/json', `authorization=Bearer ${http.ingestToken}`], { maxBuffer: 1 << 20 });
    const load = JSON.parse(stdout.trim().split('\n').pop()!);
    const drain = await waitStored(base, 'bench_http');
    const httpIngest = { accepted: load.pointsPerSec, failed: load.failed, firstError: load.firstError, storedPointsPerSec: Math.round(TOTAL / (load.seconds + drain)), seconds: +(load.seconds + drain).toFixed(2) };
    const lineIngest = await lineProtocolIngest(base);
    const gzipIngest = await gzipJsonIngest(base);
    if (!parts.has('local')) return { httpIngest, lineIngest, gzipIngest, peakRssMb: await peakRss(child) };

    // Q1 and Q2 tile stored levels (hours, days): timed once the rollup compactor has caught up, so they read the rollups
    const rollupWaitS = await waitSource(base, [QUERIES.q1, QUERIES.q2], store);
    const queries = {
      rollupWaitS,
      q1_source: (await api(base, `/v1/streams/bench_http/data?${new URLSearchParams(QUERIES.q1)}`)).source,
      q2_source: (await api(base, `/v1/streams/bench_http/data?${new URLSearchParams(QUERIES.q2)}`)).source,
      q1_ms: await timeQuery(base, `/v1/streams/bench_http/data?${new URLSearchParams(QUERIES.q1)}`),
      q2_ms: await timeQuery(base, `/v1/streams/bench_http/data?${new URLSearchParams(QUERIES.q2)}`),
      q3_ms: await timeQuery(base, `/v1/streams/bench_http/latest?${new URLSearchParams(QUERIES.q3)}`),
    };

    const mq = await api(base, '/v1/streams', { body: benchStream('bench_mqtt') });
    const m = await run(process.execPath, ['--import', 'tsx', join(repo, 'bench/mqtt-load.ts'), `mqtt://127.0.0.1:${mqttPort}`, 'bench_mqtt', mq.ingestToken], { cwd: repo, maxBuffer: 1 << 20 });
    const mload = JSON.parse(m.stdout.trim().split('\n').pop()!);
    const mdrain = await waitStored(base, 'bench_mqtt');
    const mqttIngest = { acked: mload.pointsPerSec, failed: mload.failed, storedPointsPerSec: Math.round(TOTAL / (mload.seconds + mdrain)), seconds: +(mload.seconds + mdrain).toFixed(2) };
    return { httpIngest, lineIngest, gzipIngest, mqttIngest, queries, peakRssMb: await peakRss(child) };
  }, store);
}

/** The same points as the peers' own format: line protocol (precision s) on `/api/v2/write`, 5,000 lines a request. */
async function lineProtocolIngest(base: string) {
  const stream = await api(base, '/v1/streams', { body: benchLineStream });
  const url = `${base}/api/v2/write?bucket=bench&org=bench&precision=s`;
  const { stdout } = await run(process.execPath, [join(peersDir, 'load.mjs'), url, 'line', '5000', '4', 'content-type=text/plain; charset=utf-8', `authorization=Token ${stream.ingestToken}`], { maxBuffer: 1 << 20 });
  const load = JSON.parse(stdout.trim().split('\n').pop()!);
  const drain = await waitStored(base, benchLineStream.id);
  return { accepted: load.pointsPerSec, failed: load.failed, firstError: load.firstError, storedPointsPerSec: Math.round(TOTAL / (load.seconds + drain)), seconds: +(load.seconds + drain).toFixed(2) };
}

/** The JSON row's points and batches, each body gzip-compressed (`Content-Encoding: gzip`), on its own stream. */
async function gzipJsonIngest(base: string) {
  const stream = await api(base, '/v1/streams', { body: benchStream('bench_gzip') });
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(repo, 'bench/gzip-load.ts'), `${base}/v1/streams/bench_gzip/data`, '5000', '4', 'content-type=application/json', `authorization=Bearer ${stream.ingestToken}`], { cwd: repo, maxBuffer: 1 << 20 });
  const load = JSON.parse(stdout.trim().split('\n').pop()!);
  const drain = await waitStored(base, 'bench_gzip');
  return { accepted: load.pointsPerSec, failed: load.failed, firstError: load.firstError, storedPointsPerSec: Math.round(TOTAL / (load.seconds + drain)), seconds: +(load.seconds + drain).toFixed(2), gzipBytes: load.gzipBytes };
}

async function peakRss(child: ChildProcess): Promise<number> {
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

async function peers() {
  if (process.env.BENCH_PEERS === '0' || !existsSync(join(peersDir, 'run-peers.sh'))) return [];
  const { stdout } = await run('bash', [join(peersDir, 'run-peers.sh')], { maxBuffer: 1 << 22, timeout: 30 * 60_000 });
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

/**
 * (d) on a runtime of its own: publish → queryable latency p50/p99 over HTTP and MQTT under background load
 * at about 10 % of the peak rates (`bench/latency.ts`); with `devices` in BENCH_PARTS also the CPU share of
 * 100 quiet devices sending one reading a second each (`bench/devices.ts`, BENCH_DEVICES_S seconds, 600 by default).
 */
async function latencyAndDevices() {
  return withRuntime(async ({ base, mqttPort, child }) => {
    const out: Record<string, unknown> = {};
    if (parts.has('latency')) {
      const s = await api(base, '/v1/streams', { body: benchStream('bench_latency') });
      const { stdout } = await run(process.execPath, ['--import', 'tsx', join(repo, 'bench/latency.ts'), base, `mqtt://127.0.0.1:${mqttPort}`, 'bench_latency', s.ingestToken, ADMIN], { cwd: repo, maxBuffer: 1 << 20 });
      out.latency = JSON.parse(stdout.trim().split('\n').pop()!);
    }
    if (parts.has('devices')) {
      const s = await api(base, '/v1/streams', { body: benchStream('bench_devices') });
      const { stdout } = await run(process.execPath, ['--import', 'tsx', join(repo, 'bench/devices.ts'), `mqtt://127.0.0.1:${mqttPort}`, 'bench_devices', s.ingestToken, String(child.pid), '100', process.env.BENCH_DEVICES_S ?? '600'], { cwd: repo, maxBuffer: 1 << 20 });
      out.devices = JSON.parse(stdout.trim().split('\n').pop()!);
    }
    return out as { latency?: any; devices?: any };
  });
}

/** BENCH_PARTS=live: ingest with no live subscriber, one that never reads, and that one beside a reader (bench/live.ts). */
async function live() {
  return withRuntime(async ({ base }) => {
    const tokens = new Map<string, string>();
    return liveBench({
      base,
      adminToken: ADMIN,
      createStream: async (id) => void tokens.set(id, (await api(base, '/v1/streams', { body: benchStream(id) })).ingestToken),
      load: async (id) => {
        const { stdout } = await run(process.execPath, [join(peersDir, 'load.mjs'), `${base}/v1/streams/${id}/data`, 'json', '5000', '4', 'content-type=application/json', `authorization=Bearer ${tokens.get(id)}`], { maxBuffer: 1 << 20 });
        const load = JSON.parse(stdout.trim().split('\n').pop()!);
        const drain = await waitStored(base, id);
        return { accepted: load.pointsPerSec, failed: load.failed, storedPointsPerSec: Math.round(TOTAL / (load.seconds + drain)) };
      },
    });
  });
}

// BENCH_PARTS=a runs only the micro-benchmark; BENCH_PARTS=b only the HTTP ingest of figure (b) (and its
// peak RSS); BENCH_PARTS=latency only (d)'s latency, BENCH_PARTS=devices only its quiet devices (10 minutes);
// BENCH_PARTS=rules ingest with and without 10 window rules and their cost per batch (bench/rules.ts);
// the default runs a, the local figures, (d)'s latency and the peers.
const parts = new Set((process.env.BENCH_PARTS ?? 'a,local,latency,peers').split(','));
if (parts.has('latency') || parts.has('devices')) {
  const d = await latencyAndDevices();
  console.log(JSON.stringify({ figure: 'd', ...d }));
  if (d.latency) console.log(`(d) publish → queryable under ${d.latency.load.httpPointsPerSec.toLocaleString('en')} HTTP points/s + ${d.latency.load.mqttPublishesPerSec.toLocaleString('en')} MQTT publishes/s: HTTP p50 ${d.latency.http.p50_ms} ms, p99 ${d.latency.http.p99_ms} ms; MQTT p50 ${d.latency.mqtt.p50_ms} ms, p99 ${d.latency.mqtt.p99_ms} ms (target p99 < 50 ms)`);
  if (d.devices) console.log(`(d) ${d.devices.devices} devices × 1 reading/s for ${d.devices.seconds} s: ${d.devices.cpuSeconds} CPU s = ${d.devices.coreShare} % of one core (target < 1 %)`);
}
if (parts.has('a')) {
  const micro = microbench();
  console.log(JSON.stringify({ figure: 'a', ...micro }));
  console.log(`(a) validate + normalize + Timestream records: ${micro.pipelineNsPerRecord} ns/record vs JSON.parse ${micro.jsonParseNsPerRecord} ns/record: ${micro.ratio}x (target <= 3x)`);
}
if (parts.has('b') && !parts.has('local')) {
  for (const store of stores) {
    const { httpIngest, lineIngest, gzipIngest, peakRssMb } = await local(store);
    console.log(JSON.stringify({ figure: 'b', store, http: httpIngest, line: lineIngest, gzip: gzipIngest, peakRssMb }));
    console.log(`(b, ${store}) HTTP stored ${httpIngest.storedPointsPerSec.toLocaleString('en')} points/s (accepted ${httpIngest.accepted.toLocaleString('en')}/s), line protocol stored ${lineIngest.storedPointsPerSec.toLocaleString('en')} points/s (accepted ${lineIngest.accepted.toLocaleString('en')}/s), gzip JSON stored ${gzipIngest.storedPointsPerSec.toLocaleString('en')} points/s, peak RSS ${peakRssMb} MB (the runtime's; influxd's own is not counted)`);
  }
  process.exit(0);
}
if (parts.has('live')) {
  const l = await live();
  console.log(JSON.stringify({ figure: 'live', ...l }));
  console.log(`(live) HTTP stored ${l.alone.storedPointsPerSec.toLocaleString('en')} points/s alone, ${l.withStuck.storedPointsPerSec.toLocaleString('en')} with a subscriber that never reads (${l.ratioStuck}x; target >= 0.95), ${l.withStuckAndReader.storedPointsPerSec.toLocaleString('en')} with it and a reader (${l.ratioStuckAndReader}x)`);
}
if (parts.has('rules')) {
  const r = await rulesBench({ peersDir, adminToken: ADMIN, sensors: SENSORS, perSensor: PER_SENSOR, print: (figures) => console.log(JSON.stringify({ figure: 'rules', ...figures })) });
  console.log(`(rules) HTTP stored ${r.without.storedPointsPerSec.toLocaleString('en')} points/s without rules, ${r.withRules.storedPointsPerSec.toLocaleString('en')} with ${r.rules} window rules (${r.ratio}x; target >= 0.8), ${r.withRules.evaluatedPointsPerSec.toLocaleString('en')} stored and evaluated (${r.ratioEvaluated}x, ${r.withRules.droppedEvaluations} evaluations dropped); the ${r.rules} rules on one batch of ${r.perBatch.records} records: median ${r.perBatch.medianMs} ms, p90 ${r.perBatch.p90Ms} ms, ${r.perBatch.coreShareAtIngestRate} of a core at the stored rate`);
}
if (!parts.has('local')) process.exit(0);
type LocalFigures = Required<Awaited<ReturnType<typeof local>>>;
const byStore = new Map<Store, LocalFigures>();
for (const store of stores) {
  const figures = (await local(store)) as LocalFigures;
  byStore.set(store, figures);
  console.log(JSON.stringify({ figure: 'b', store, http: figures.httpIngest, line: figures.lineIngest, gzip: figures.gzipIngest, mqtt: figures.mqttIngest }));
  console.log(JSON.stringify({ figure: 'c', store, ...figures.queries, peakRssMb: figures.peakRssMb }));
}
const tributary = byStore.get('duckdb')!;
const others = parts.has('peers') ? await peers() : [];
for (const p of others) console.log(JSON.stringify({ figure: 'peer', ...p }));

const influx = others.find((p: any) => String(p.peer).startsWith('influxdb'));
const vs = (ours: number, theirs: number | undefined, higherIsBetter: boolean) =>
  theirs ? ` (${(higherIsBetter ? ours / theirs : theirs / ours).toFixed(2)}x InfluxDB)` : '';
const rows = [
  `| system | ingest points/s | Q1 ms | Q2 ms | Q3 ms | peak RSS MB |`,
  `|---|---|---|---|---|---|`,
  ...[...byStore].flatMap(([store, t]) => {
    const on = store === 'duckdb' ? 'Tributary local' : 'Tributary local on InfluxDB 1.6 (TRIBUTARY_STORE=influxdb)';
    return [
      `| ${on}, HTTP JSON (stored) | ${t.httpIngest.storedPointsPerSec.toLocaleString('en')} | ${t.queries.q1_ms} | ${t.queries.q2_ms} | ${t.queries.q3_ms} | ${t.peakRssMb} |`,
      `| ${on}, HTTP line protocol /api/v2/write (stored) | ${t.lineIngest.storedPointsPerSec.toLocaleString('en')} | | | | |`,
      `| ${on}, HTTP JSON gzip (stored) | ${t.gzipIngest.storedPointsPerSec.toLocaleString('en')} | | | | |`,
      `| ${on}, MQTT QoS 1 (stored) | ${t.mqttIngest.storedPointsPerSec.toLocaleString('en')} | | | | |`,
    ];
  }),
  ...others.map((p: any) => `| ${p.peer} | ${Number(p.ingest?.pointsPerSec).toLocaleString('en')} | ${p.q1_ms} | ${p.q2_ms} | ${p.q3_ms} | ${Math.round(p.peak_rss_kb / 1024)} |`),
];
const i = influx as any;
console.log(`(b) HTTP stored ${tributary.httpIngest.storedPointsPerSec.toLocaleString('en')} points/s${vs(tributary.httpIngest.storedPointsPerSec, i?.ingest?.pointsPerSec, true)} (accepted ${tributary.httpIngest.accepted.toLocaleString('en')}/s); line protocol stored ${tributary.lineIngest.storedPointsPerSec.toLocaleString('en')} points/s${vs(tributary.lineIngest.storedPointsPerSec, i?.ingest?.pointsPerSec, true)}; gzip JSON stored ${tributary.gzipIngest.storedPointsPerSec.toLocaleString('en')} points/s${vs(tributary.gzipIngest.storedPointsPerSec, i?.ingest?.pointsPerSec, true)}; MQTT QoS 1 stored ${tributary.mqttIngest.storedPointsPerSec.toLocaleString('en')} points/s (acked ${tributary.mqttIngest.acked.toLocaleString('en')}/s)`);
console.log(`(c) Q1 ${tributary.queries.q1_ms} ms${vs(tributary.queries.q1_ms, i?.q1_ms, false)}, Q2 ${tributary.queries.q2_ms} ms${vs(tributary.queries.q2_ms, i?.q2_ms, false)}, Q3 ${tributary.queries.q3_ms} ms${vs(tributary.queries.q3_ms, i?.q3_ms, false)}`);
console.log(`\n${rows.join('\n')}`);
