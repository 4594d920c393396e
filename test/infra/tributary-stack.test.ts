import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it, vi } from 'vitest';
import { ALL_ROUTES, routeKey } from '../../functions/commons/routes';
import { IDEMPOTENCY_TABLE_KEYS } from '../../shared/aws/dynamodb-idempotency-table';
import { TABLE_KEYS } from '../../shared/aws/dynamodb-table';
import { TributaryConfigError } from '../../infra/aws/config';
import { SANDBOX_HANDLERS, TributaryFunction } from '../../infra/aws/constructs/function';
import { INGEST_TOPIC_RULE_SQL } from '../../infra/aws/constructs/iot';
import { REJECTED_RECORDS_METRIC } from '../../infra/aws/constructs/observability';
import { createTributaryApp } from '../../infra/aws/tributary-app';
import { TributaryStack } from '../../infra/aws/tributary-stack';
import { asArray, useSynthesizedTributary, WITHOUT_BUNDLING } from '../fixtures/synth';

// One synthesis (bundling all the handlers with esbuild, then running cdk-nag) shared by every test.
const synth = useSynthesizedTributary({ bundle: true });
const { getAtt, logicalId, props, ofType, statementsOf, grantsOf, actionsOf, resourcesFor, managedPoliciesOf } = synth;

describe('ingest queue', () => {
  it('moves a message to the DLQ only after at least 3 failed deliveries', () => {
    const queue = props(synth.stack.ingest.queue);
    expect(queue.RedrivePolicy.deadLetterTargetArn).toEqual(getAtt(synth.stack.ingest.deadLetterQueue));
    expect(queue.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(3);
  });

  it('keeps a received message invisible for at least six times the writer timeout', () => {
    const writerTimeout = props(synth.stack.ingest.writerFunction.fn).Timeout as number;
    const visibility = props(synth.stack.ingest.queue).VisibilityTimeout as number;
    expect(writerTimeout).toBeGreaterThan(0);
    expect(visibility).toBeGreaterThanOrEqual(6 * writerTimeout);
  });

  it('encrypts the queue and the DLQ and refuses requests without TLS', () => {
    for (const q of [synth.stack.ingest.queue, synth.stack.ingest.deadLetterQueue]) {
      expect(props(q).SqsManagedSseEnabled).toBe(true);
      synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(q) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('feeds the writer in batches with a batching window, bounded concurrency and partial batch failures', () => {
    // the ingest queue feeds only the writer (the other mapping is the pull queue's, see pulls.test.ts)
    const ingestMappings = ofType('AWS::Lambda::EventSourceMapping').filter((m) => JSON.stringify(m.EventSourceArn) === JSON.stringify(getAtt(synth.stack.ingest.queue)));
    expect(ingestMappings).toHaveLength(1);
    synth.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(synth.stack.ingest.queue),
      FunctionName: { Ref: logicalId(synth.stack.ingest.writerFunction.fn) },
      BatchSize: 100,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumBatchingWindowInSeconds: Match.anyValue(),
      ScalingConfig: { MaximumConcurrency: Match.anyValue() },
    });
    const mapping = ingestMappings[0]!;
    expect(mapping.MaximumBatchingWindowInSeconds).toBeGreaterThan(0);
    expect(mapping.ScalingConfig.MaximumConcurrency).toBeLessThanOrEqual(100);
  });
});

describe('storage', () => {
  it('keeps the DynamoDB table on demand, point-in-time recoverable, encrypted, with TTL and gsi1 from the key design', () => {
    synth.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: TABLE_KEYS.ttlAttribute, Enabled: true },
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: TABLE_KEYS.index.name,
          KeySchema: [
            { AttributeName: TABLE_KEYS.index.partitionKey, KeyType: 'HASH' },
            { AttributeName: TABLE_KEYS.index.sortKey, KeyType: 'RANGE' },
          ],
        }),
      ],
    });
    synth.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
  });

  it('keeps idempotency keys in a table of their own: on demand, point-in-time recoverable, encrypted, expiring by TTL', () => {
    expect(props(synth.stack.ingest.idempotencyTable)).toEqual({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: IDEMPOTENCY_TABLE_KEYS.ttlAttribute, Enabled: true },
      KeySchema: [{ AttributeName: IDEMPOTENCY_TABLE_KEYS.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: IDEMPOTENCY_TABLE_KEYS.partitionKey, AttributeType: 'S' }],
    });
  });

  it('accepts late data into the magnetic store and reports asynchronously rejected records to the private bucket', () => {
    const table = props(synth.stack.storage.timestream!.table);
    expect(table.TableName).toBe('datapoints');
    expect(table.DatabaseName).toEqual({ Ref: logicalId(synth.stack.storage.timestream!.database) });
    expect(table.MagneticStoreWriteProperties.EnableMagneticStoreWrites).toBe(true);
    expect(table.MagneticStoreWriteProperties.MagneticStoreRejectedDataLocation.S3Configuration).toMatchObject({
      BucketName: { Ref: logicalId(synth.stack.storage.timestream!.rejectedRecordsBucket) },
      EncryptionOption: 'SSE_S3',
    });
    expect(Number(table.RetentionProperties.MemoryStoreRetentionPeriodInHours)).toBeGreaterThan(0);
    expect(Number(table.RetentionProperties.MagneticStoreRetentionPeriodInDays)).toBeGreaterThan(0);
  });

  it('leaves the Timestream database name to CloudFormation, so a retained database never collides with a redeploy', () => {
    expect(synth.resources[logicalId(synth.stack.storage.timestream!.database)]!.Properties?.DatabaseName).toBeUndefined();
  });

  it('keeps the rejected-records bucket encrypted, private and SSL-only', () => {
    const bucket = props(synth.stack.storage.timestream!.rejectedRecordsBucket);
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId(synth.stack.storage.timestream!.rejectedRecordsBucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });
});

describe('functions', () => {
  const fns = () => ({
    streams: synth.stack.api.streamsFunction,
    ingest: synth.stack.ingest.ingestFunction,
    query: synth.stack.api.queryFunction,
    writer: synth.stack.ingest.writerFunction,
    authorizer: synth.stack.api.authorizerFunction,
    'iot-authorizer': synth.stack.iot.authorizerFunction,
    alerts: synth.stack.api.alertsFunction,
    'alert-actions': synth.stack.alerts.actionsFunction,
    silence: synth.stack.alerts.silenceFunction,
    pull: synth.stack.pulls.pullFunction,
    'pull-dispatcher': synth.stack.pulls.dispatcherFunction,
    live: synth.stack.live.socketFunction,
    'live-authorizer': synth.stack.live.authorizerFunction,
  });

  it('runs every handler on nodejs22.x arm64 with active tracing and a log group that expires', () => {
    // plus two CDK providers that run only at deploy: the DescribeEndpoint custom resource's (IotDataEndpoint) and
    // the BucketDeployment's that copies the dashboard's files
    synth.template.resourceCountIs('AWS::Lambda::Function', Object.keys(fns()).length + 2);
    for (const fn of Object.values(fns())) {
      const lambda = props(fn.fn);
      expect(lambda.Runtime).toBe('nodejs22.x');
      expect(lambda.Architectures).toEqual(['arm64']);
      expect(lambda.Handler).toBe('index.handler');
      expect(lambda.TracingConfig).toEqual({ Mode: 'Active' });
      expect(lambda.LoggingConfig.LogGroup).toEqual({ Ref: logicalId(fn.logGroup) });
      expect(props(fn.logGroup).RetentionInDays).toBeGreaterThan(0);
    }
  });

  it('bundles each handler as an ES module that exports handler', () => {
    for (const [name, fn] of Object.entries(fns())) {
      const asset = fn.fn.node.findChild('Code') as Asset;
      const bundle = join(synth.app.outdir, asset.assetPath, 'index.mjs');
      expect(existsSync(bundle), `${name}: ${bundle}`).toBe(true);
      expect(readFileSync(bundle, 'utf8'), name).toMatch(/export\s*\{[^}]*\bas handler\b[^}]*\}|export\s*\{[^}]*\bhandler\b[^}]*\}/);
    }
  });

  it('ships the QuickJS WebAssembly beside the bundle of each function that runs client JavaScript, and only there', () => {
    for (const fn of Object.values(fns())) {
      const asset = fn.fn.node.findChild('Code') as Asset;
      const wasm = join(synth.app.outdir, asset.assetPath, 'emscripten-module.wasm');
      expect(existsSync(wasm), `${fn.handler}: ${wasm}`).toBe(SANDBOX_HANDLERS.has(fn.handler));
      if (SANDBOX_HANDLERS.has(fn.handler)) expect(readFileSync(wasm).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
    }
  });

  it('gives each function the environment variables its config reads', () => {
    const table = { Ref: logicalId(synth.stack.storage.table) };
    const db = { Ref: logicalId(synth.stack.storage.timestream!.database) };
    const secret = { Ref: logicalId(synth.stack.adminTokenSecret) };
    const events = { Ref: logicalId(synth.stack.storage.eventsTable) };
    const bucket = { Ref: logicalId(synth.stack.storage.eventsBucket) };
    const receiptKey = getAtt(synth.stack.storage.receiptKey);
    const rollups = { Ref: logicalId(synth.stack.storage.rollupsTable) };
    const expected: Record<string, Record<string, unknown>> = {
      streams: { TABLE_NAME: table, TICKET_SYSTEMS: '{}', LIVE_WEBSOCKET_URL: synth.stack.resolve(synth.stack.live.url), INGEST_QUEUE_URL: { Ref: logicalId(synth.stack.ingest.queue) } },
      ingest: { TABLE_NAME: table, QUEUE_URL: { Ref: logicalId(synth.stack.ingest.queue) }, IDEMPOTENCY_TABLE_NAME: { Ref: logicalId(synth.stack.ingest.idempotencyTable) }, SECRET_PREFIX: 'tributary/pull/', EVENTS_BUCKET: bucket },
      query: { TABLE_NAME: table, TIMESTREAM_DATABASE: db, TIMESTREAM_TABLE: 'datapoints', EVENTS_TABLE_NAME: events, EVENTS_BUCKET: bucket, RECEIPT_KEY_ARN: receiptKey, ROLLUPS_TABLE_NAME: rollups },
      writer: {
        TABLE_NAME: table, TIMESTREAM_DATABASE: db, TIMESTREAM_TABLE: 'datapoints', EVENTS_TABLE_NAME: events, EVENTS_BUCKET: bucket, RECEIPT_KEY_ARN: receiptKey, ROLLUPS_TABLE_NAME: rollups, ALERT_STATE_MACHINE_ARN: { Ref: logicalId(synth.stack.alerts.stateMachine) },
        LIVE_CONNECTIONS_TABLE: { Ref: logicalId(synth.stack.live.connectionTable) }, LIVE_CALLBACK_URL: synth.stack.resolve(synth.stack.live.stage.callbackUrl),
      },
      live: { TABLE_NAME: table, LIVE_CONNECTIONS_TABLE: { Ref: logicalId(synth.stack.live.connectionTable) } },
      'live-authorizer': { TABLE_NAME: table, ADMIN_TOKEN_SECRET_ARN: secret, ADMIN_TOKEN_CACHE_SECONDS: '60' },
      alerts: { TABLE_NAME: table },
      'alert-actions': { TABLE_NAME: table, ALERT_TOPIC_ARN: { Ref: logicalId(synth.stack.alerts.emailTopic) }, TICKET_SYSTEMS: '{}' },
      silence: { TABLE_NAME: table, TIMESTREAM_DATABASE: db, TIMESTREAM_TABLE: 'datapoints', ALERT_STATE_MACHINE_ARN: { Ref: logicalId(synth.stack.alerts.stateMachine) } },
      authorizer: { TABLE_NAME: table, ADMIN_TOKEN_SECRET_ARN: secret, ADMIN_TOKEN_CACHE_SECONDS: '60' },
      'iot-authorizer': { TABLE_NAME: table, AWS_ACCOUNT_ID: { Ref: 'AWS::AccountId' }, AWS_PARTITION: { Ref: 'AWS::Partition' } },
      pull: { TABLE_NAME: table, QUEUE_URL: { Ref: logicalId(synth.stack.ingest.queue) }, SECRET_PREFIX: 'tributary/pull/' },
      'pull-dispatcher': { TABLE_NAME: table, PULL_QUEUE_URL: { Ref: logicalId(synth.stack.pulls.queue) } },
    };
    for (const [name, fn] of Object.entries(fns())) {
      const vars = props(fn.fn).Environment.Variables;
      const { NODE_OPTIONS, ...own } = vars;
      expect(own, name).toEqual(expected[name]);
      expect(NODE_OPTIONS).toBe('--enable-source-maps --max-semi-space-size=32');
    }
  });
});

describe('least privilege', () => {
  const BASE = ['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
  const sorted = (...a: string[]) => [...new Set([...BASE, ...a])].sort();

  it('lets the ingest function send to the queue, read the table and keep its idempotency keys, read webhook secrets, store file parts and uploads, nothing more', () => {
    const ingest = synth.stack.ingest.ingestFunction;
    const actions = actionsOf(ingest);
    expect(actions).toEqual(sorted('sqs:SendMessage', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'secretsmanager:GetSecretValue', 's3:PutObject', 's3:GetObject', 's3:ListBucket'));
    expect(managedPoliciesOf(ingest)).toEqual([]);
    expect(resourcesFor(ingest, 'sqs:SendMessage')).toEqual([getAtt(synth.stack.ingest.queue)]);
    expect(resourcesFor(ingest, 'dynamodb:GetItem')).toEqual([getAtt(synth.stack.storage.table), getAtt(synth.stack.ingest.idempotencyTable)]);
  });

  it('lets the ingest function write only its idempotency table: not the table, not Timestream', () => {
    const ingest = synth.stack.ingest.ingestFunction;
    for (const a of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) expect(resourcesFor(ingest, a)).toEqual([getAtt(synth.stack.ingest.idempotencyTable)]);
    expect(resourcesFor(ingest, 'dynamodb:Query')).toEqual([getAtt(synth.stack.storage.table)]);
    for (const a of ['dynamodb:BatchWriteItem', 'dynamodb:Scan', 'timestream:WriteRecords']) expect(actionsOf(ingest)).not.toContain(a);
  });

  it('lets no other function touch the idempotency table', () => {
    const table = JSON.stringify(getAtt(synth.stack.ingest.idempotencyTable));
    const others = synth.stack.node.findAll().filter((c): c is TributaryFunction => c instanceof TributaryFunction && c !== synth.stack.ingest.ingestFunction);
    expect(others.length).toBeGreaterThan(5);
    for (const fn of others) expect(JSON.stringify(grantsOf(fn)), fn.handler).not.toContain(table);
  });

  it('lets the writer write records to its Timestream table only, update stream stats, consume the queue and start alert executions', () => {
    const writer = synth.stack.ingest.writerFunction;
    const actions = actionsOf(writer);
    expect(actions).toEqual(
      sorted(
        'timestream:WriteRecords',
        'timestream:DescribeEndpoints',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        // event streams' events, whole, on the events table and bucket only (below)
        'dynamodb:BatchWriteItem',
        's3:PutObject',
        'sqs:ReceiveMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueUrl',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        // alert rules: window aggregates read the stream's points; fired alerts start the state machine
        'timestream:Select',
        'timestream:DescribeTable',
        'states:StartExecution',
        // each receipt's chain hash, signed with the receipt key (below)
        'kms:Sign',
        // live subscriptions: posts to the WebSocket connections, and removes gone ones from their table (test/infra/live.test.ts)
        'execute-api:ManageConnections',
        'dynamodb:DeleteItem',
      ),
    );
    expect(managedPoliciesOf(writer)).toEqual([]);
    expect(resourcesFor(writer, 'kms:Sign')).toEqual([getAtt(synth.stack.storage.receiptKey)]);
    expect(resourcesFor(writer, 'timestream:WriteRecords')).toEqual([getAtt(synth.stack.storage.timestream!.table)]);
    expect(resourcesFor(writer, 'timestream:Select')).toEqual([getAtt(synth.stack.storage.timestream!.table)]);
    expect(resourcesFor(writer, 'timestream:DescribeTable')).toEqual([getAtt(synth.stack.storage.timestream!.table)]);
    expect(resourcesFor(writer, 'timestream:DescribeEndpoints')).toEqual(['*']);
    expect(resourcesFor(writer, 'dynamodb:DeleteItem')).toEqual([getAtt(synth.stack.live.connectionTable)]);
  });

  it('lets the query function select from its Timestream table and read the table, but not write either', () => {
    const query = synth.stack.api.queryFunction;
    const actions = actionsOf(query);
    // DescribeTable: the store's SQL `DESCRIBE`, which learns the table's columns
    // s3:PutObject and s3:AbortMultipartUpload: export files, on exports/* only (the events-bucket test below)
    expect(actions).toEqual(sorted('timestream:Select', 'timestream:DescribeTable', 'timestream:DescribeEndpoints', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 's3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 'kms:GetPublicKey'));
    // the one write: downsample's close mark, on the rollups table alone
    expect(resourcesFor(query, 'dynamodb:UpdateItem')).toEqual([getAtt(synth.stack.storage.rollupsTable)]);
    // the receipt key's public half, to check receipts' signatures: it may not sign
    expect(resourcesFor(query, 'kms:GetPublicKey')).toEqual([getAtt(synth.stack.storage.receiptKey)]);
    expect(managedPoliciesOf(query)).toEqual([]);
    expect(resourcesFor(query, 'timestream:Select')).toEqual([getAtt(synth.stack.storage.timestream!.table)]);
    expect(resourcesFor(query, 'timestream:DescribeTable')).toEqual([getAtt(synth.stack.storage.timestream!.table)]);
    expect(actions).not.toContain('timestream:WriteRecords');
  });

  it('lets the writer write and read rollup bins and the query function read them and move the close mark, on the rollups table only (on demand, PITR, encrypted)', () => {
    const rollupsArn = getAtt(synth.stack.storage.rollupsTable);
    const on = (fn: Parameters<typeof grantsOf>[0]) => grantsOf(fn).filter((g) => JSON.stringify(g.resource) === JSON.stringify(rollupsArn)).map((g) => g.action).sort();
    expect(on(synth.stack.ingest.writerFunction)).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:Query']);
    expect(on(synth.stack.api.queryFunction)).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    const fns = synth.stack.node.findAll().filter((c): c is TributaryFunction => c instanceof TributaryFunction);
    expect(fns.filter((fn) => on(fn).length > 0).map((fn) => fn.handler).sort()).toEqual(['query', 'writer']);
    const table = synth.template.toJSON().Resources[logicalId(synth.stack.storage.rollupsTable)].Properties;
    expect(table).toMatchObject({ BillingMode: 'PAY_PER_REQUEST', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, SSESpecification: { SSEEnabled: true } });
  });

  it('signs receipts with an asymmetric P-256 key that only the writer may sign with', () => {
    expect(synth.template.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' } })).toHaveProperty(logicalId(synth.stack.storage.receiptKey));
    const key = JSON.stringify(getAtt(synth.stack.storage.receiptKey));
    const fns = synth.stack.node.findAll().filter((c): c is TributaryFunction => c instanceof TributaryFunction);
    const signers = fns.filter((fn) => resourcesFor(fn, 'kms:Sign').some((r: unknown) => JSON.stringify(r) === key)).map((fn) => fn.handler);
    expect(signers).toEqual(['writer']);
    const readers = fns.filter((fn) => JSON.stringify(grantsOf(fn)).includes(key)).map((fn) => fn.handler).sort();
    expect(readers).toEqual(['query', 'writer']);
  });

  it('lets the streams function read and write the table and its index, read the ingest queue’s depth, and touch nothing else', () => {
    const streams = synth.stack.api.streamsFunction;
    const actions = actionsOf(streams);
    expect(actions.filter((a) => !BASE.includes(a) && a !== 'sqs:GetQueueAttributes').every((a) => a.startsWith('dynamodb:'))).toBe(true);
    expect(resourcesFor(streams, 'sqs:GetQueueAttributes')).toEqual([getAtt(synth.stack.ingest.queue)]);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem']));
    expect(managedPoliciesOf(streams)).toEqual([]);
    const tableArn = getAtt(synth.stack.storage.table);
    for (const r of resourcesFor(streams, 'dynamodb:Query')) {
      expect([tableArn, { 'Fn::Join': ['', [tableArn, '/index/*']] }]).toContainEqual(r);
    }
  });

  it('lets the HTTP authorizer read tokens and the admin token secret, nothing more', () => {
    const authorizer = synth.stack.api.authorizerFunction;
    const actions = actionsOf(authorizer);
    expect(actions).toEqual(sorted('dynamodb:GetItem', 'dynamodb:Query', 'secretsmanager:GetSecretValue'));
    expect(managedPoliciesOf(authorizer)).toEqual([]);
    expect(resourcesFor(authorizer, 'secretsmanager:GetSecretValue')).toEqual([{ Ref: logicalId(synth.stack.adminTokenSecret) }]);
  });

  it('lets the IoT authorizer read tokens, nothing more', () => {
    const iotAuthorizer = synth.stack.iot.authorizerFunction;
    const actions = actionsOf(iotAuthorizer);
    expect(actions).toEqual(sorted('dynamodb:GetItem', 'dynamodb:Query'));
    expect(managedPoliciesOf(iotAuthorizer)).toEqual([]);
  });

  it('scopes every table action of the non-admin functions to the table itself, not its indexes', () => {
    const tableArn = getAtt(synth.stack.storage.table);
    const { ingest, api, iot } = synth.stack;
    const idempotencyArn = JSON.stringify(getAtt(ingest.idempotencyTable));
    const eventsId = logicalId(synth.stack.storage.eventsTable);
    const connectionsId = logicalId(synth.stack.live.connectionTable);
    const rollupsArn = JSON.stringify(getAtt(synth.stack.storage.rollupsTable));
    for (const fn of [ingest.ingestFunction, ingest.writerFunction, api.queryFunction, api.authorizerFunction, iot.authorizerFunction, synth.stack.live.authorizerFunction]) {
      // ingest's idempotency table and the rollups table have no index (the rollups' grants are checked below); the events table's below; the live connections' in live.test.ts
      const dynamo = grantsOf(fn).filter(
        (g) => g.action.startsWith('dynamodb:') && JSON.stringify(g.resource) !== idempotencyArn && JSON.stringify(g.resource) !== rollupsArn && !JSON.stringify(g.resource).includes(eventsId) && !JSON.stringify(g.resource).includes(connectionsId),
      );
      expect(dynamo.length).toBeGreaterThan(0);
      expect(dynamo.map((g) => g.resource)).toEqual(dynamo.map(() => tableArn));
    }
  });

  it('lets the writer only put events and receipts and the query function only read them (and write export files): the events table, its valid-time index and the events bucket (encrypted, private, lifecycle rules)', () => {
    const eventsArn = getAtt(synth.stack.storage.eventsTable);
    const eventsId = logicalId(synth.stack.storage.eventsTable);
    const onEvents = (fn: Parameters<typeof grantsOf>[0]) => grantsOf(fn).filter((g) => JSON.stringify(g.resource).includes(eventsId));
    expect(onEvents(synth.stack.ingest.writerFunction).map((g) => [g.action, g.resource])).toEqual([
      ['dynamodb:BatchWriteItem', eventsArn],
      ['dynamodb:PutItem', eventsArn],
      ['dynamodb:Query', eventsArn],
    ]);
    // the receipts it appends (and the head it reads) only: items of `<stream>#receipts` partitions
    const receipts = statementsOf(synth.stack.ingest.writerFunction).find((st) => asArray(st.Action).includes('dynamodb:PutItem') && JSON.stringify(st.Resource).includes(eventsId));
    expect(receipts?.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['*#receipts'] } });
    expect(onEvents(synth.stack.api.queryFunction).map((g) => [g.action, g.resource])).toEqual([
      ['dynamodb:Query', eventsArn],
      ['dynamodb:Query', { 'Fn::Join': ['', [eventsArn, '/index/byValidTime']] }],
    ]);
    for (const fn of [synth.stack.ingest.ingestFunction, synth.stack.api.streamsFunction, synth.stack.api.authorizerFunction, synth.stack.iot.authorizerFunction]) expect(onEvents(fn)).toEqual([]);
    const objects = { 'Fn::Join': ['', [getAtt(synth.stack.storage.eventsBucket), '/events/*']] };
    const receiptObjects = { 'Fn::Join': ['', [getAtt(synth.stack.storage.eventsBucket), '/receipts/*']] };
    expect(resourcesFor(synth.stack.ingest.writerFunction, 's3:PutObject')).toEqual([objects, receiptObjects]);
    const parts = { 'Fn::Join': ['', [getAtt(synth.stack.storage.eventsBucket), '/parts/*']] };
    const exportFiles = { 'Fn::Join': ['', [getAtt(synth.stack.storage.eventsBucket), '/exports/*']] };
    expect(resourcesFor(synth.stack.api.queryFunction, 's3:GetObject')).toEqual([objects, parts, receiptObjects, exportFiles]);
    // an export's multipart upload, on its own prefix only
    expect(resourcesFor(synth.stack.api.queryFunction, 's3:PutObject')).toEqual([exportFiles]);
    expect(resourcesFor(synth.stack.api.queryFunction, 's3:AbortMultipartUpload')).toEqual([exportFiles]);
    const uploads = { 'Fn::Join': ['', [getAtt(synth.stack.storage.eventsBucket), '/uploads/*']] };
    expect(resourcesFor(synth.stack.ingest.ingestFunction, 's3:PutObject')).toEqual([parts, uploads]);
    expect(resourcesFor(synth.stack.ingest.ingestFunction, 's3:GetObject')).toEqual([uploads]);
    expect(actionsOf(synth.stack.ingest.writerFunction)).not.toContain('s3:GetObject');
    expect(actionsOf(synth.stack.ingest.ingestFunction).filter((a) => a.startsWith('s3:'))).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    // the bucket listed only on the uploads/ prefix: whether an upload's file is there yet
    const listing = statementsOf(synth.stack.ingest.ingestFunction).filter((st) => asArray(st.Action).includes('s3:ListBucket'));
    expect(listing.map((st) => [st.Resource, st.Condition])).toEqual([[getAtt(synth.stack.storage.eventsBucket), { StringLike: { 's3:prefix': ['uploads/*'] } }]]);
    for (const fn of [synth.stack.api.streamsFunction, synth.stack.pulls.pullFunction]) expect(actionsOf(fn).filter((a) => a.startsWith('s3:'))).toEqual([]);
    expect(props(synth.stack.storage.eventsBucket)).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: {
        Rules: expect.arrayContaining([
          expect.objectContaining({ Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
          expect.objectContaining({ Id: 'events-to-infrequent-access', Prefix: 'events/', Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }], Status: 'Enabled' }),
          expect.objectContaining({ Id: 'expire-uploads', Prefix: 'uploads/', ExpirationInDays: 1, Status: 'Enabled' }),
          expect.objectContaining({ Id: 'expire-exports', Prefix: 'exports/', ExpirationInDays: 1, Status: 'Enabled' }),
        ]),
      },
    });
    const table = props(synth.stack.storage.eventsTable);
    expect(table).toMatchObject({
      KeySchema: [{ AttributeName: 's', KeyType: 'HASH' }, { AttributeName: 'e', KeyType: 'RANGE' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      GlobalSecondaryIndexes: [expect.objectContaining({ IndexName: 'byValidTime', KeySchema: [{ AttributeName: 's', KeyType: 'HASH' }, { AttributeName: 'v', KeyType: 'RANGE' }] })],
    });
  });
});

describe('HTTP API', () => {
  it('creates exactly the contract v1 routes and their unversioned twins, each behind the Lambda authorizer (the public OpenAPI document aside) and on the function the route table names', () => {
    // the HTTP API's routes (the live WebSocket API's are live.test.ts's)
    const routes = ofType('AWS::ApiGatewayV2::Route').filter((r) => r.ApiId?.Ref === logicalId(synth.stack.api.httpApi));
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(ALL_ROUTES.map(routeKey).sort());
    expect(routes.map((r) => r.RouteKey)).toEqual(expect.arrayContaining(['POST /streams', 'POST /streams/{id}/data', 'GET /streams/{id}/data', 'GET /v1/streams']));
    const fnOf = { streams: synth.stack.api.streamsFunction, ingest: synth.stack.ingest.ingestFunction, query: synth.stack.api.queryFunction, alerts: synth.stack.api.alertsFunction, pull: synth.stack.pulls.pullFunction };
    for (const route of ALL_ROUTES) {
      const r = routes.find((x) => x.RouteKey === routeKey(route))!;
      if (route.scope === 'public') {
        // the OpenAPI document, fetched without a token, and the webhook URLs, whose function checks the
        // signature over the body (an authorizer never sees the body) or an ingest token itself
        expect(route.path, routeKey(route)).toMatch(/^(\/v1)?(\/openapi\.json|\/streams\/\{id\}\/webhook(\/batch)?)$/);
        if (route.path.includes('webhook')) expect(route.fn).toBe('ingest');
        expect(r.AuthorizationType ?? 'NONE', routeKey(route)).toBe('NONE');
        expect(r.AuthorizerId).toBeUndefined();
      } else {
        expect(r.AuthorizationType, routeKey(route)).toBe('CUSTOM');
        expect(r.AuthorizerId).toEqual({ Ref: expect.stringMatching(/Authorizer/) });
      }
      const integrationId = r.Target['Fn::Join'][1][1].Ref as string;
      expect(synth.resources[integrationId]!.Properties.IntegrationUri, routeKey(route)).toEqual(getAtt(fnOf[route.fn].fn));
    }
  });

  it('hands compressed and binary bodies to the functions untouched, base64-encoded: an HTTP API with payload 2.0 Lambda proxy integrations', () => {
    // A REST API would need binaryMediaTypes (else bytes reach Lambda mangled as UTF-8) and would decompress
    // bodies itself; an HTTP API has neither setting: a body it does not take for text arrives with
    // isBase64Encoded: true, Content-Encoding intact, and the handler undoes both (commons/formats).
    expect(ofType('AWS::ApiGateway::RestApi')).toEqual([]);
    // and the live subscriptions' WebSocket API (test/infra/live.test.ts), whose frames are text
    expect(ofType('AWS::ApiGatewayV2::Api').map((a) => a.ProtocolType).sort()).toEqual(['HTTP', 'WEBSOCKET']);
    const integrations = ofType('AWS::ApiGatewayV2::Integration').filter((i) => i.ApiId?.Ref === logicalId(synth.stack.api.httpApi));
    expect(integrations.length).toBeGreaterThan(0);
    for (const i of integrations) {
      expect(i).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      // no conversion of the body and no rewriting of the headers that say how to read it
      expect(i.ContentHandlingStrategy).toBeUndefined();
      expect(JSON.stringify(i.RequestParameters ?? {})).not.toMatch(/content-(encoding|type)|body/i);
    }
  });

  it("puts InfluxDB's write routes and schema.proto on their functions, on an HTTP API (which hands a body that is not text to Lambda base64, binary formats included)", () => {
    const routes = ofType('AWS::ApiGatewayV2::Route');
    const targetOf = (key: string) => {
      const r = routes.find((x) => x.RouteKey === key)!;
      return synth.resources[r.Target['Fn::Join'][1][1].Ref as string]!.Properties.IntegrationUri;
    };
    expect(targetOf('POST /write')).toEqual(getAtt(synth.stack.ingest.ingestFunction.fn));
    expect(targetOf('POST /api/v2/write')).toEqual(getAtt(synth.stack.ingest.ingestFunction.fn));
    expect(targetOf('GET /v1/streams/{id}/schema.proto')).toEqual(getAtt(synth.stack.api.streamsFunction.fn));
    expect(ofType('AWS::ApiGatewayV2::Api').filter((a) => a.ProtocolType !== 'WEBSOCKET').map((a) => a.ProtocolType)).toEqual(['HTTP']);
  });

  it('never reuses a cached authorization across routes or streams', () => {
    const authorizer = ofType('AWS::ApiGatewayV2::Authorizer')[0]!;
    expect(authorizer).toMatchObject({ AuthorizerType: 'REQUEST', AuthorizerPayloadFormatVersion: '2.0', EnableSimpleResponses: true });
    expect(authorizer.IdentitySource).toContain('$request.header.Authorization');
    // API Gateway caches by the identity sources only: with caching on, they must name the route and the stream.
    const cached = (authorizer.AuthorizerResultTtlInSeconds ?? 300) > 0;
    if (cached) expect(authorizer.IdentitySource).toEqual(expect.arrayContaining(['$context.routeKey', '$context.path']));
    expect(authorizer.AuthorizerUri['Fn::Join'][1]).toContainEqual(getAtt(synth.stack.api.authorizerFunction.fn));
  });

  it('logs every request of the $default stage as JSON and throttles it', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: getAtt(synth.stack.api.accessLogGroup), Format: Match.stringLikeRegexp('\\$context\\.requestId') },
      DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
    });
    const format = ofType('AWS::ApiGatewayV2::Stage')[0]!.AccessLogSettings.Format;
    expect(() => JSON.parse(format)).not.toThrow();
    expect(format).not.toMatch(/header|Authorization/i);
  });
});

describe('MQTT ingest', () => {
  it('forwards tributary/+/data publishes to the ingest queue with the agreed SQL', () => {
    synth.template.hasResourceProperties('AWS::IoT::TopicRule', {
      TopicRulePayload: Match.objectLike({
        Sql: "SELECT encode(*, 'base64') AS payload, topic(2) AS streamId, clientid() AS deviceId, timestamp() AS receivedAt FROM 'tributary/+/data'",
        AwsIotSqlVersion: '2016-03-23',
        Actions: [{ Sqs: Match.objectLike({ QueueUrl: { Ref: logicalId(synth.stack.ingest.queue) } }) }],
      }),
    });
    expect(INGEST_TOPIC_RULE_SQL).toContain("FROM 'tributary/+/data'");
  });

  it("forwards every publish outside tributary/ (a stream's own topic) with its topic to the same queue, with the same error action", () => {
    const rule = props(synth.stack.iot.deviceTopicRule).TopicRulePayload;
    expect(rule.Sql).toBe("SELECT encode(*, 'base64') AS payload, topic() AS topic, clientid() AS deviceId, timestamp() AS receivedAt FROM '#' WHERE NOT startswith(topic(), 'tributary/')");
    const first = props(synth.stack.iot.topicRule).TopicRulePayload;
    expect(rule.Actions).toEqual(first.Actions);
    expect(rule.ErrorAction).toEqual(first.ErrorAction);
  });

  it('lets the topic rule only send messages to the ingest queue', () => {
    const rule = props(synth.stack.iot.topicRule).TopicRulePayload;
    const roleId = rule.Actions[0].Sqs.RoleArn['Fn::GetAtt'][0] as string;
    expect(statementsOf(roleId)).toEqual([{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: getAtt(synth.stack.ingest.queue) }]);
    expect(managedPoliciesOf(roleId)).toEqual([]);
  });

  it('keeps what the rule cannot deliver in a log group through its error action', () => {
    const rule = props(synth.stack.iot.topicRule).TopicRulePayload;
    expect(rule.ErrorAction.CloudwatchLogs.LogGroupName).toEqual({ Ref: logicalId(synth.stack.iot.ruleErrorLogGroup) });
    expect(rule.ErrorAction.CloudwatchLogs.RoleArn).toBeDefined();
  });

  it('authenticates devices with an active, unsigned custom authorizer that only IoT Core of this account may invoke', () => {
    synth.template.hasResourceProperties('AWS::IoT::Authorizer', {
      AuthorizerFunctionArn: getAtt(synth.stack.iot.authorizerFunction.fn),
      SigningDisabled: true,
      Status: 'ACTIVE',
      EnableCachingForHttp: false,
    });
    synth.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: getAtt(synth.stack.iot.authorizerFunction.fn),
      Principal: 'iot.amazonaws.com',
      SourceArn: getAtt(synth.stack.iot.authorizer),
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });
});

describe('alarms', () => {
  const alarms = () => ofType('AWS::CloudWatch::Alarm');
  const topic = () => ({ Ref: logicalId(synth.stack.observability.alarmTopic) });

  it('pages as soon as one message is in the DLQ', () => {
    const dlq = alarms().find(
      (a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && a.Dimensions?.[0]?.Value?.['Fn::GetAtt']?.[0] === logicalId(synth.stack.ingest.deadLetterQueue),
    );
    expect(dlq).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('pages when the ingest queue falls behind', () => {
    const age = alarms().find((a) => a.MetricName === 'ApproximateAgeOfOldestMessage');
    expect(age?.Dimensions[0].Value['Fn::GetAtt'][0]).toBe(logicalId(synth.stack.ingest.queue));
  });

  it('pages on errors of every function', () => {
    const errorAlarms = alarms().filter((a) => a.MetricName === 'Errors' && a.Namespace === 'AWS/Lambda');
    const watched = errorAlarms.map((a) => a.Dimensions[0].Value.Ref).sort();
    // every function but the CDK providers of the DescribeEndpoint custom resource and of the dashboard's
    // BucketDeployment: a failure there fails the deploy itself
    const all = Object.entries(synth.resources).filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && !id.startsWith('AWS679f53fa') && !id.startsWith('CustomCDKBucketDeployment')).map(([id]) => id).sort();
    expect(watched).toEqual(all);
  });

  it('pages on records Timestream rejected, read from the Tributary/RejectedRecords metric the writer emits', () => {
    const rejected = alarms().find((a) => a.Namespace === REJECTED_RECORDS_METRIC.namespace && a.MetricName === REJECTED_RECORDS_METRIC.metricName);
    // Powertools Metrics adds the service dimension: an alarm without it would watch a metric nobody publishes
    expect(rejected).toMatchObject({ Namespace: 'Tributary', MetricName: 'RejectedRecords', Dimensions: [{ Name: 'service', Value: 'tributary-writer' }], Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('sends every alarm to an encrypted, SSL-only SNS topic', () => {
    for (const a of alarms()) expect(a.AlarmActions).toEqual([topic()]);
    synth.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    synth.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topic()],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });
});

describe('outputs', () => {
  it('tells the operator where the API, MQTT endpoint, table, queue, Timestream table and admin token are', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    for (const name of ['ApiUrl', 'IotDataEndpoint', 'IotAuthorizerName', 'TableName', 'QueueUrl', 'TimestreamDatabase', 'TimestreamTable', 'AdminTokenSecretName']) {
      expect(outputs, name).toHaveProperty(name);
    }
    expect(outputs.IotDataEndpoint!.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/DataEndpoint/), 'endpointAddress'] });
    synth.template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ PasswordLength: Match.anyValue() }) });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('leaves no unacknowledged error', () => {
    expect(synth.nagReport.violations.filter((v) => v.severity === 'error')).toEqual([]);
  });

  it('leaves no unacknowledged warning', () => {
    expect(synth.nagReport.violations.filter((v) => v.severity === 'warning')).toEqual([]);
  });

  it('runs on synth and fails it on a finding nobody acknowledged', () => {
    // Bundling is skipped here: this app only needs the construct tree.
    const rogue = createTributaryApp(WITHOUT_BUNDLING);
    new Queue(rogue.stack, 'UnprotectedQueue');
    expect(rogue.nag.validateScope(rogue.app).violations.map((v) => v.ruleName)).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']),
    );
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(() => rogue.app.synth()).toThrow(/AwsSolutions-SQS3/);
    } finally {
      quiet.mockRestore();
    }
  });
});

describe('stack config', () => {
  const build = (config: unknown) => () => new TributaryStack(new App(), 'ConfigCheck', { config: config as never });

  it('refuses an unknown setting, so a typo fails at synth', () => {
    expect(build({ writer: { batchSise: 50 } })).toThrow(TributaryConfigError);
  });

  it('refuses fewer than 3 deliveries before the DLQ', () => {
    expect(build({ queue: { maxReceiveCount: 2 } })).toThrow(/maxReceiveCount/);
  });

  it('refuses a batch above 10 messages without a batching window', () => {
    expect(build({ writer: { batchSize: 50, maxBatchingWindowSeconds: 0 } })).toThrow(/maxBatchingWindowSeconds/);
  });

  it('refuses a log retention CloudWatch does not offer', () => {
    expect(build({ logRetentionDays: 31 })).toThrow(/logRetentionDays/);
  });
});

