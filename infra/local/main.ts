import { loadLocalConfig } from './config';
import { startRuntime } from './runtime';

/** `npm start`: the local runtime, configured by PORT, MQTT_PORT, TRIBUTARY_DATA_DIR, TRIBUTARY_ADMIN_TOKEN. */
// A bad setting or a data dir another runtime holds ends the process with one line that says so.
const fail = (err: unknown): never => {
  console.error(`Tributary could not start: ${(err as Error)?.message ?? String(err)}`);
  process.exit(1);
};
const config = (() => {
  try {
    return loadLocalConfig(process.env);
  } catch (err) {
    return fail(err);
  }
})();
const rt = await startRuntime(config).catch(fail);
const http = `http://${rt.host}:${rt.httpPort}`;
const lines = [
  `Tributary is running (data in ${config.dataDir})`,
  `  HTTP API  ${http}/v1`,
  `  MQTT      mqtt://${rt.host}:${rt.mqttPort}`,
];
if (rt.generatedAdminToken) {
  lines.push('', `Admin token (shown once; also kept in ${config.dataDir}/admin-token):`, `  ${rt.generatedAdminToken}`);
}
if (rt.demo) {
  const t = rt.demo.ingestToken;
  lines.push(
    '',
    `A demo stream '${rt.demo.streamId}' was created. Its ingest token (shown once): ${t}`,
    'Send a reading over HTTP:',
    `  curl -s -X POST ${http}/v1/streams/demo/data -H 'authorization: Bearer ${t}' -H 'content-type: application/json' -d '{"deviceId":"d1","temperature":21.5,"humidity":40}'`,
    'Or over MQTT (mosquitto_pub takes the same flags):',
    `  npx mqtt pub -h ${rt.host} -p ${rt.mqttPort} -q 1 -i d1 -u d1 -P '${t}' -t tributary/demo/data -m '{"temperature":22.1,"humidity":41}'`,
    'Read it back (admin token):',
    `  curl -s '${http}/v1/streams/demo/data?granularity=raw' -H "authorization: Bearer $(cat ${config.dataDir}/admin-token)"`,
  );
}
console.log(lines.join('\n'));

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    rt.close().then(() => process.exit(0), () => process.exit(1));
  });
}
