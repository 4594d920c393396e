import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeDecide } from '../../functions/authorizer/app';
import type { HttpHandler, Logger } from '../../functions/commons/http';
import type { FunctionName } from '../../functions/commons/routes';
import { makeIngestHandler } from '../../functions/ingest/app';
import { makeDeviceCheck } from '../../functions/iot-authorizer/app';
import { makeQueryHandler } from '../../functions/query/app';
import { makeStreamsHandler } from '../../functions/streams/app';
import { makeWriter } from '../../functions/writer/app';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';
import { DuckDbPointStore } from '../../shared/local/duckdb-point-store';
import { startDynalite, ensureTable } from '../../shared/local/dynalite-server';
import { FileQueue, type FileQueueOptions } from '../../shared/local/file-queue';
import { systemClock, type Clock } from '../../shared/ports';
import { hashToken, newToken } from '../../shared/tokens';
import type { LocalConfig } from './config';
import { createLocalAlerts, type LocalAlerts, type LocalAlertsOptions } from './alerts';
import { createHttpGateway } from './http-gateway';
import { createMqttGateway } from './mqtt-gateway';
import { createLocalPulls, type LocalPulls, type LocalPullsOptions } from './pulls';

export const TABLE_NAME = 'tributary';

export interface Runtime {
  httpPort: number;
  mqttPort: number;
  host: string;
  /** Set only on the first start without TRIBUTARY_ADMIN_TOKEN: the generated token, to print once. */
  generatedAdminToken?: string;
  /** Set only on the first start: the demo stream and its ingest token, to print once. */
  demo?: { streamId: string; ingestToken: string };
  queue: FileQueue;
  /** Alert rules, actions and the silence check (see `alerts.ts`). */
  alerts: LocalAlerts;
  /** Scheduled pulls: the dispatcher tick and the pull state (see `pulls.ts`). */
  pulls: LocalPulls;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  clock?: Clock;
  log?: Logger;
  /** Create the `demo` stream on first start (default true). */
  demo?: boolean;
  queue?: Partial<Omit<FileQueueOptions, 'dir'>>;
  alerts?: LocalAlertsOptions;
  pulls?: LocalPullsOptions;
}

const quietLog: Logger = { error: (m, f) => console.error(JSON.stringify({ level: 'error', message: m, ...f })), info: () => {} };

/**
 * Starts Tributary on one machine: dynalite for DynamoDB, DuckDB for Timestream, a durable file queue for
 * SQS, aedes for IoT Core, node:http for API Gateway; the handlers are the Lambdas' own.
 *
 * @example
 * const rt = await startRuntime({ httpPort: 0, mqttPort: 0, host: '127.0.0.1', dataDir: '/tmp/t', quiet: true });
 * await rt.close();
 */
export async function startRuntime(config: LocalConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? quietLog;
  await mkdir(config.dataDir, { recursive: true });
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  };
  try {
    // the queue first: its lock file refuses a second runtime on this data dir before anything else opens it
    const queue = await FileQueue.open({
      dir: join(config.dataDir, 'queue'),
      // one writer pass per batch: gather many one-record MQTT messages, but not too many big HTTP ones
      batchSize: 10_000,
      batchRecords: 50_000,
      onError: (error, context) => log.error('queue error', { context, error: (error as Error)?.name, reason: (error as Error)?.message }),
      onDeadLetter: (letters) =>
        letters.forEach((l) => log.error('message dead-lettered', { messageId: l.id, streamId: l.envelope.streamId, receives: l.receiveCount })),
      ...options.queue,
    });
    closers.push(() => queue.close());
    const dynamo = await startDynalite({ path: join(config.dataDir, 'dynamodb') });
    closers.push(() => dynamo.close());
    await ensureTable(dynamo.client, TABLE_NAME);
    const registry = new DynamoDbRegistry({ client: dynamo.client, tableName: TABLE_NAME });
    const store = await DuckDbPointStore.open(join(config.dataDir, 'points.duckdb'));
    closers.push(() => store.close());

    const admin = await adminToken(config);
    const decide = makeDecide({ tokens: registry, adminTokenHash: hashToken(admin.token) });
    const alerts = createLocalAlerts({ client: dynamo.client, tableName: TABLE_NAME, registry, store, clock, log }, options.alerts);
    closers.push(() => alerts.close());
    const pulls = createLocalPulls({ client: dynamo.client, tableName: TABLE_NAME, registry, queue, dataDir: config.dataDir, clock, log }, options.pulls);
    closers.push(() => pulls.close());
    const handlers: Record<FunctionName, HttpHandler> = {
      streams: makeStreamsHandler({ registry, tokens: registry, clock, log, signingSecrets: alerts.store, pullState: pulls.state, scheme: 'http' }),
      ingest: makeIngestHandler({ registry, queue, clock, log }),
      query: makeQueryHandler({ registry, store, clock, log }),
      alerts: alerts.handler,
      pull: pulls.handler,
    };
    const writeBatch = makeWriter({ registry, store, clock, log, alerts: alerts.evaluator });
    queue.start(async (messages) => {
      const summary = await writeBatch(messages.map((m) => ({ id: m.id, envelope: m.envelope })));
      return { failedIds: summary.failedIds };
    });
    closers.push(() => queue.stop());

    const http = createHttpGateway({ handlers, decide });
    await listen(http, config.httpPort, config.host);
    closers.push(() => new Promise((resolve) => { http.closeAllConnections(); http.close(resolve); }));

    const mqtt = await createMqttGateway({ check: makeDeviceCheck({ tokens: registry }), registry, queue, clock });
    await listen(mqtt.server, config.mqttPort, config.host);
    closers.push(() => new Promise((resolve) => mqtt.broker.close(() => mqtt.server.close(resolve))));
    alerts.attachBroker(mqtt.broker);
    alerts.start();
    pulls.start();

    let demo: Runtime['demo'];
    if (options.demo !== false && admin.generated !== false && !(await registry.get('demo'))) {
      demo = await createDemo(registry, clock);
    }
    return {
      httpPort: (http.address() as AddressInfo).port,
      mqttPort: (mqtt.server.address() as AddressInfo).port,
      host: config.host,
      ...(admin.generated && { generatedAdminToken: admin.token }),
      ...(demo && { demo }),
      queue,
      alerts,
      pulls,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The admin token: from the setting, else from the data dir, else generated and kept there (mode 0600). */
async function adminToken(config: LocalConfig): Promise<{ token: string; generated: boolean | undefined }> {
  if (config.adminToken) return { token: config.adminToken, generated: undefined };
  const file = join(config.dataDir, 'admin-token');
  try {
    return { token: (await readFile(file, 'utf8')).trim(), generated: false };
  } catch {
    const token = newToken();
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { token, generated: true };
  }
}

async function createDemo(registry: DynamoDbRegistry, clock: Clock): Promise<Runtime['demo']> {
  const input = parseStreamInput({
    id: 'demo',
    name: 'Demo sensors',
    type: 'iot_sensor',
    schema: {
      deviceId: { type: 'string', required: true },
      temperature: { type: 'number', unit: '°C', range: { min: -50, max: 100 } },
      humidity: { type: 'number', unit: '%', range: { min: 0, max: 100 } },
    },
    dimensions: ['deviceId'],
    tags: { env: 'demo' },
  });
  const stream = newStream(input, new Date(clock.now()), () => '');
  await registry.create(stream);
  const ingestToken = newToken();
  await registry.put({ hash: hashToken(ingestToken), scopes: ['ingest:demo'], streamId: 'demo', createdAt: new Date(clock.now()).toISOString(), label: 'demo' });
  return { streamId: 'demo', ingestToken };
}

function listen(server: import('node:net').Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
