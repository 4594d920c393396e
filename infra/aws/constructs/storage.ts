import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as timestream from 'aws-cdk-lib/aws-timestream';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { EVENTS_PREFIX } from '../../../shared/aws/s3-event-archive';
import { EXPORTS_PREFIX } from '../../../shared/aws/s3-export-store';
import { UPLOADS_PREFIX } from '../../../shared/aws/s3-upload-store';
import { TABLE_KEYS } from '../../../shared/aws/dynamodb-table';

/** Item reads the functions make: a stream, its stats, a token (all by key) and key-range queries. */
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query'] as const;

/** The events table's keys, as `eventsTableDefinition` (shared/aws/dynamodb-event-store.ts) makes it on one machine. */
export const EVENTS_KEYS = { partitionKey: 's', sortKey: 'e', ttlAttribute: 'expiresAt', index: { name: 'byValidTime', sortKey: 'v' } } as const;

/**
 * Grants `dynamodb:Query` on the events table and its valid-time index, named.
 *
 * @example
 * grantEventsQuery(storage.eventsTable, queryFunction.role);
 */
export function grantEventsQuery(table: dynamodb.ITable, grantee: iam.IGrantable): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [table.tableArn, `${table.tableArn}/index/${EVENTS_KEYS.index.name}`] });
}

/** An on-demand table with string keys, point-in-time recovery, AWS-managed encryption, a TTL attribute and one index. */
function keyedTable(
  scope: Construct,
  id: string,
  keys: { partitionKey: string; sortKey: string; ttlAttribute: string; index: { name: string; partitionKey: string; sortKey: string } },
): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: { name: keys.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: keys.sortKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    timeToLiveAttribute: keys.ttlAttribute,
  });
  table.addGlobalSecondaryIndex({
    indexName: keys.index.name,
    partitionKey: { name: keys.index.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: keys.index.sortKey, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.ALL,
  });
  return table;
}

/** The object actions `grantObjects` grants. */
export type ObjectAction = 's3:PutObject' | 's3:GetObject' | 's3:AbortMultipartUpload';

/**
 * Grants one S3 action (or a few) on the objects under each prefix of a bucket, and acknowledges cdk-nag's wildcard
 * finding for each with `reason`: object keys made at runtime (stream, day, request) are not known at deploy time.
 *
 * @example
 * grantObjects(writerFunction.role, eventsBucket, 's3:PutObject', [EVENTS_PREFIX], 'Archived events are …');
 */
export function grantObjects(role: iam.IRole, bucket: s3.IBucket, action: ObjectAction | readonly ObjectAction[], prefixes: readonly string[], reason: string): void {
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: typeof action === 'string' ? [action] : [...action], resources: prefixes.map((p) => bucket.arnForObjects(`${p}*`)) }));
  const bucketId = Stack.of(role).getLogicalId(bucket.node.defaultChild as CfnElement);
  for (const prefix of prefixes) Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`, reason });
}

/**
 * Grants item-level actions on the table itself and not on its indexes: `Table.grant*` would add
 * `<table>/index/*`, which only the streams function (listing via gsi1) needs.
 *
 * @example
 * grantTableItems(storage.table, ingestFunction.role, TABLE_READ_ACTIONS);
 */
export function grantTableItems(table: dynamodb.ITable, grantee: iam.IGrantable, actions: readonly string[]): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [table.tableArn] });
}

/**
 * Grants `dynamodb:Query` on gsi1, named, rather than the `<table>/index/*` that `Table.grant*` would add: for
 * the functions that list streams or alerts through the index.
 *
 * @example
 * grantIndexQuery(storage.table, dispatcherFunction.role);
 */
export function grantIndexQuery(table: dynamodb.ITable, grantee: iam.IGrantable): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${table.tableArn}/index/${TABLE_KEYS.index.name}`] });
}

/**
 * What reading the Timestream table takes: `Select` for the queries, and `DescribeTable` for the SQL
 * `DESCRIBE` that `TimestreamPointStore` sends through the same Query API to learn which columns exist
 * (Timestream authorizes a SQL statement by the action of the same name, as `SHOW MEASURES` by `ListMeasures`).
 *
 * @example
 * role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...TIMESTREAM_READ_ACTIONS], resources: [tableArn] }));
 */
export const TIMESTREAM_READ_ACTIONS = ['timestream:Select', 'timestream:DescribeTable'] as const;

/**
 * Grants `timestream:DescribeEndpoints` on `*`: the SDK discovers the cell endpoint before any Timestream call,
 * and the action has no resource type.
 *
 * @example
 * grantTimestreamEndpoints(queryFunction.role);
 */
export function grantTimestreamEndpoints(grantee: iam.IGrantable): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: ['timestream:DescribeEndpoints'], resourceArns: ['*'] });
}

/** The Timestream table's name: fixed, since table names are scoped to their (per-stack) database. */
export const TIMESTREAM_TABLE_NAME = 'datapoints';

/** Where Timestream puts reports of records it rejects asynchronously during magnetic store writes. */
export const REJECTED_REPORTS_PREFIX = 'timestream-rejected/';

export interface StorageProps {
  /**
   * The Timestream database's name. Default: none, so CloudFormation generates one unique to the stack (a
   * database retained by a deleted stack never collides with the next deploy's). Stacks deployed with a fixed
   * name set it to keep using their database.
   */
  readonly timestreamDatabaseName?: string;
  readonly memoryRetentionHours: number;
  readonly magneticRetentionDays: number;
  readonly rejectedReportExpirationDays: number;
  /** `false` (the `influxdb` store): no Timestream database, table or rejected-records bucket. Default `true`. */
  readonly liveAnalytics?: boolean;
}

/**
 * Where Tributary keeps things: the single DynamoDB table (streams, hashed tokens, counters; key design in
 * `shared/aws/dynamodb-table.ts`) and the Timestream database and `datapoints` table, with magnetic store
 * writes on for late data and an S3 bucket for the reports of records Timestream rejects asynchronously.
 * Their removal policy is the stack's `removalPolicy` setting (`removal.ts`), as for every stateful resource.
 *
 * @example
 * const storage = new Storage(this, 'Storage', {
 *   timestreamDatabaseName: 'tributary-Dev', memoryRetentionHours: 24, magneticRetentionDays: 365, rejectedReportExpirationDays: 90,
 * });
 * storage.table.grantReadData(fn);
 */
export class Storage extends Construct {
  readonly table: dynamodb.Table;
  /** Event streams' events: hot (`DynamoDbEventStore`) and the cold tier's manifests. */
  readonly eventsTable: dynamodb.Table;
  /** The stored rollups' bins (`DynamoDbRollupBins`): one item per stream, level, bin, series and field. */
  readonly rollupsTable: dynamodb.Table;
  /** The cold tier of events (`S3EventArchive`). */
  readonly eventsBucket: s3.Bucket;
  /** The asymmetric key every receipt's chain hash is signed with (`KmsReceiptSigner`). */
  readonly receiptKey: kms.Key;
  /** Timestream for LiveAnalytics' database, table and rejected-records bucket; absent with `liveAnalytics: false`. */
  readonly timestream?: {
    readonly database: timestream.CfnDatabase;
    readonly table: timestream.CfnTable;
    readonly rejectedRecordsBucket: s3.Bucket;
    /** The database name, as the functions receive it in `TIMESTREAM_DATABASE`. */
    readonly databaseName: string;
    /** The table name, as the functions receive it in `TIMESTREAM_TABLE`. */
    readonly tableName: string;
    /** `arn:…:timestream:<region>:<account>:database/<db>/table/<table>`: the resource of WriteRecords and Select. */
    readonly tableArn: string;
  };

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);

    this.table = keyedTable(this, 'Table', {
      partitionKey: TABLE_KEYS.partitionKey,
      sortKey: TABLE_KEYS.sortKey,
      ttlAttribute: TABLE_KEYS.ttlAttribute,
      index: { name: TABLE_KEYS.index.name, partitionKey: TABLE_KEYS.index.partitionKey, sortKey: TABLE_KEYS.index.sortKey },
    });
    // event streams' events, whole: by stream and event time, the valid-time index, TTL for ephemeral ones
    this.eventsTable = keyedTable(this, 'EventsTable', {
      partitionKey: EVENTS_KEYS.partitionKey,
      sortKey: EVENTS_KEYS.sortKey,
      ttlAttribute: EVENTS_KEYS.ttlAttribute,
      index: { name: EVENTS_KEYS.index.name, partitionKey: EVENTS_KEYS.partitionKey, sortKey: EVENTS_KEYS.index.sortKey },
    });

    // the stored rollups' bins, written whole per batch by the writer, read by the query function (no index, no TTL:
    // a bin is kept as long as the stream)
    this.rollupsTable = new dynamodb.Table(this, 'RollupsTable', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
    });

    // the cold tier of event streams' events: gzipped NDJSON per stream, day and batch (s3-event-archive.ts)
    this.eventsBucket = new s3.Bucket(this, 'EventsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // archived events are read rarely: Standard-IA after 30 days (S3's minimum for the transition)
        { id: 'events-to-infrequent-access', prefix: EVENTS_PREFIX, transitions: [{ storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) }] },
        // presigned uploads (their intents and files) are needed until completed: a day, completed or not
        { id: 'expire-uploads', prefix: UPLOADS_PREFIX, expiration: Duration.days(1) },
        // export files are fetched through an hour's presigned URL: kept a day
        { id: 'expire-exports', prefix: EXPORTS_PREFIX, expiration: Duration.days(1) },
      ],
    });
    Validations.of(this.eventsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only Tributary\'s functions put objects here (archived events, receipts, file parts, upload intents, export files) and clients only through presigned PUT URLs of ' +
        'one object each (uploads/, expired after a day); the query function reads events and parts and writes exports/ (expired after a day, read through presigned GET URLs of one object each); the bucket is ' +
        'private, SSL-only and encrypted. Access logs would need a second bucket that itself goes unlogged; reads by operators are visible in CloudTrail.',
    });

    // receipts are signed in KMS: the private key never leaves it, the writer may sign and nothing else may
    this.receiptKey = new kms.Key(this, 'ReceiptKey', {
      description: 'Tributary receipt signing: ECDSA P-256 signatures of each stored batch receipt chain hash',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
    });

    if (props.liveAnalytics !== false) {
      const rejectedRecordsBucket = new s3.Bucket(this, 'RejectedRecordsBucket', {
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycleRules: [{ prefix: REJECTED_REPORTS_PREFIX, expiration: Duration.days(props.rejectedReportExpirationDays) }],
      });
      Validations.of(rejectedRecordsBucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          'Only Timestream writes here (reports of records it rejected, which the writer already counts in the RejectedRecords metric); ' +
          'the bucket is private, SSL-only and its reports expire. Access logs would need a second bucket that itself goes unlogged; ' +
          'reads by operators are visible in CloudTrail.',
      });

      const tableName = TIMESTREAM_TABLE_NAME;
      const database = new timestream.CfnDatabase(this, 'TimestreamDatabase', {
        ...(props.timestreamDatabaseName !== undefined && { databaseName: props.timestreamDatabaseName }),
      });
      // Ref of a Timestream database is its name, the given one or the one CloudFormation generated.
      const databaseName = database.ref;
      Validations.of(database).acknowledge({
        id: 'AwsSolutions-TS3',
        reason:
          'Encrypted at rest with the AWS managed Timestream key. Who may read or write is decided by IAM on the timestream:* actions ' +
          '(only the writer and query roles, on this table); a customer managed key would add a key policy to keep in step without narrowing that.',
      });

      // The L1 passes these two properties through untouched, so they carry CloudFormation's own casing.
      const table = new timestream.CfnTable(this, 'TimestreamTable', {
        // the Ref also orders the table after the database
        databaseName,
        tableName,
        retentionProperties: {
          MemoryStoreRetentionPeriodInHours: String(props.memoryRetentionHours),
          MagneticStoreRetentionPeriodInDays: String(props.magneticRetentionDays),
        },
        magneticStoreWriteProperties: {
          EnableMagneticStoreWrites: true,
          MagneticStoreRejectedDataLocation: {
            S3Configuration: {
              BucketName: rejectedRecordsBucket.bucketName,
              EncryptionOption: 'SSE_S3',
              ObjectKeyPrefix: REJECTED_REPORTS_PREFIX,
            },
          },
        },
      });
      this.timestream = { database, table, rejectedRecordsBucket, databaseName, tableName, tableArn: table.attrArn };
    }
  }
}
