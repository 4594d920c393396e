// Quiet devices: D MQTT devices (their own connections and client ids), each publishing one QoS 1 reading a
// second for S seconds, as a fleet does between bursts. Measures the runtime process's CPU time over those S
// seconds from /proc/PID/stat (user + system) and prints it as a share of one core. A script: it asserts nothing.
// tsx bench/devices.ts MQTT_URL STREAM TOKEN RUNTIME_PID [devices=100] [seconds=600]
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';

const [url, streamId, token, pid, devices = '100', seconds = '600'] = process.argv.slice(2);
if (!url || !streamId || !token || !pid) throw new Error('usage: devices MQTT_URL STREAM TOKEN RUNTIME_PID [devices] [seconds]');
const D = Number(devices);
const S = Number(seconds);
const TICKS = 100; // USER_HZ, what /proc counts in on Linux

/** The process's user + system CPU seconds so far (fields 14 and 15 of /proc/PID/stat, after the command). */
async function cpuSeconds(): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

const clients = await Promise.all(
  Array.from({ length: D }, (_, i) => mqtt.connectAsync(url, { username: `device-${i}`, clientId: `device-${i}`, password: token, reconnectPeriod: 0, protocolVersion: 4 })),
);
await new Promise((ok) => setTimeout(ok, 2000)); // connections settle before the clock starts
const cpu0 = await cpuSeconds();
const t0 = performance.now();
let sent = 0;
let failed = 0;
await Promise.all(
  clients.map(async (client, i) => {
    // spread the devices over the second, as independent clocks are
    await new Promise((ok) => setTimeout(ok, (1000 * i) / D));
    for (let k = 0; k < S; k++) {
      const due = t0 + (1000 * i) / D + k * 1000 - performance.now();
      if (due > 0) await new Promise((ok) => setTimeout(ok, due));
      const reading = { sensorId: `d${String(i).padStart(4, '0')}`, location: 'yard', timestamp: new Date().toISOString(), temperature: 20 + (k % 10) / 10, battery: 90 };
      await client.publishAsync(`tributary/${streamId}/data`, JSON.stringify(reading), { qos: 1 }).then(() => sent++, () => failed++);
    }
  }),
);
const wall = (performance.now() - t0) / 1000;
const cpu = (await cpuSeconds()) - cpu0;
await Promise.all(clients.map((c) => c.endAsync()));
console.log(JSON.stringify({ devices: D, seconds: +wall.toFixed(1), published: sent, failed, cpuSeconds: +cpu.toFixed(2), coreShare: +((cpu / wall) * 100).toFixed(3) }));
