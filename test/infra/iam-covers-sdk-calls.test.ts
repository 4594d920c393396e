import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { handlerEntry, type HandlerName, REPO_ROOT, TributaryFunction } from '../../infra/aws/constructs/function';
import { bundleInputs, type BundleInputs, indexSources, type SdkImport, sdkImportsIn, type SourceIndex } from '../fixtures/bundle-inputs';
import { type Grant, type Resource, type SynthesizedTributary, useSynthesizedTributary } from '../fixtures/synth';

// Every test passing while a role lacked an action the code sends (the writer's BatchGetItem) is what this
// file prevents: for each function, the SDK commands its bundle can send are mapped to IAM actions and
// looked up in the role the stack gives it. Actions only; which resources they name is tributary-stack.test.ts's.

/**
 * What a function's role must allow for each SDK v3 client it bundles. A command `XCommand` of a client is
 * authorized by `<prefix>:X` unless `renamed` says otherwise (Service Authorization Reference: the SQS batch
 * calls are authorized by their single-message actions, a Timestream query by `timestream:Select`); `implied`
 * are requests the client makes on its own before a command (Timestream's endpoint discovery).
 */
interface SdkService {
  /** The IAM service prefix. */
  readonly prefix: string;
  /** The aggregated client (`new DynamoDB({}).getItem(…)`): its methods send commands no import names. */
  readonly aggregate: string;
  readonly renamed?: Readonly<Record<string, string>>;
  readonly implied?: readonly string[];
}

const SDK_SERVICES: Readonly<Record<string, SdkService>> = {
  '@aws-sdk/client-dynamodb': { prefix: 'dynamodb', aggregate: 'DynamoDB' },
  '@aws-sdk/client-sqs': {
    prefix: 'sqs',
    aggregate: 'SQS',
    renamed: { SendMessageBatch: 'SendMessage', DeleteMessageBatch: 'DeleteMessage', ChangeMessageVisibilityBatch: 'ChangeMessageVisibility' },
  },
  '@aws-sdk/client-timestream-write': { prefix: 'timestream', aggregate: 'TimestreamWrite', implied: ['DescribeEndpoints'] },
  // DescribeTable: TimestreamPointStore sends the SQL `DESCRIBE` through QueryCommand, authorized as DescribeTable
  '@aws-sdk/client-timestream-query': { prefix: 'timestream', aggregate: 'TimestreamQuery', renamed: { Query: 'Select' }, implied: ['DescribeEndpoints', 'DescribeTable'] },
  '@aws-sdk/client-sfn': { prefix: 'states', aggregate: 'SFN' },
  '@aws-sdk/client-sns': { prefix: 'sns', aggregate: 'SNS' },
  '@aws-sdk/client-sesv2': { prefix: 'ses', aggregate: 'SESv2' },
  // ListObjectsV2 is authorized by s3:ListBucket, a multipart upload's create, parts and completion by s3:PutObject
  '@aws-sdk/client-s3': {
    prefix: 's3',
    aggregate: 'S3',
    renamed: { ListObjectsV2: 'ListBucket', CreateMultipartUpload: 'PutObject', UploadPart: 'PutObject', CompleteMultipartUpload: 'PutObject' },
  },
  '@aws-sdk/client-iot-data-plane': { prefix: 'iot', aggregate: 'IoTDataPlane' },
  '@aws-sdk/client-secrets-manager': { prefix: 'secretsmanager', aggregate: 'SecretsManager' },
  '@aws-sdk/client-kms': { prefix: 'kms', aggregate: 'KMS' },
  // every @connections call is authorized by execute-api:ManageConnections (API Gateway's IAM reference)
  '@aws-sdk/client-apigatewaymanagementapi': {
    prefix: 'execute-api',
    aggregate: 'ApiGatewayManagementApi',
    renamed: { PostToConnection: 'ManageConnections', DeleteConnection: 'ManageConnections', GetConnection: 'ManageConnections' },
  },
};

/**
 * The other packages the handlers bundle, each with why it sends no AWS request of its own. A package in
 * neither list fails the suite until someone decides which list it belongs to.
 */
/**
 * Packages that send AWS requests from inside themselves (so no command import in our files shows them),
 * each with the actions a function bundling it must be allowed.
 */
const SENDS_FROM_INSIDE: Readonly<Record<string, readonly string[]>> = {
  // DynamoDBPersistenceLayer: PutItem (claim), GetItem (read a claimed key), UpdateItem (complete), DeleteItem (release)
  '@aws-lambda-powertools/idempotency': ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  // SecretsProvider.get: the admin token (authorizer), read through the client the function passes in
  '@aws-lambda-powertools/parameters': ['secretsmanager:GetSecretValue'],
};

const SENDS_NO_AWS_REQUEST: Readonly<Record<string, string>> = {
  '@aws-lambda-powertools/commons': 'shared helpers of the Powertools packages (environment, cold start), no client',
  '@aws-lambda-powertools/logger': 'writes JSON log lines to stdout; Lambda delivers them to the function’s log group',
  '@aws-lambda-powertools/metrics': 'writes CloudWatch embedded metric format lines to stdout; no PutMetricData',
  '@aws-lambda-powertools/tracer': 'records subsegments through aws-xray-sdk-core; no AWS API call of its own',
  'aws-xray-sdk-core': 'sends segments over UDP to the X-Ray daemon Lambda runs (xray:PutTraceSegments is granted by active tracing)',
  '@aws-sdk/util-dynamodb': 'marshall/unmarshall convert values; the package holds no client',
  '@middy/core': 'runs the handlers; no middleware that calls AWS is attached',
  '@msgpack/msgpack': 'decodes MessagePack request bodies in memory',
  cborg: 'decodes CBOR request bodies in memory',
  chevrotain: 'parses InfluxQL (the /query route) in memory',
  '@datadog/sketches-js': 'the latency sketch of the stream health (writer and status) and the rollups\' DDSketch key mapping: arithmetic in memory',
  'convert-units': 'converts values between units in memory (the processing stage)',
  'hyparquet-writer': 'encodes Parquet export files in memory (the query function’s GET …/export)',
  'csv-parse': 'parses CSV request bodies and MQTT payloads in memory (the ingest route, and the writer for MQTT in AWS)',
  'zod-openapi': 'builds the OpenAPI document from the zod schemas in memory (GET /v1/openapi.json)',
  croner: 'evaluates pull schedules in memory',
  filtrex: 'compiles the processing stage’s filter expressions and formulas to functions run in memory',
  'ipaddr.js': 'classes the addresses pulls and alert actions resolve to, in memory',
  jsonata: 'evaluates pull transforms in memory',
  pg: 'speaks the PostgreSQL protocol to a pull source, not to AWS',
  'modbus-serial': 'speaks Modbus TCP to a PLC a pull polls, not to AWS',
  '@bacnet-js/client': 'speaks BACnet/IP (UDP) to a building device a pull polls, not to AWS',
  protobufjs: "parses a stream's generated .proto and decodes protobuf request bodies in memory",
  'quickjs-emscripten': 'runs client JavaScript transforms in a WebAssembly interpreter with no host access',
  'simple-statistics': 'computes regressions, correlations and medians for the analyze route in memory',
  canonicalize: 'writes the RFC 8785 canonical JSON of an event for its receipt line, in memory',
  standardwebhooks: 'signs webhook bodies and verifies inbound ones (HMAC-SHA256) in memory',
  '@fastify/busboy': 'parses multipart/form-data bodies (file events) in memory',
  '@aws-sdk/s3-request-presigner': 'signs an upload’s PUT URL in memory with the role’s credentials; the client’s PUT is authorized by the role’s s3:PutObject on uploads/*',
  zod: 'validates values in memory',
};

/**
 * Commands in a function's bundle that the function never sends, so its role rightly lacks the action: a
 * shared adapter carries every method of its port, and a function calls a few. The suite proves each claim:
 * the command is sent from `sentFrom` and nowhere else, and the function's code never refers to those
 * methods. An entry also fails once stale (the command left the bundle, or the action got granted).
 */
interface NeverSent {
  /** The client package without `@aws-sdk/client-`: `dynamodb`, `timestream-write`. */
  readonly client: string;
  readonly command: string;
  /** Every public method (`Class.method`) the command can be sent from, in the adapters these functions bundle. */
  readonly sentFrom: readonly string[];
  readonly functions: readonly HandlerName[];
  readonly why: string;
  /**
   * Set when the function does call a sender, but never with the arguments that make it send this command: a
   * claim the suite cannot prove, kept only after review. Says which arguments.
   */
  readonly onlyWhen?: string;
}

const REGISTRY_WRITES = ['DynamoDbRegistry.create', 'DynamoDbRegistry.delete', 'DynamoDbRegistry.put', 'DynamoDbRegistry.update'];

const NEVER_SENT: readonly NeverSent[] = [
  {
    client: 'kms',
    command: 'SignCommand',
    sentFrom: ['KmsReceiptSigner.sign'],
    functions: ['query'],
    why: 'only the writer signs receipts; the query function reads the receipt key’s public half to check them',
  },
  {
    client: 'kms',
    command: 'GetPublicKeyCommand',
    sentFrom: ['KmsReceiptSigner.publicKey'],
    functions: ['writer'],
    why: 'the writer only signs receipts; checking them (with the public key) is the query function’s',
  },
  {
    client: 'dynamodb',
    command: 'BatchWriteItemCommand',
    sentFrom: ['DynamoDbRegistry.delete', 'DynamoDbRegistry.deleteForStream', 'DynamoDbEventStore.putHot', 'S3EventArchive.putCold', 'DynamoDbRollupBins.putBins'],
    functions: ['ingest', 'query', 'alerts', 'authorizer', 'iot-authorizer', 'silence', 'pull', 'pull-dispatcher', 'live', 'live-authorizer'],
    why: 'only the streams API deletes streams and their tokens, and only the writer puts events and rollup bins (its grants are on the events and rollups tables alone)',
  },
  {
    client: 's3',
    command: 'GetObjectCommand',
    sentFrom: ['S3EventArchive.readCold', 'S3EventArchive.object', 'S3PartStore.getPart', 'DynamoDbReceiptLedger.receiptText', 'S3UploadStore.open'],
    functions: ['writer'],
    why: 'the writer only archives events and appends receipts; reading them back is the query function’s (and reading uploads back the ingest function’s)',
  },
  {
    client: 'dynamodb',
    command: 'PutItemCommand',
    sentFrom: [...REGISTRY_WRITES, 'DynamoDbAlertStore.ensureSigningSecret', 'DynamoDbAlertStore.fire', 'DynamoDbReceiptLedger.append', 'DynamoDbLiveTickets.issue'],
    functions: ['query', 'authorizer', 'iot-authorizer', 'pull', 'pull-dispatcher', 'alerts', 'alert-actions', 'live-authorizer'],
    why:
      'only the streams API writes streams and tokens, only the alert evaluator (writer, silence) fires alerts, only the writer appends receipts; the alerts API replaces ' +
      'signing secrets and acknowledges with UpdateItem, the alert tasks record outcomes with UpdateItem',
  },
  {
    client: 'dynamodb',
    command: 'UpdateItemCommand',
    sentFrom: ['DynamoDbRegistry.addStats', 'DynamoDbRegistry.claimNewest', 'DynamoDbRegistry.releaseNewest'],
    functions: ['authorizer', 'iot-authorizer', 'live', 'live-authorizer'],
    why: 'only the writer adds to stream counters and moves the newest point forward, and only the ingest function claims it (checkTimestamp); the query function updates the rollups table alone (the close mark of downsample)',
  },
  {
    client: 'dynamodb',
    command: 'QueryCommand',
    sentFrom: ['DynamoDbRegistry.delete', 'DynamoDbRegistry.deleteForStream', 'DynamoDbRegistry.list', 'DynamoDbRegistry.getStats'],
    functions: ['pull'],
    why: 'the pull function reads its one stream by key (get); reading the stats (and their health buckets) is the status’s',
  },
  {
    client: 'dynamodb',
    command: 'QueryCommand',
    sentFrom: ['DynamoDbRegistry.delete', 'DynamoDbRegistry.deleteForStream', 'DynamoDbRegistry.list', 'DynamoDbRegistry.getStats', 'DynamoDbLiveConnections.list'],
    functions: ['live'],
    why: 'the live function reads its stream by key (get) and puts and removes one connection; listing a stream’s connections is the writer’s (fan-out), reading its stats the status’s',
  },
  {
    client: 'dynamodb',
    command: 'QueryCommand',
    sentFrom: ['DynamoDbAlertStore.listByState', 'DynamoDbAlertStore.listByStream', 'DynamoDbAlertStore.listRuleFailures', 'DynamoDbAlertStore.loadStates'],
    functions: ['alert-actions'],
    why: 'the alert tasks update one alert by key and read its signing secret (GetItem)',
  },
  {
    client: 'dynamodb',
    command: 'GetItemCommand',
    sentFrom: [...REGISTRY_WRITES, 'DynamoDbRegistry.find', 'DynamoDbRegistry.get', 'DynamoDbRegistry.getStats', 'DynamoDbRegistry.claimNewest', 'DynamoDbPullStateStore.get'],
    functions: ['pull-dispatcher'],
    why: 'the dispatcher lists streams (Query on gsi1) and reads pull states in batches (getMany: BatchGetItem)',
  },
  {
    client: 'dynamodb',
    command: 'BatchGetItemCommand',
    sentFrom: ['DynamoDbPullStateStore.getMany', 'DynamoDbAlertStore.loadStates'],
    functions: ['pull', 'alerts', 'alert-actions'],
    why: 'only the dispatcher reads pull states in batches; only the alert evaluator (writer, silence) loads alert states',
  },
  {
    client: 'dynamodb',
    command: 'BatchGetItemCommand',
    sentFrom: ['DynamoDbPullStateStore.getMany', 'DynamoDbAlertStore.loadStates'],
    functions: ['silence'],
    why: "silence reads no pull state; checkSilence() loads all of a stream's alert states, which loadStates() reads with Query",
    onlyWhen:
      "loadStates() sends BatchGetItem only when given the batch's rules and series (`only`), which evaluate() (the writer's path) passes " +
      'and checkSilence() does not (functions/commons/alert-evaluator.ts, statesOf)',
  },
  {
    client: 'timestream-write',
    command: 'WriteRecordsCommand',
    sentFrom: ['TimestreamPointStore.write'],
    functions: ['query', 'silence'],
    why: 'only the writer writes datapoints; these functions query and read latest values',
  },
];

/**
 * Requests a function bundles but sends only under a variable of its environment, which the `store` setting
 * decides: `pointStoreOf` (shared/aws/point-store-of.ts) builds the Timestream clients unless
 * `POINT_STORE=influxdb`, and the InfluxDB credentials' `SecretsProvider` only then; the writer builds its live
 * fan-out (`ApiGatewayLiveFanout`) only when `LIVE_CALLBACK_URL` is set, which the InfluxDB stack leaves out (no
 * route from its VPC to the @connections API). Each entry is checked against the synthesized environment, so it
 * waives nothing in a stack whose environment does make the function send it. Reviewed claims, as `onlyWhen`.
 */
interface SentOnlyWhen {
  /** A client package without `@aws-sdk/client-`, or a package of SENDS_FROM_INSIDE. */
  readonly source: string;
  /** One command of the client only (else all it sends). */
  readonly command?: string;
  readonly functions: readonly HandlerName[];
  /** Whether the function's environment makes it send the requests. */
  readonly sends: (env: Readonly<Record<string, unknown>>) => boolean;
  readonly why: string;
}

const influx = (env: Readonly<Record<string, unknown>>) => env.POINT_STORE === 'influxdb';
const SENT_ONLY_WHEN: readonly SentOnlyWhen[] = [
  { source: '@aws-lambda-powertools/parameters', functions: ['writer', 'query', 'silence'], sends: influx, why: 'influxCredentialsSource is built only for POINT_STORE=influxdb' },
  { source: 'timestream-write', functions: ['writer', 'query', 'silence'], sends: (env) => !influx(env), why: 'timestreamPointStore is built unless POINT_STORE=influxdb' },
  { source: 'timestream-query', functions: ['writer', 'query', 'silence'], sends: (env) => !influx(env), why: 'timestreamPointStore is built unless POINT_STORE=influxdb' },
  {
    source: 'dynamodb',
    command: 'DeleteItemCommand',
    functions: ['writer'],
    sends: (env) => env.LIVE_CALLBACK_URL !== undefined,
    why: 'the writer deletes only gone live connections (DynamoDbLiveConnections.remove), through the fan-out built when LIVE_CALLBACK_URL is set',
  },
  { source: 'apigatewaymanagementapi', functions: ['writer'], sends: (env) => env.LIVE_CALLBACK_URL !== undefined, why: 'the writer builds ApiGatewayLiveFanout only when LIVE_CALLBACK_URL (and LIVE_CONNECTIONS_TABLE) are set' },
];

/** Whether `source` (a client or a package) is one this function's environment keeps from sending. */
const notSentHere = (f: FunctionUnderTest, source: string, command?: string): boolean =>
  SENT_ONLY_WHEN.some((w) => w.source === source && (w.command === undefined || w.command === command) && w.functions.includes(f.name) && !w.sends(f.environment));

/** One request a function's code can send, and the IAM action that authorizes it. */
interface SdkRequest {
  readonly client: string;
  readonly command: string;
  readonly action: string;
  /** The files of the bundle that import the command. */
  readonly files: string[];
}

/** What a function bundles, read from its handler, beside the role the stack gives it. */
interface FunctionUnderTest {
  readonly name: HandlerName;
  readonly fn: TributaryFunction;
  readonly inputs: BundleInputs;
  readonly imports: SdkImport[];
  /** The function's environment variables in the template. */
  readonly environment: Readonly<Record<string, unknown>>;
}

// alertEmailFrom on: the SES grant exists only with a sender, and this suite checks it covers SendEmail; both
// stores, since the store decides which of the point functions' bundled clients they send with
const SYNTHS = {
  liveanalytics: useSynthesizedTributary({ stackProps: { config: { alertEmailFrom: 'alerts@example.com' } } }),
  influxdb: useSynthesizedTributary({ stackProps: { config: { alertEmailFrom: 'alerts@example.com', store: 'influxdb' } } }),
};
let synth: SynthesizedTributary = SYNTHS.liveanalytics;
const bundled: { name: HandlerName; inputs: BundleInputs; imports: SdkImport[] }[] = [];
let functions: FunctionUnderTest[] = [];
let sources: SourceIndex;

beforeAll(async () => {
  const handlers = readdirSync(join(REPO_ROOT, 'functions')).filter((dir) => existsSync(join(REPO_ROOT, handlerEntry(dir as HandlerName)))) as HandlerName[];
  const inputs = await Promise.all(handlers.map(async (name) => ({ name, inputs: await bundleInputs(handlerEntry(name)) })));
  // the handlers share most files: each is read once
  const files = [...new Set(inputs.flatMap((b) => b.inputs.files))];
  const importsByFile = new Map(await Promise.all(files.map(async (file) => [file, await sdkImportsIn(file)] as const)));
  bundled.push(...inputs.map((b) => ({ ...b, imports: b.inputs.files.flatMap((file) => importsByFile.get(file)!) })));
  sources = indexSources(handlers.map((name) => handlerEntry(name)));
});

/** The functions of one store's stack, each with its bundle and the environment that stack gives it. */
function functionsOf(s: SynthesizedTributary): FunctionUnderTest[] {
  const all = s.stack.node.findAll().filter((c): c is TributaryFunction => c instanceof TributaryFunction);
  return all.map((fn) => {
    const name = handlerNameOf(fn);
    const b = bundled.find((x) => x.name === name)!;
    return { fn, name, inputs: b.inputs, imports: b.imports, environment: (s.props(fn.fn).Environment?.Variables ?? {}) as Record<string, unknown> };
  });
}

describe.each(Object.keys(SYNTHS) as (keyof typeof SYNTHS)[])('store: %s', (store) => {
beforeAll(() => {
  synth = SYNTHS[store];
  functions = functionsOf(synth);
});

describe('each Lambda role allows the AWS requests its bundled code can send', () => {
  it('covers one function for each handler under functions/', () => {
    const handlers = readdirSync(join(REPO_ROOT, 'functions')).filter((dir) => existsSync(join(REPO_ROOT, handlerEntry(dir as HandlerName))));
    expect(functions.map((f) => f.name).sort()).toEqual(handlers.sort());
    for (const f of functions) expect(f.inputs.files).toContain(handlerEntry(f.name));
  });

  it('knows, for every package a handler bundles, whether and how it calls AWS', () => {
    const unknown = functions.flatMap((f) =>
      f.inputs.packages
        .filter((p) => !p.startsWith('node:') && !(p in SDK_SERVICES) && !(p in SENDS_NO_AWS_REQUEST) && !(p in SENDS_FROM_INSIDE))
        .map((p) => `${f.name} bundles ${p}`),
    );
    expect(unknown, 'add the package to SDK_SERVICES (with its IAM prefix) or to SENDS_NO_AWS_REQUEST (with why)').toEqual([]);
  });

  it('grants every function bundling a package that sends requests from inside the actions that package sends', () => {
    const gaps = functions.flatMap((f) =>
      f.inputs.packages.filter((p) => !notSentHere(f, p)).flatMap((p) => (SENDS_FROM_INSIDE[p] ?? []).filter((a) => grantsFor(f, a).length === 0).map((a) => `${f.name} bundles ${p}, which sends ${a}`)),
    );
    expect(gaps).toEqual([]);
  });

  it('sends AWS requests only through command objects, which this suite maps to IAM actions', () => {
    const opaque = functions.flatMap((f) => f.imports.filter(isOpaque).map((i) => `${f.name}: ${i.file} imports ${i.name} from ${i.pkg}`));
    expect(opaque, 'use XCommand with client.send, or teach this suite what the import sends').toEqual([]);
  });

  it('grants every function each action its SDK commands need, on a resource of that service', () => {
    expect(functions.flatMap(gapsOf)).toEqual([]);
  });

  it('proves each never-sent entry: the command comes only from its methods, and the function never refers to them', () => {
    const unproven = functions.flatMap((f) =>
      neverSentBy(f).flatMap((entry) => {
        const request = requestOf(f, entry);
        if (!request) return [];
        const senders = [...new Set(request.files.flatMap((file) => sources.sendersOf(file, entry.command)))];
        const unlisted = senders.filter((s) => !entry.sentFrom.includes(s));
        if (unlisted.length > 0) return [`${f.name}: ${entry.command} is also sent from ${unlisted.join(', ')}; review the entry`];
        const references = entry.sentFrom.flatMap((sender) => sources.referencesTo(f.inputs.files, sender).map((at) => `${sender} at ${at}`));
        if (entry.onlyWhen !== undefined) return references.length > 0 ? [] : [`${f.name}: drop onlyWhen from the entry for ${entry.command}, the suite proves it`];
        return references.map((ref) => `${f.name} refers to ${ref}, which can send ${entry.command}: grant ${request.action} or drop the entry`);
      }),
    );
    expect(unproven).toEqual([]);
  });

  it('keeps each never-sent entry live: in the bundle and still not granted', () => {
    const stale = functions.flatMap((f) =>
      neverSentBy(f).flatMap((entry) => {
        const request = requestOf(f, entry);
        if (!request) return [`${f.name}: ${entry.client} ${entry.command} is no longer in its bundle; remove it from the entry`];
        if (grantsFor(f, request.action).length > 0) return [`${f.name}: ${request.action} is granted; remove it from the entry for ${entry.command}`];
        return [];
      }),
    );
    expect(stale).toEqual([]);
  });
});
});

describe('requests sent only under a store’s environment', () => {
  it('are each bundled by the functions named, sent in one stack and waived in the other', () => {
    const problems = SENT_ONLY_WHEN.flatMap((w) =>
      w.functions.flatMap((name) => {
        const ways = (Object.keys(SYNTHS) as (keyof typeof SYNTHS)[]).map((store) => {
          const f = functionsOf(SYNTHS[store]).find((x) => x.name === name)!;
          const bundles = f.inputs.packages.includes(w.source) || requestsOf(f).some((r) => r.client === w.source && (w.command === undefined || r.command === w.command));
          return { store, bundles, sends: w.sends(f.environment) };
        });
        if (ways.some((x) => !x.bundles)) return [`${name} no longer bundles ${w.source}: remove it from the entry`];
        if (ways.every((x) => x.sends) || ways.every((x) => !x.sends)) return [`${name}: ${w.source} is sent alike in both stacks (${ways.map((x) => `${x.store} ${x.sends}`).join(', ')}): the entry waives nothing`];
        return [];
      }),
    );
    expect(problems).toEqual([]);
  });
});


/** The entries of NEVER_SENT that name a function. */
const neverSentBy = (f: FunctionUnderTest): NeverSent[] => NEVER_SENT.filter((n) => n.functions.includes(f.name));

/** The request (its main action, not an implied one) an entry speaks of, if the function's bundle can send it. */
const requestOf = (f: FunctionUnderTest, entry: NeverSent): SdkRequest | undefined =>
  requestsOf(f).find((r) => r.client === entry.client && r.command === entry.command);

/** The handler folder of a function, checked to exist. */
function handlerNameOf(fn: TributaryFunction): HandlerName {
  if (!existsSync(join(REPO_ROOT, handlerEntry(fn.handler)))) throw new Error(`${fn.node.path} runs ${fn.handler}, which has no handler.ts.`);
  return fn.handler;
}

/** An import that sends requests no command name shows: the aggregated client, a waiter. */
function isOpaque(i: SdkImport): boolean {
  const service = SDK_SERVICES[i.pkg];
  return service !== undefined && (i.name === service.aggregate || /^waitUntil|^waitFor/.test(i.name));
}

/** The operation a command class or paginator sends, if the import is one. */
function operationOf(name: string): string | undefined {
  if (name.endsWith('Command')) return name.slice(0, -'Command'.length);
  if (name.startsWith('paginate')) return name.slice('paginate'.length);
  return undefined;
}

/** Every request a function's bundle can send, once each, with the files that import its command. */
function requestsOf(f: FunctionUnderTest): SdkRequest[] {
  const byKey = new Map<string, SdkRequest>();
  const add = (client: string, command: string, action: string, file: string) => {
    const key = `${client} ${command} ${action}`;
    const known = byKey.get(key);
    if (!known) byKey.set(key, { client, command, action, files: [file] });
    else if (!known.files.includes(file)) known.files.push(file);
  };
  for (const i of f.imports) {
    const service = SDK_SERVICES[i.pkg];
    const operation = operationOf(i.name);
    if (!service || !operation) continue;
    const client = i.pkg.replace('@aws-sdk/client-', '');
    add(client, i.name, `${service.prefix}:${service.renamed?.[operation] ?? operation}`, i.file);
    for (const implied of service.implied ?? []) add(client, i.name, `${service.prefix}:${implied}`, i.file);
  }
  return [...byKey.values()];
}

/** The requests a function can send that its role does not allow, as sentences naming function, command and action. */
function gapsOf(f: FunctionUnderTest): string[] {
  const neverSent = neverSentBy(f);
  return requestsOf(f)
    .filter((r) => !neverSent.some((n) => n.client === r.client && n.command === r.command) && !notSentHere(f, r.client, r.command))
    .flatMap((r) => {
      const grants = grantsFor(f, r.action);
      const where = `${f.name}: ${r.command} (${r.client}, in ${r.files.join(', ')})`;
      if (grants.length === 0) return [`${where} needs ${r.action}, which its role does not allow`];
      const service = r.action.split(':')[0]!;
      if (!grants.some((g) => resourceIsOf(g.resource, service))) return [`${where} needs ${r.action}, which its role allows only on resources of other services`];
      return [];
    });
}

/** The grants of a function's role whose action (IAM wildcards, case-insensitive) covers `action`. */
function grantsFor(f: FunctionUnderTest, action: string): Grant[] {
  return synth.grantsOf(f.fn).filter((g) => actionPattern(g.action).test(action));
}

const actionPattern = (action: string): RegExp =>
  new RegExp(`^${action.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');

/** Whether a policy resource can name a resource of `service`: `*`, or an ARN (literal or built) of that service. */
function resourceIsOf(resource: unknown, service: string): boolean {
  const arn = renderArn(resource, synth.resources);
  return arn === '*' || arn.split(':')[2] === service;
}

/** CloudFormation resource namespaces whose IAM prefix is not their lower-cased name. */
const PREFIX_OF_NAMESPACE: Readonly<Record<string, string>> = { StepFunctions: 'states' };

/**
 * A policy resource as an ARN string: a `Ref` or `Fn::GetAtt` of a stack resource becomes an ARN of that
 * resource's service, pseudo parameters become placeholders, `Fn::Join` joins.
 */
function renderArn(value: unknown, resources: Record<string, Resource>): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, any>;
  if (v.Ref === 'AWS::Partition') return 'aws';
  if (typeof v.Ref === 'string' && v.Ref.startsWith('AWS::')) return 'x';
  const target: string | undefined = v.Ref ?? v['Fn::GetAtt']?.[0];
  if (target !== undefined) {
    const namespace = resources[target]?.Type.split('::')[1] ?? 'unknown';
    return `arn:aws:${PREFIX_OF_NAMESPACE[namespace] ?? namespace.toLowerCase()}:x:x:${target}`;
  }
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => renderArn(p, resources)).join(separator);
  }
  return JSON.stringify(value);
}
