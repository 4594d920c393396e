// Publish → queryable latency under load: background HTTP and MQTT load at a fixed rate (by default about 10 %
// of the local runtime's peak), and meanwhile probes, one at a time, each a record of its own series sent over
// HTTP or MQTT QoS 1 and then looked for with `GET …/latest` every millisecond until the query answers it.
// Prints one JSON line with p50/p99 per path. A script: it asserts nothing.
// tsx bench/latency.ts BASE MQTT_URL STREAM INGEST_TOKEN READ_TOKEN
import mqtt from 'mqtt';
import { batches, points, recordOf } from '../../shared/bench/peers/gen.mjs';

const [base, mqttUrl, streamId, ingestToken, readToken] = process.argv.slice(2);
if (!base || !mqttUrl || !streamId || !ingestToken || !readToken) throw new Error('usage: latency BASE MQTT_URL STREAM INGEST_TOKEN READ_TOKEN');
const HTTP_RATE = Number(process.env.LATENCY_HTTP_RATE ?? 27_000); // points/s in batches of 1,000
const MQTT_RATE = Number(process.env.LATENCY_MQTT_RATE ?? 6_000); // publishes/s, one record each
const PROBES = Number(process.env.LATENCY_PROBES ?? 200); // per path
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const summary = (xs: number[]) => ({ probes: xs.length, p50_ms: +quantile(xs, 0.5).toFixed(1), p99_ms: +quantile(xs, 0.99).toFixed(1), max_ms: +Math.max(...xs).toFixed(1) });

let stop = false;

/** HTTP background load: a 1,000-record batch every 1000 / (rate / 1000) ms, paced by the clock. */
async function httpLoad(): Promise<number> {
  const bodies = batches('json', 1000, { sensors: 200, perSensor: 5000 });
  const every = 1000 / (HTTP_RATE / 1000);
  const t0 = performance.now();
  let sent = 0;
  const inflight = new Set<Promise<unknown>>();
  for (const body of bodies) {
    if (stop) break;
    const due = t0 + sent * every - performance.now();
    if (due > 0) await sleep(due);
    if (inflight.size >= 8) await Promise.race(inflight); // on schedule, up to 8 requests in flight
    const request = fetch(`${base}/v1/streams/${streamId}/data`, { method: 'POST', headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' }, body: body as string }).then((r) => r.arrayBuffer());
    inflight.add(request);
    void request.finally(() => inflight.delete(request));
    sent++;
  }
  await Promise.all(inflight);
  return Math.round((sent * 1000) / ((performance.now() - t0) / 1000));
}

/** MQTT background load: QoS 1 publishes at `MQTT_RATE` a second over 4 connections, paced every 10 ms. */
async function mqttLoad(): Promise<number> {
  const clients = await Promise.all([0, 1, 2, 3].map((i) => mqtt.connectAsync(mqttUrl!, { username: `lat-load${i}`, clientId: `lat-load${i}`, password: ingestToken, reconnectPeriod: 0, protocolVersion: 4 })));
  const source = points({ sensors: 200, perSensor: 5000, seed: 7 });
  const t0 = performance.now();
  let sent = 0;
  const acks: Promise<unknown>[] = [];
  while (!stop) {
    const due = Math.floor(((performance.now() - t0) / 1000) * MQTT_RATE);
    for (; sent < due; sent++) {
      const p = source.next().value;
      if (!p) break;
      acks.push(clients[sent % clients.length]!.publishAsync(`tributary/${streamId}/data`, JSON.stringify(recordOf(p)), { qos: 1 }));
    }
    if (acks.length > 5000) await Promise.all(acks.splice(0));
    await sleep(10);
  }
  await Promise.all(acks);
  await Promise.all(clients.map((c) => c.endAsync()));
  return Math.round(sent / ((performance.now() - t0) / 1000));
}

/** Sends a probe with `send`, then reads `latest` of its series every millisecond until it shows. */
async function probe(series: string, send: (record: object) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let seq = 1; seq <= PROBES; seq++) {
    const record = { sensorId: series, location: 'lab', timestamp: new Date().toISOString(), battery: seq };
    const t = performance.now();
    await send(record);
    for (;;) {
      const r = await fetch(`${base}/v1/streams/${streamId}/latest?fields=battery&dim.sensorId=${series}`, { headers: { authorization: `Bearer ${readToken}` } });
      const body = (await r.json()) as { points: { values: { battery?: number } }[] };
      if (body.points[0]?.values.battery === seq) break;
      if (performance.now() - t > 10_000) throw new Error(`probe ${series} ${seq} not queryable after 10 s`);
      await sleep(1);
    }
    out.push(performance.now() - t);
    await sleep(20);
  }
  return out;
}

const probeClient = await mqtt.connectAsync(mqttUrl, { username: 'lat-probe', clientId: 'lat-probe', password: ingestToken, reconnectPeriod: 0, protocolVersion: 4 });
const loads = Promise.all([httpLoad(), mqttLoad()]);
await sleep(2000); // the load reaches its rate first
const [httpMs, mqttMs] = await Promise.all([
  probe('probe-http', async (record) => {
    const r = await fetch(`${base}/v1/streams/${streamId}/data`, { method: 'POST', headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' }, body: JSON.stringify([record]) });
    if (r.status !== 202) throw new Error(`probe POST answered ${r.status}: ${await r.text()}`);
  }),
  probe('probe-mqtt', async (record) => {
    await probeClient.publishAsync(`tributary/${streamId}/data`, JSON.stringify(record), { qos: 1 });
  }),
]);
stop = true;
const [httpRate, mqttRate] = await loads;
await probeClient.endAsync();
console.log(JSON.stringify({ load: { httpPointsPerSec: httpRate, mqttPublishesPerSec: mqttRate }, http: summary(httpMs), mqtt: summary(mqttMs) }));
