// The peers' HTTP loader (../shared/bench/peers/load.mjs) with each body gzip-compressed before the clock
// starts, sent with `Content-Encoding: gzip`: the same points, batches and concurrency as the JSON row.
// node --import tsx bench/gzip-load.ts URL BATCH CONCURRENCY [header=value ...]; prints points/s.
import { gzipSync } from 'node:zlib';
import { batches } from '../../shared/bench/peers/gen.mjs';

const [url, size = '5000', conc = '4', ...hdrs] = process.argv.slice(2);
const headers = { ...Object.fromEntries(hdrs.map((h) => h.split(/=(.*)/s).slice(0, 2) as [string, string])), 'content-encoding': 'gzip' };
const sensors = Number(process.env.SENSORS ?? 200);
const perSensor = Number(process.env.PER_SENSOR ?? 5000);
const stepS = Number(process.env.STEP_S ?? 60);
const bodies = [...batches('json', Number(size), { sensors, perSensor, stepS })].map((b) => gzipSync(b));
const total = sensors * perSensor;
let next = 0;
let failed = 0;
let firstError = '';
const t = performance.now();
async function worker() {
  while (next < bodies.length) {
    const body = bodies[next++]!;
    const r = await fetch(url!, { method: 'POST', body, headers });
    if (r.status >= 300) {
      failed++;
      if (!firstError) firstError = `${r.status} ${(await r.text()).slice(0, 200)}`;
    } else await r.arrayBuffer();
  }
}
await Promise.all(Array.from({ length: Number(conc) }, worker));
const s = (performance.now() - t) / 1000;
const bytes = bodies.reduce((n, b) => n + b.length, 0);
console.log(JSON.stringify({ points: total, batches: bodies.length, failed, firstError, seconds: +s.toFixed(3), pointsPerSec: Math.round(total / s), gzipBytes: bytes }));
