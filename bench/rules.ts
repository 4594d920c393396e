// The `rules` part of `npm run bench` (BENCH_PARTS=rules): HTTP JSON ingest on the local runtime (in this
// process, so that its alert lanes can be waited for) without alert rules, then on a stream with 10 window
// rules (sliding, session, windowed, anomaly and baseline), each load on a fresh stream of one runtime; then
// the cost of evaluating those 10 rules on one batch of the load (5,000 records, the request size) against the
// full dataset, timed on the writer's own evaluator over the runtime's store. Issue 12's figure is the stored
// rate with rules over the rate without, to stay >= 0.8. A script: it asserts nothing.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { batches } from '../../shared/bench/peers/gen.mjs';
import { makeAlertEvaluator } from '../functions/commons/alert-evaluator';
import { startRuntime } from '../infra/local/runtime';
import { compileStream } from '../shared/domain/validate-record';
import type { Stream } from '../shared/domain/stream-definition';
import type { PointStore } from '../shared/ports';
import { benchStream, T0 } from './dataset';

const run = promisify(execFile);

/** The 10 window rules: what issue 12's rules read per batch (windows, sessions, histories, baselines). */
export const WINDOW_RULES = [
  { name: 'warm 5m', when: 'avg(temperature) over 5m > 75' },
  { name: 'humid 10m', when: 'max(humidity) over 10m > 99.9' },
  { name: 'warm sliding', when: 'avg(temperature) over 5m sliding 1m > 75' },
  { name: 'co2 sliding', when: 'max(co2) over 15m sliding 5m > 9900' },
  { name: 'busy session', when: 'count() over session 10m > 100000' },
  { name: 'temperature zscore', when: 'zscore(temperature) over 1h > 6' },
  { name: 'humidity mad', when: 'mad(humidity) over 1h > 8' },
  { name: 'warmer than the day', when: 'avg(temperature) over 1h > 1.5 * avg(temperature) over 1d' },
  { name: 'battery low 30m', when: 'min(battery) over 30m < -1' },
  { name: 'humid hour sliding', when: 'avg(humidity) over 1h sliding 10m > 99.5' },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function rulesBench(opts: { peersDir: string; adminToken: string; sensors: number; perSensor: number; print?: (figures: object) => void }) {
  const total = opts.sensors * opts.perSensor;
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-rules-'));
  let store: PointStore | undefined;
  const errors: string[] = [];
  const rt = await startRuntime(
    { httpPort: 0, mqttPort: 0, host: '127.0.0.1', dataDir, adminToken: opts.adminToken, quiet: true },
    {
      demo: false,
      log: { error: (message, fields) => errors.push(`${message} ${JSON.stringify(fields ?? {})}`), info: () => {} },
      faults: { pointStore: (s) => (store = s) },
    },
  );
  const base = `http://127.0.0.1:${rt.httpPort}`;
  const api = async (path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${opts.adminToken}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const json = (await r.json()) as any;
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  const stored = async (id: string) => {
    const r = await api(`/v1/streams/${id}/data?start=${T0}&end=2026-02-01T00:00:00Z&granularity=1d&fields=temperature&downsamplers=count&limit=10000`);
    return r.points.reduce((n: number, p: any) => n + (p.values.temperature.count ?? 0), 0) as number;
  };
  const load = async (id: string, token: string) => {
    const { stdout } = await run(process.execPath, [join(opts.peersDir, 'load.mjs'), `${base}/v1/streams/${id}/data`, 'json', '5000', '4', 'content-type=application/json', `authorization=Bearer ${token}`], { maxBuffer: 1 << 20 });
    const l = JSON.parse(stdout.trim().split('\n').pop()!);
    const t = performance.now();
    while ((await stored(id)) < total) await new Promise((ok) => setTimeout(ok, 100));
    const storedS = l.seconds + (performance.now() - t) / 1000;
    return { accepted: l.pointsPerSec as number, failed: l.failed as number, storedPointsPerSec: Math.round(total / storedS), storedS };
  };
  try {
    const off = await api('/v1/streams', benchStream('bench_rules_off'));
    const without = await load('bench_rules_off', off.ingestToken);

    const on = await api('/v1/streams', { ...benchStream('bench_rules_on'), alerts: WINDOW_RULES });
    const t = performance.now();
    const withRules = await load('bench_rules_on', on.ingestToken);
    await rt.alerts.idle();
    const evaluatedS = (performance.now() - t) / 1000;
    const dropped = errors.filter((e) => e.startsWith('alert evaluation dropped')).length;

    // one batch's rules, timed alone: the load's batches again (stored already), through the writer's evaluator
    const stream = (await api('/v1/streams/bench_rules_on')) as Stream;
    const compiled = compileStream(stream);
    const evaluator = makeAlertEvaluator({ store: store!, alerts: rt.alerts.store, starter: { start: async () => {} }, clock: { now: () => Date.now() }, log: { error: () => {}, info: () => {} } });
    const bodies = [...batches('json', 5000, { sensors: opts.sensors, perSensor: opts.perSensor })] as string[];
    const sample = bodies.filter((_, i) => i % Math.max(1, Math.floor(bodies.length / 20)) === 0).slice(0, 20);
    const perBatchMs: number[] = [];
    for (const body of sample) {
      const { points } = compiled.validate(JSON.parse(body) as unknown[], { now: Date.now() });
      const s = performance.now();
      await evaluator.evaluate(stream, points);
      perBatchMs.push(performance.now() - s);
    }
    const batchMs = +median(perBatchMs).toFixed(1);
    // ten of those batches as one (the queue hands the writer up to 50,000 records at once under load)
    const bigMs: number[] = [];
    for (let i = 0; i + 10 <= Math.min(bodies.length, 30); i += 10) {
      const points = bodies.slice(i, i + 10).flatMap((b) => compiled.validate(JSON.parse(b) as unknown[], { now: Date.now() }).points);
      const s = performance.now();
      await evaluator.evaluate(stream, points);
      bigMs.push(performance.now() - s);
    }
    // where it goes: each rule alone on the first five of those batches
    const perRuleMs: Record<string, number> = {};
    for (const rule of stream.alerts ?? []) {
      const times: number[] = [];
      for (const body of sample.slice(0, 5)) {
        const { points } = compiled.validate(JSON.parse(body) as unknown[], { now: Date.now() });
        const s = performance.now();
        await evaluator.evaluate({ ...stream, alerts: [rule] }, points);
        times.push(performance.now() - s);
      }
      perRuleMs[rule.name] = +median(times).toFixed(1);
    }
    const batchesPerSec = withRules.storedPointsPerSec / 5000;
    // the runtime's own lanes and the queue settle before it closes (a read still running would find dynalite closed)
    await rt.alerts.idle();
    await new Promise((ok) => setTimeout(ok, 2000));
    const figures = {
      points: total,
      rules: WINDOW_RULES.length,
      without,
      withRules: { ...withRules, evaluatedPointsPerSec: Math.round(total / evaluatedS), evaluatedS: +evaluatedS.toFixed(2), droppedEvaluations: dropped },
      ratio: +(withRules.storedPointsPerSec / without.storedPointsPerSec).toFixed(3),
      ratioEvaluated: +(total / evaluatedS / without.storedPointsPerSec).toFixed(3),
      perBatch: { records: 5000, medianMs: batchMs, p90Ms: +[...perBatchMs].sort((a, b) => a - b)[Math.floor(perBatchMs.length * 0.9)]!.toFixed(1), samples: perBatchMs.length, coreShareAtIngestRate: +((batchMs / 1000) * batchesPerSec).toFixed(3) },
      perRuleMs,
      batchOf50000Ms: bigMs.map((m) => +m.toFixed(1)),
      errors: errors.filter((e) => !e.startsWith('alert evaluation dropped')).slice(0, 3),
    };
    // printed before the runtime closes, so that a failure to close loses no figure
    opts.print?.(figures);
    return figures;
  } finally {
    await rt.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
