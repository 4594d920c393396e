import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { makeDecide } from '../../functions/authorizer/app';
import { jsonLogger, type HttpHandler, type Logger } from '../../functions/commons/http';
import type { FunctionName } from '../../functions/commons/routes';
import { makeIngestHandler } from '../../functions/ingest/app';
import { makeDeviceCheck } from '../../functions/iot-authorizer/app';
import { makeQueryHandler } from '../../functions/query/app';
import { makeStreamsHandler } from '../../functions/streams/app';
import { makeWriter } from '../../functions/writer/app';
import { makeDeriver } from '../../functions/writer/derive';
import { DynamoDbEventStore, eventsTableDefinition } from '../../shared/aws/dynamodb-event-store';
import { DynamoDbReceiptLedger } from '../../shared/aws/receipt-ledger';
import { FileReceiptSigner } from '../../shared/local/receipt-key-file';
import { S3EventArchive } from '../../shared/aws/s3-event-archive';
import { EXPORTS_PREFIX, S3ExportStore } from '../../shared/aws/s3-export-store';
import { S3PartStore } from '../../shared/aws/s3-part-store';
import { S3UploadStore, UPLOADS_PREFIX } from '../../shared/aws/s3-upload-store';
import { sweepUploads } from '../../shared/aws/s3-upload-sweep';
import { TieredEventSink } from '../../shared/aws/tiered-event-sink';
import { TieredEventSource } from '../../shared/aws/tiered-event-source';
import { loadDashboardSite } from './dashboard-site';
import { startLocalS3 } from './local-s3';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { DynamoDbDeviceClaims } from '../../shared/aws/dynamodb-device-claims';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';
import { startDynalite, ensureTable } from '../../shared/local/dynalite-server';
import { FileSecretSource } from '../../shared/local/file-secret-source';
import { FileQueue } from '../../shared/local/file-queue/file-queue';
import type { FileQueueOptions } from '../../shared/local/file-queue/types';
import { systemClock, type Clock, type PointStore } from '../../shared/ports';
import { hashToken, newToken } from '../../shared/tokens';
import type { LocalConfig } from './config';
import { createLocalAlerts, type LocalAlerts, type LocalAlertsOptions } from './alerts';
import { createHttpGateway } from './http-gateway';
import { createLiveGateway, type LiveGateway, type LiveGatewayOptions } from './live-gateway';
import { DynamoDbLiveTickets } from '../../shared/aws/dynamodb-live-tickets';
import { startLocalIdempotency } from './idempotency';
import { startMqttBridges } from './mqtt-bridge';
import { createMqttGateway } from './mqtt-gateway';
import { patient } from './patient';
import { openLocalPointStore } from './point-store';
import { createLocalPulls, type LocalPulls, type LocalPullsOptions } from './pulls';

export const TABLE_NAME = 'tributary';
/** Event streams' events, whole: a table of their own (hot) and a bucket (cold), as in AWS. */
export const EVENTS_TABLE_NAME = 'tributary-events';
export const EVENTS_BUCKET = 'tributary-events';
/** How often the local runtime sweeps stale uploads (S3 applies lifecycle rules about daily; hourly keeps a disk smaller). */
export const UPLOAD_SWEEP_MS = 3_600_000;

export interface Runtime {
  httpPort: number;
  mqttPort: number;
  host: string;
  /** Set only on the first start without TRIBUTARY_ADMIN_TOKEN: the generated token, to print once. */
  generatedAdminToken?: string;
  /** Where the admin token in force comes from: the setting, or the file in the data dir. */
  adminTokenSource: { kind: 'setting' } | { kind: 'file'; path: string };
  /** Set when TRIBUTARY_ADMIN_TOKEN is in force and a data dir file held another token: that file was removed. */
  removedStaleAdminTokenFile?: string;
  /** Set only on the first start: the demo stream and its ingest token, to print once. */
  demo?: { streamId: string; ingestToken: string };
  queue: FileQueue;
  /** Alert rules, actions and the silence check (see `alerts.ts`). */
  alerts: LocalAlerts;
  /** Scheduled pulls: the dispatcher tick and the pull state (see `pulls.ts`). */
  pulls: LocalPulls;
  /** Live subscriptions: the WebSockets and SSE responses of `GET /v1/streams/{id}/live` (see `live-gateway.ts`). */
  live: LiveGateway;
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
  live?: LiveGatewayOptions;
  /** The largest export answered inline (default 4 MiB): tests make it small to see the presigned-URL answer. */
  exportInlineBytes?: number;
  /** Seams for fault-injection tests: wrap the point store, or see the DynamoDB client before it is used. */
  faults?: { pointStore?: (store: PointStore) => PointStore; dynamodb?: (client: DynamoDBClient) => void };
}

const quietLog: Logger = { error: (m, f) => console.error(JSON.stringify({ level: 'error', message: m, ...f })), info: () => {} };

/**
 * Starts Tributary on one machine: dynalite for DynamoDB, DuckDB (or InfluxDB, `TRIBUTARY_STORE`) for Timestream, a durable file queue for
 * SQS, aedes for IoT Core, node:http for API Gateway; the handlers are the Lambdas' own.
 *
 * @example
 * const rt = await startRuntime({ httpPort: 0, mqttPort: 0, host: '127.0.0.1', dataDir: '/tmp/t', quiet: true });
 * await rt.close();
 */
export async function startRuntime(config: LocalConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (config.quiet ? quietLog : jsonLogger);
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
    // the data dir is ours now: dynalite and the point store open side by side (a restart waits for the slower only)
    const [dynamo, opened, s3] = await settleAll([
      startDynalite({ path: join(config.dataDir, 'dynamodb') }).then(async (dynamo) => {
        closers.push(() => dynamo.close());
        options.faults?.dynamodb?.(dynamo.client);
        await ensureTable(dynamo.client, TABLE_NAME);
        await ensureTable(dynamo.client, EVENTS_TABLE_NAME, undefined, eventsTableDefinition(EVENTS_TABLE_NAME));
        return dynamo;
      }),
      openLocalPointStore(config).then((opened) => {
        closers.push(opened.close);
        return opened;
      }),
      // S3's stand-in for the cold tier of event streams' events, on files in the data dir
      startLocalS3(config.dataDir, [EVENTS_BUCKET]).then((s3) => {
        closers.push(() => s3.close());
        return s3;
      }),
    ]);
    const registry = new DynamoDbRegistry({ client: dynamo.client, tableName: TABLE_NAME });
    const parts = new S3PartStore({ s3: s3.client, bucket: EVENTS_BUCKET });
    const eventTiers = {
      hot: new DynamoDbEventStore({ client: dynamo.client, tableName: EVENTS_TABLE_NAME }),
      cold: new S3EventArchive({ s3: s3.client, bucket: EVENTS_BUCKET, dynamo: dynamo.client, tableName: EVENTS_TABLE_NAME }),
    };
    // each stored batch's receipt, beside the events (their table and bucket), as in AWS
    const receipts = new DynamoDbReceiptLedger({ client: dynamo.client, tableName: EVENTS_TABLE_NAME, s3: s3.client, bucket: EVENTS_BUCKET });
    // signed as KMS signs in AWS, with a key file of the data dir (made on the first start)
    const receiptSigner = await FileReceiptSigner.open(join(config.dataDir, 'receipt-signing-key.pem'));
    const devices = new DynamoDbDeviceClaims({ client: dynamo.client, tableName: TABLE_NAME, registry, clock });
    const { store: points, duckdb } = opened;
    const store: PointStore = options.faults?.pointStore?.(points) ?? points;

    const admin = await adminToken(config);
    const decide = makeDecide({ tokens: registry, adminTokenHash: hashToken(admin.token) });
    // named ticket systems: the streams function checks rules against them, the alert tasks post to them
    const ticketSystems = options.alerts?.ticketSystems ?? config.ticketSystems ?? {};
    const liveTickets = new DynamoDbLiveTickets({ client: dynamo.client, tableName: TABLE_NAME });
    const live = createLiveGateway({ registry, tickets: liveTickets, decide, clock, log }, options.live);
    closers.push(() => live.close());
    const alerts = createLocalAlerts(
      // Slack actions that name a secret read it as pulls do: TRIBUTARY_SECRET_<NAME>, else the data dir's secrets.json
      { client: dynamo.client, tableName: TABLE_NAME, registry, store, clock, log, live: live.fanout, secrets: new FileSecretSource({ env: process.env, file: join(config.dataDir, 'secrets.json') }) },
      { ...(config.smtp && { smtp: config.smtp }), ...options.alerts, ticketSystems },
    );
    closers.push(() => alerts.close());
    const pulls = createLocalPulls({ client: dynamo.client, tableName: TABLE_NAME, registry, queue, dataDir: config.dataDir, clock, log }, options.pulls);
    closers.push(() => pulls.close());
    const idempotency = await startLocalIdempotency(dynamo.client, log);
    closers.push(() => idempotency.close());
    const handlers: Record<FunctionName, HttpHandler> = {
      streams: makeStreamsHandler({ registry, tokens: registry, clock, log, signingSecrets: alerts.store, pullState: pulls.state, ruleFailures: alerts.store, scheme: 'http', devices, subscriptions: true, liveTickets, queueDepth: queue, points, backprocess: makeDeriver({ registry, store, log }), actions: { requireHttps: false, ticketSystems: Object.keys(ticketSystems), emailRecipients: true } }),
      // webhook secrets (`${secret:NAME}`) come from where pull secrets do: TRIBUTARY_SECRET_<NAME> or secrets.json
      ingest: makeIngestHandler({ registry, queue, clock, log, idempotency: idempotency.store, tokens: registry, secrets: new FileSecretSource({ env: process.env, file: join(config.dataDir, 'secrets.json') }), parts, uploads: new S3UploadStore({ s3: s3.client, bucket: EVENTS_BUCKET }), scheme: 'http' }),
      query: makeQueryHandler({ registry, store, ...(duckdb && { rollups: duckdb }), clock, log, events: new TieredEventSource(eventTiers), parts, receipts, receiptKeys: receiptSigner, exports: new S3ExportStore({ s3: s3.client, bucket: EVENTS_BUCKET }), ...(options.exportInlineBytes !== undefined && { exportInlineBytes: options.exportInlineBytes }) }),
      alerts: alerts.handler,
      pull: pulls.handler,
    };
    let stopping = false;
    // a store outage holds the batch (and, as the queue fills, ingest answers 429) instead of dead-lettering it
    const waiting = { stopped: () => stopping };
    const writeBatch = makeWriter({
      events: new TieredEventSink(eventTiers),
      receipts: patient(receipts, ['append'], waiting),
      signer: receiptSigner,
      registry: patient(registry, ['get', 'addStats'], waiting),
      store: patient(store, ['write'], waiting),
      clock,
      log,
      alerts: alerts.evaluator,
      live: live.fanout,
    });
    queue.start(async (messages) => {
      const summary = await writeBatch(messages.map((m) => ({ id: m.id, envelope: m.envelope })));
      return { failedIds: summary.failedIds };
    });
    closers.push(() => queue.stop());
    // runs before the stop above (closers run last first): a write waiting on the store gives up
    closers.push(async () => (stopping = true));

    const http = createHttpGateway({ handlers, decide, live, site: await loadDashboardSite() });
    await listen(http, config.httpPort, config.host, 'PORT');
    closers.push(() => new Promise((resolve) => { http.closeAllConnections(); http.close(resolve); }));

    const mqtt = await createMqttGateway({ check: makeDeviceCheck({ tokens: registry, devices, registry }), registry, queue, clock, log });
    await listen(mqtt.server, config.mqttPort, config.host, 'MQTT_PORT');
    closers.push(() => new Promise((resolve) => mqtt.broker.close(() => mqtt.server.close(resolve))));
    alerts.attachBroker(mqtt.broker);
    alerts.start();
    pulls.start();
    // uploads and export files past their day go, completed or not: the bucket's lifecycle rules in AWS, an hourly sweep here
    const sweepPrefix = (prefix: string) =>
      sweepUploads({ s3: s3.client, bucket: EVENTS_BUCKET, now: clock.now(), prefix }).then(
        (removed) => removed > 0 && log.info('stale objects swept', { prefix, removed }),
        (err: Error) => log.error('sweep failed', { prefix, error: err.name, reason: err.message }),
      );
    const sweep = () => Promise.all([sweepPrefix(UPLOADS_PREFIX), sweepPrefix(EXPORTS_PREFIX)]);
    let swept = sweep();
    // the rollup compactor: recomputes the bins writes marked pending, a quarter of the time at most (a run
    // that overran its budget waits three times as long as it took)
    const compactMs = config.rollupCompactMs ?? 1000;
    let compacting: Promise<unknown> = Promise.resolve();
    let compactor: NodeJS.Timeout | undefined;
    let stopped = false;
    const compactLater = (delay: number) => {
      if (stopped || !duckdb) return;
      compactor = setTimeout(() => {
        const started = performance.now();
        compacting = duckdb
          .compactRollups({ budgetMs: compactMs / 4 })
          .catch((err: Error) => log.error('rollup compaction failed', { error: err.name, reason: err.message }))
          .finally(() => {
            const took = performance.now() - started;
            compactLater(Math.max(compactMs - took, 3 * took));
          });
      }, delay);
      compactor.unref();
    };
    compactLater(compactMs);
    // before DuckDB closes (closers run last first): a compaction under way finishes
    closers.push(async () => {
      stopped = true;
      clearTimeout(compactor);
      await compacting;
    });
    const sweeping = setInterval(() => (swept = sweep()), UPLOAD_SWEEP_MS);
    sweeping.unref();
    // before S3 closes (closers run last first): a sweep under way finishes
    closers.push(async () => {
      clearInterval(sweeping);
      await swept;
    });
    const bridges = startMqttBridges({ registry, queue, clock, log, secrets: new FileSecretSource({ env: process.env, file: join(config.dataDir, 'secrets.json') }) });
    closers.push(() => bridges.close());

    // only once both ports listen is this a first start: a start that fails earlier leaves no token file
    // behind, so the next one is a first start again (token printed, demo stream created)
    await admin.keep();
    let demo: Runtime['demo'];
    if (options.demo !== false && admin.generated !== false && !(await registry.get('demo'))) {
      demo = await createDemo(registry, clock);
    }
    return {
      httpPort: (http.address() as AddressInfo).port,
      mqttPort: (mqtt.server.address() as AddressInfo).port,
      host: config.host,
      ...(admin.generated && { generatedAdminToken: admin.token }),
      adminTokenSource: config.adminToken ? { kind: 'setting' } : { kind: 'file', path: admin.file },
      ...(admin.removedStale && { removedStaleAdminTokenFile: admin.file }),
      ...(demo && { demo }),
      queue,
      alerts,
      pulls,
      live,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Like `Promise.all`, but waits for every promise to settle before throwing the first failure. */
async function settleAll<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * The admin token: from the setting, else from the data dir, else generated, to be kept there (mode 0600) by
 * `keep()` once the runtime is up. With the setting in force, a file holding another token is removed by
 * `keep()`: a file named admin-token that opens nothing is a trap.
 */
async function adminToken(config: LocalConfig) {
  const file = join(config.dataDir, 'admin-token');
  const stored = await readFile(file, 'utf8').then((t) => t.trim(), () => undefined);
  if (config.adminToken) {
    const stale = stored !== undefined && stored !== config.adminToken;
    return { token: config.adminToken, generated: undefined, file, removedStale: stale, keep: async () => void (stale && (await rm(file, { force: true }))) };
  }
  if (stored) return { token: stored, generated: false, file, removedStale: false, keep: async () => {} };
  const token = newToken();
  return { token, generated: true, file, removedStale: false, keep: () => writeFile(file, `${token}\n`, { mode: 0o600 }) };
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

/** Listens, or fails with a message naming the setting that moves the port when it is taken. */
function listen(server: import('node:net').Server, port: number, host: string, setting: 'PORT' | 'MQTT_PORT'): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new Error(`port ${port} on ${host} is in use (another program listens there); set ${setting} to another port, e.g. ${setting}=${port + 1}`, { cause: err }));
      else if (err.code === 'EACCES') reject(new Error(`port ${port} on ${host} needs privileges; set ${setting} to a port above 1023`, { cause: err }));
      else reject(err);
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}
