// The benchmark's stream and queries, shared by `bench/run.ts` (over HTTP) and `bench/store.ts` (store calls),
// so both measure the same definition and the same Q1-Q3 as the peers' harness (../shared/bench/peers).

/** The dataset's range: 200 sensors × 5,000 points a minute apart from T0 end before T_END. */
export const T0 = '2026-01-01T00:00:00Z';
export const T_END = '2026-01-05T00:00:00Z';

/**
 * The stream the dataset is written to: every field typed, with units, ranges and an enum, so each record
 * is fully validated (the peers validate nothing).
 *
 * @example
 * const stream = newStream(parseStreamInput(benchStream('bench_http')), new Date(), () => '');
 */
export const benchStream = (id: string) => ({
  id,
  name: `Bench ${id}`,
  type: 'iot_sensor',
  schema: {
    sensorId: { type: 'string', required: true },
    location: { type: 'string', enum: ['warehouse', 'office', 'production', 'lab', 'yard'] },
    temperature: { type: 'number', unit: '°C', range: { min: -50, max: 80 } },
    humidity: { type: 'number', unit: '%', range: { min: 0, max: 100 } },
    co2: { type: 'integer', unit: 'ppm', range: { min: 0, max: 10000 } },
    battery: { type: 'number', unit: '%' },
  },
  dimensions: ['sensorId', 'location'],
});

/**
 * The stream the peers' line protocol writes to: the measurement `sensors` names it, and its tags are
 * `sensor_id` and `location` (`../shared/bench/peers/gen.mjs` `lineOf`); otherwise {@link benchStream}.
 *
 * @example
 * await api(base, '/v1/streams', { body: benchLineStream });
 */
export const benchLineStream = (() => {
  const { sensorId, ...rest } = benchStream('sensors').schema;
  return { ...benchStream('sensors'), schema: { sensor_id: sensorId, ...rest }, dimensions: ['sensor_id', 'location'] };
})();

/** Q1 and Q2 as `GET /v1/streams/{id}/data` parameters; Q3 as `GET …/latest` parameters. */
export const QUERIES = {
  /** hourly mean/min/max of one sensor over the whole range */
  q1: { start: T0, end: T_END, granularity: '1h', fields: 'temperature', downsamplers: 'mean,min,max', 'dim.sensorId': 's0042' },
  /** daily mean per location over every point */
  q2: { start: T0, end: T_END, granularity: '1d', fields: 'temperature', downsamplers: 'mean', groupBy: 'location' },
  /** the latest temperature of every sensor */
  q3: { fields: 'temperature' },
} as const;
