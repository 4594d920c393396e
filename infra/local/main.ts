import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_SETTINGS, loadLocalConfig } from './config';
import { startRuntime } from './runtime';

/** `npm start`: the local runtime, configured by the settings in `LOCAL_SETTINGS` (`npm start -- --help`). */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const args = process.argv.slice(2);
if (args.includes('--version') || args.includes('-v')) {
  console.log(`tributary ${version} (node ${process.version})`);
  process.exit(0);
}
if (args.includes('--help') || args.includes('-h') || args.length > 0) {
  const unknown = args.filter((a) => !['--help', '-h'].includes(a));
  const width = Math.max(...LOCAL_SETTINGS.map((s) => s.name.length));
  const help = [
    ...(unknown.length ? [`unknown argument${unknown.length > 1 ? 's' : ''}: ${unknown.join(' ')}`, ''] : []),
    `Tributary ${version}: the local runtime (HTTP API, MQTT broker, queue, writer, alerts, pulls) on one machine.`,
    '',
    'Usage: npm start                     run it (stop with Ctrl-C)',
    '       npm start -- --help | --version',
    '',
    'Settings (environment variables):',
    ...LOCAL_SETTINGS.map((s) => `  ${s.name.padEnd(width)}  ${s.what}${s.default && !s.default.startsWith('(') && s.default !== '0' ? ` (default ${s.default})` : ''}`),
    '',
    `Health: GET /healthz answers 200 {"status":"ok"} without a token.`,
  ];
  (unknown.length ? console.error : console.log)(help.join('\n'));
  process.exit(unknown.length ? 2 : 0);
}

// The AWS SDK here only talks to dynalite on this machine; on Node 20 it would print an 8-line notice about
// SDK releases after January 2027 on every start. The lockfile pins an SDK that runs on 20, so one line
// below says what matters instead. An explicit setting of the variable is left as it is.
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 22) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// A bad setting, a busy port or a data dir another runtime holds ends the process with one line that says so.
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
const tokenFile = join(config.dataDir, 'admin-token');
const lines = [`Tributary is running (version ${version}, data in ${join(config.dataDir)})`];
if (!config.quiet) {
  lines.push(`  HTTP API  ${http}/v1  (health: ${http}/healthz)`, `  Dashboard ${http}/`, `  MQTT      mqtt://${rt.host}:${rt.mqttPort}`, '');
  if (rt.generatedAdminToken) {
    lines.push(`Admin token (shown once; kept in ${tokenFile}, mode 0600):`, `  ${rt.generatedAdminToken}`);
  } else if (rt.adminTokenSource.kind === 'setting') {
    lines.push('Admin token: the one in TRIBUTARY_ADMIN_TOKEN.');
    if (rt.removedStaleAdminTokenFile) lines.push(`  (${rt.removedStaleAdminTokenFile} held another token, which no longer opens anything: removed)`);
  } else {
    lines.push(`Admin token: in ${tokenFile}.`);
  }
  const adminRef = rt.adminTokenSource.kind === 'setting' ? '$TRIBUTARY_ADMIN_TOKEN' : `$(cat ${tokenFile})`;
  lines.push(`  ADMIN=${adminRef}`);
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
      `  curl -s '${http}/v1/streams/demo/data?granularity=raw' -H "authorization: Bearer ${adminRef}"`,
    );
  }
  if (nodeMajor < 22) lines.push('', `Node.js ${process.version}: supported here; AWS SDK releases after January 2027 will need Node.js 22 (the lockfile's SDK runs on 20).`);
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
