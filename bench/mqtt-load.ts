// MQTT QoS 1 loader: the benchmark dataset, one record per PUBLISH (as devices send), over C connections
// with a window of W unacknowledged publishes each. Prints one JSON line.
// tsx bench/mqtt-load.ts URL STREAM TOKEN [connections=8] [window=200]
import mqtt from 'mqtt';
import { points } from '../../shared/bench/peers/gen.mjs';

const [url, streamId, token, conns = '8', win = '200'] = process.argv.slice(2);
if (!url || !streamId || !token) throw new Error('usage: mqtt-load URL STREAM TOKEN [connections] [window]');
const sensors = Number(process.env.SENSORS ?? 200), perSensor = Number(process.env.PER_SENSOR ?? 5000), stepS = Number(process.env.STEP_S ?? 60);
const C = Number(conns), W = Number(win);
// pre-encode, partitioned by sensor so each connection is one group of devices
const queues: Buffer[][] = Array.from({ length: C }, () => []);
for (const p of points({ sensors, perSensor, stepS })) {
  const idx = Number(p.sensorId.slice(1)) % C;
  queues[idx]!.push(Buffer.from(JSON.stringify({ sensorId: p.sensorId, location: p.location, timestamp: new Date(p.time).toISOString(), temperature: p.temperature, humidity: p.humidity, co2: p.co2, battery: p.battery })));
}
const total = sensors * perSensor;
let failed = 0;
const t = performance.now();
await Promise.all(
  queues.map(async (q, i) => {
    const client = mqtt.connect(url, { username: `loader${i}`, clientId: `loader${i}`, password: token, reconnectPeriod: 0, protocolVersion: 4 });
    await new Promise((resolve, reject) => (client.once('connect', resolve), client.once('error', reject)));
    let next = 0;
    await new Promise<void>((resolve) => {
      let inflight = 0;
      const pump = () => {
        while (inflight < W && next < q.length) {
          inflight++;
          client.publish(`tributary/${streamId}/data`, q[next++]!, { qos: 1 }, (err) => {
            if (err) failed++;
            inflight--;
            if (next >= q.length && inflight === 0) resolve();
            else pump();
          });
        }
      };
      pump();
    });
    await client.endAsync();
  }),
);
const s = (performance.now() - t) / 1000;
console.log(JSON.stringify({ points: total, failed, seconds: +s.toFixed(3), pointsPerSec: Math.round(total / s) }));
