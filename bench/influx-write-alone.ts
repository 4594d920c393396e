// Times InfluxDbPointStore.write alone on an influxd 1.6 of its own (the tests' fixture): 1,000,000 points
// (200 series × 5,000, 60 s apart, in time order) in batches of BATCH (default 50,000, the local writer's
// batchRecords), with no reader polling. A script: prints figures, asserts nothing.
//   node --import tsx bench/influx-write-alone.ts
import { InfluxDbPointStore } from '../shared/aws/influxdb-point-store';
import { newStream, parseStreamInput } from '../shared/domain/stream-definition';
import type { Datapoint } from '../shared/domain/validate-record';
import { startInfluxd } from '../test/fixtures/influxd';

const BATCH = Number(process.env.BATCH ?? 50_000);
const influx = await startInfluxd();
try {
  const stream = newStream(parseStreamInput({ id: 'alone', name: 'Alone', type: 'iot_sensor', schema: { sensorId: { type: 'string' }, location: { type: 'string' }, temperature: { type: 'number' }, humidity: { type: 'number' } }, dimensions: ['sensorId', 'location'] }), new Date(0), () => 'x');
  const T0 = Date.UTC(2026, 0, 1);
  const points: Datapoint[] = [];
  for (let i = 0; i < 5000; i++) for (let s = 0; s < 200; s++) points.push({ time: T0 + i * 60_000, dimensions: { sensorId: `s${String(s).padStart(4, '0')}`, location: `l${s % 10}` }, values: { temperature: 20 + Math.sin(i + s), humidity: 50 + (i % 7) } });
  for (const ttl of [0, 10_000]) {
    const store = new InfluxDbPointStore({ url: influx.url, database: `alone_${ttl}`, newestTtlMs: ttl });
    await store.ensureDatabase();
    const t = performance.now();
    for (let i = 0; i < points.length; i += BATCH) await store.write(stream, points.slice(i, i + BATCH));
    const s = (performance.now() - t) / 1000;
    const c = performance.now();
    await store.query(stream, { start: T0, end: T0 + 5000 * 60_000, fields: ['temperature'], granularity: '1d', binMs: 86_400_000, downsamplers: ['count'], filters: {}, keyDimensions: [], groupBy: [], limit: 10_000, order: 'asc' });
    console.log(`newestTtlMs ${ttl}: ${Math.round(points.length / s).toLocaleString('en')} points/s written (${s.toFixed(1)} s), a daily count over them ${(performance.now() - c).toFixed(0)} ms`);
  }
} finally {
  await influx.stop();
}
