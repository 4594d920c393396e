// `npm run bench:bundles`: bundles every Lambda handler as the CDK stack does (NodejsFunction's esbuild
// options from infra/aws/constructs/function.ts: ESM, node22, minified, AWS SDK bundled, the same banner and
// tsconfig) and prints, per function, the bundle size and a cold-start init time: a fresh `node` with the
// functions' NODE_OPTIONS imports the bundle and reports the time from before the import until `handler` is
// exported (median of RUNS runs). A script: it asserts nothing.
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { handlerEntry, NODE_OPTIONS, REPO_ROOT, type HandlerName } from '../infra/aws/constructs/function';

const run = promisify(execFile);
const RUNS = Number(process.env.RUNS ?? 7);
const HANDLERS: HandlerName[] = ['streams', 'ingest', 'query', 'writer', 'authorizer', 'iot-authorizer', 'alerts', 'alert-actions', 'silence', 'pull', 'pull-dispatcher'];
const BANNER = "import { createRequire as __tributaryCreateRequire } from 'node:module'; const require = __tributaryCreateRequire(import.meta.url);";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// The environment a handler's module scope may read at init (config parsing); values are placeholders.
const ENV: Record<string, string> = {
  AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDBENCH', AWS_SECRET_ACCESS_KEY: 'bench', AWS_ACCOUNT_ID: '000000000000',
  TABLE_NAME: 'bench', IDEMPOTENCY_TABLE_NAME: 'bench-idempotency', AWS_PARTITION: 'aws', TIMESTREAM_DATABASE: 'bench', TIMESTREAM_TABLE: 'bench', SECRET_PREFIX: 'tributary/',
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/000000000000/bench', PULL_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/000000000000/pull',
  ALERT_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:000000000000:stateMachine:bench', ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:000000000000:bench',
  ADMIN_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:bench',
};

// The authorizer reads the admin token on its first request through Powertools Parameters, not at init; the
// endpoint is answered here, as the Secrets Manager API reference shapes the response, so that a handler that
// did read at init would still start.
async function secretsManager(): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    req.resume().on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ ARN: ENV.ADMIN_TOKEN_SECRET_ARN, Name: 'bench', SecretString: 'trb_bench-admin-token-0123456789', VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: 1.7e9 }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bundles-'));
  const sm = await secretsManager();
  ENV.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.url;
  const rows: { function: string; kib: number; initMs: number | string }[] = [];
  try {
    for (const name of HANDLERS) {
      const out = join(dir, name, 'index.mjs');
      await build({
        entryPoints: [join(REPO_ROOT, handlerEntry(name))],
        bundle: true, platform: 'node', format: 'esm', target: 'node22', mainFields: ['module', 'main'],
        banner: { js: BANNER }, minify: true, sourcemap: true, sourcesContent: false,
        tsconfig: join(REPO_ROOT, 'tsconfig.json'), outfile: out, logLevel: 'error',
      });
      const kib = (await stat(out)).size / 1024;
      const probe = join(dir, name, 'probe.mjs');
      await writeFile(probe, `const t = performance.now(); const m = await import('./index.mjs'); if (typeof m.handler !== 'function') throw new Error('no handler'); process.stdout.write(String(performance.now() - t));`);
      const times: number[] = [];
      let failure = '';
      for (let i = 0; i < RUNS && !failure; i++) {
        try {
          const { stdout } = await run(process.execPath, [...NODE_OPTIONS.split(' '), probe], { env: { PATH: process.env.PATH ?? '', ...ENV } });
          times.push(Number(stdout));
        } catch (e) {
          failure = String((e as { stderr?: string }).stderr ?? e).split('\n').find((l) => /Error/.test(l)) ?? 'failed';
        }
      }
      rows.push({ function: name, kib: Math.round(kib), initMs: failure ? `init failed: ${failure}` : +median(times).toFixed(1) });
    }
  } finally {
    sm.close();
    await rm(dir, { recursive: true, force: true });
  }
  console.table(rows);
  console.log(JSON.stringify({ runs: RUNS, node: process.version, rows }));
}

await main();
