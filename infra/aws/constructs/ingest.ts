import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IDEMPOTENCY_TABLE_KEYS } from '../../../shared/aws/dynamodb-idempotency-table';
import { PULL_SECRET_PREFIX } from '../../../shared/aws/secrets-manager-source';
import { TributaryFunction } from './function';
import { grantInfluxAccess, pointStoreEnvironment, pointStoreNetwork, type PointStoreTarget } from './point-store-access';
import { acknowledge, nagEnv } from './nag';
import { queueWithDeadLetter } from './queue';
import { grantObjects, grantTableItems, grantTimestreamEndpoints, TABLE_READ_ACTIONS } from './storage';
import { EVENTS_PREFIX } from '../../../shared/aws/s3-event-archive';
import { PARTS_PREFIX } from '../../../shared/aws/s3-part-store';
import { UPLOADS_PREFIX } from '../../../shared/aws/s3-upload-store';
import { RECEIPTS_PARTITION_SUFFIX, RECEIPTS_PREFIX } from '../../../shared/aws/receipt-ledger';

export type { TimestreamTarget } from './point-store-access';

export interface WriterSettings {
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly maxConcurrency: number;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  readonly reservedConcurrency?: number | undefined;
}

export interface IngestProps {
  readonly table: dynamodb.ITable;
  /** Where the writer keeps event streams' events: hot, and the cold tier's manifests. */
  readonly eventsTable: dynamodb.ITable;
  /** The stored rollups' bins: the writer recomputes the bins each batch touches. */
  readonly rollupsTable: dynamodb.ITable;
  /** The cold tier of events. */
  readonly eventsBucket: s3.IBucket;
  /** The key receipts are signed with. */
  readonly receiptKey: kms.IKey;
  /** Where points go: Timestream for LiveAnalytics or InfluxDB (the writer then runs in its VPC). */
  readonly pointStore: PointStoreTarget;
  readonly writer: WriterSettings;
  /** Deliveries of a message before it moves to the DLQ (≥ 3). */
  readonly maxReceiveCount: number;
  readonly logRetention: RetentionDays;
}

/**
 * What the ingest function does with the idempotency table: Powertools' DynamoDB persistence layer claims a
 * key (conditional PutItem), reads a claimed one (GetItem, consistent), records completion (UpdateItem) and
 * releases a failed request's claim (DeleteItem). Expired keys are deleted by the table's TTL.
 */
export const IDEMPOTENCY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;

/**
 * The buffered write path: the SQS ingest queue (and its DLQ), the ingest function behind
 * `POST /v1/streams/{id}/data` that validates and enqueues, and the writer that drains the queue in batches
 * into Timestream, reporting partial batch failures so only the failed messages come back. The ingest
 * function's `Idempotency-Key`s live in a table of their own (TTL on `expiration`), which only it can touch.
 *
 * The queue's visibility timeout is six times the writer's timeout plus the batching window
 * (`queueWithDeadLetter`), so a message is never redelivered while a writer still holds it.
 *
 * @example
 * const ingest = new Ingest(this, 'Ingest', {
 *   table: storage.table,
 *   pointStore: { kind: 'liveanalytics', timestream: { databaseName: storage.timestreamDatabaseName, tableName: storage.timestreamTableName, tableArn: storage.timestreamTableArn } },
 *   writer: config.writer, maxReceiveCount: 5, logRetention: RetentionDays.ONE_MONTH,
 * });
 */
export class Ingest extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly idempotencyTable: dynamodb.Table;
  readonly ingestFunction: TributaryFunction;
  readonly writerFunction: TributaryFunction;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    const { table, pointStore, writer } = props;
    const writerTimeout = Duration.seconds(writer.timeoutSeconds);
    const batchingWindow = writer.maxBatchingWindowSeconds > 0 ? Duration.seconds(writer.maxBatchingWindowSeconds) : undefined;

    const queues = queueWithDeadLetter(this, {
      consumerTimeout: writerTimeout,
      ...(batchingWindow && { batchingWindow }),
      retentionPeriod: Duration.days(4),
      maxReceiveCount: props.maxReceiveCount,
    });
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;

    this.idempotencyTable = new dynamodb.Table(this, 'IdempotencyTable', {
      partitionKey: { name: IDEMPOTENCY_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: IDEMPOTENCY_TABLE_KEYS.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.ingestFunction = new TributaryFunction(this, 'IngestFunction', {
      handler: 'ingest',
      description: 'Tributary POST /v1/streams/{id}/data, webhooks and uploads: validates records and puts them on the ingest queue',
      memorySize: 512,
      timeout: Duration.seconds(10),
      environment: {
        TABLE_NAME: table.tableName,
        QUEUE_URL: this.queue.queueUrl,
        IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.tableName,
        SECRET_PREFIX: PULL_SECRET_PREFIX,
        EVENTS_BUCKET: props.eventsBucket.bucketName,
      },
      logRetention: props.logRetention,
    });
    this.queue.grant(this.ingestFunction.role, 'sqs:SendMessage');
    // the webhook URLs check signatures with the stream's `${secret:NAME}`, kept where pull credentials are
    const stack = Stack.of(this);
    const secrets = stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${PULL_SECRET_PREFIX}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.ingestFunction.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secrets] }));
    Validations.of(this.ingestFunction.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${nagEnv(stack).region}:${nagEnv(stack).account}:secret:${PULL_SECRET_PREFIX}*]`,
      reason:
        `Stream definitions name their webhook secrets at runtime (webhook.secret: \${secret:NAME}), so the names are not known at deploy time; ` +
        `the wildcard is confined to the ${PULL_SECRET_PREFIX} prefix that only stream credentials live under, and only GetSecretValue is allowed.`,
    });
    grantTableItems(table, this.ingestFunction.role, TABLE_READ_ACTIONS);
    grantTableItems(this.idempotencyTable, this.ingestFunction.role, IDEMPOTENCY_TABLE_ACTIONS);
    // a file's parts, stored before the request is acknowledged; never read back here
    grantObjects(
      this.ingestFunction.role,
      props.eventsBucket,
      's3:PutObject',
      [PARTS_PREFIX],
      "A file event's parts are objects named by stream, request and part (parts/<stream>/<request>/<n>), not known at deploy time; the ingest " +
        'function may only put objects under the parts/ prefix of the events bucket, never read, list or delete them.',
    );
    // presigned uploads: the intent it writes, the PUT URL it signs (a client's PUT is authorized as this role's),
    // and both read back at completion; listed only on the uploads/ prefix, to tell a missing file from a denied one
    grantObjects(
      this.ingestFunction.role,
      props.eventsBucket,
      ['s3:PutObject', 's3:GetObject'],
      [UPLOADS_PREFIX],
      'An upload is two objects named by stream and upload id (uploads/<stream>/<upload>.json and uploads/<stream>/<upload>), not known at deploy time; ' +
        'the ingest function may only put and get objects under the uploads/ prefix (a lifecycle rule expires them after a day), never delete them.',
    );
    this.ingestFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.eventsBucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${UPLOADS_PREFIX}*`] } } }),
    );

    this.writerFunction = new TributaryFunction(this, 'WriterFunction', {
      handler: 'writer',
      description: 'Tributary writer: ingest queue batches to Timestream WriteRecords, stream stats to DynamoDB',
      memorySize: writer.memorySize,
      timeout: writerTimeout,
      ...(writer.reservedConcurrency !== undefined && { reservedConcurrency: writer.reservedConcurrency }),
      environment: {
        TABLE_NAME: table.tableName,
        ...pointStoreEnvironment(pointStore),
        EVENTS_TABLE_NAME: props.eventsTable.tableName,
        EVENTS_BUCKET: props.eventsBucket.bucketName,
        RECEIPT_KEY_ARN: props.receiptKey.keyArn,
        ROLLUPS_TABLE_NAME: props.rollupsTable.tableName,
      },
      logRetention: props.logRetention,
      ...pointStoreNetwork(pointStore),
    });
    grantInfluxAccess(this.writerFunction, pointStore);
    // writes each touched rollup bin whole and reads a coarser bin's children (a key-range Query); never deletes
    grantTableItems(props.rollupsTable, this.writerFunction.role, ['dynamodb:BatchWriteItem', 'dynamodb:Query']);
    // puts events and cold manifests (idempotent by id and key), never reads or deletes them
    grantTableItems(props.eventsTable, this.writerFunction.role, ['dynamodb:BatchWriteItem']);
    // appends each batch's receipt (a PutItem on a free number only) after reading the chain's head: in the
    // receipts partitions (`<stream>#receipts`) alone, never an event's
    this.writerFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:Query'],
        resources: [props.eventsTable.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`*${RECEIPTS_PARTITION_SUFFIX}`] } },
      }),
    );
    grantObjects(
      this.writerFunction.role,
      props.eventsBucket,
      's3:PutObject',
      [EVENTS_PREFIX, RECEIPTS_PREFIX],
      'Archived events are written as objects named by stream, day and batch (events/<stream>/<day>/<first event id>.ndjson.gz), and each batch\'s receipt ' +
        'records as an object named by stream and batch hash (receipts/<stream>/<hash>.ndjson.gz), not known at deploy time; ' +
        'the writer may only put objects under the events/ and receipts/ prefixes of the events bucket, never read, list or delete them.',
    );
    // signs each receipt's chain hash with the receipt key, and may do nothing else with it
    props.receiptKey.grant(this.writerFunction.role, 'kms:Sign');
    if (pointStore.kind === 'liveanalytics') {
      this.writerFunction.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['timestream:WriteRecords'], resources: [pointStore.timestream.tableArn] }),
      );
      grantTimestreamEndpoints(this.writerFunction.role);
    }
    // Reads the stream, then adds to its counters (UpdateItem ADD); never deletes, never uses the index.
    // BatchGetItem: the alert states of the batch's series and rules, read by key in one call per 100
    grantTableItems(table, this.writerFunction.role, [...TABLE_READ_ACTIONS, 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);

    this.writerFunction.fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: writer.batchSize,
        ...(batchingWindow && { maxBatchingWindow: batchingWindow }),
        reportBatchItemFailures: true,
        maxConcurrency: writer.maxConcurrency,
      }),
    );
    acknowledge(this.writerFunction.fn, {
      'Serverless-LambdaEventSourceMappingDestination':
        'An SQS event source cannot have an on-failure destination (Lambda supports one for Kinesis, DynamoDB streams and Kafka only): ' +
        'failed messages go to the queue\'s dead-letter queue through its redrive policy, whose depth is alarmed.',
    });
  }
}
