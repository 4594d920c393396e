import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDbEventStore } from '../../shared/aws/dynamodb-event-store';
import { S3EventArchive } from '../../shared/aws/s3-event-archive';
import { S3ExportStore } from '../../shared/aws/s3-export-store';
import { S3PartStore } from '../../shared/aws/s3-part-store';
import { KMSClient } from '@aws-sdk/client-kms';
import { KmsReceiptSigner } from '../../shared/aws/kms-receipt-signer';
import { DynamoDbReceiptLedger } from '../../shared/aws/receipt-ledger';
import { TieredEventSource } from '../../shared/aws/tiered-event-source';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { pointStoreOf } from '../../shared/aws/point-store-of';
import { DynamoDbRollupBins } from '../../shared/aws/dynamodb-rollup-bins';
import { RollupReadStore } from '../../shared/aws/rollup-read-store';
import { systemClock } from '../../shared/ports';
import { powertools } from '../commons/powertools';
import { makeQueryHandler } from './app';
import { queryConfig } from './config';

const config = queryConfig(process.env);
const { log, traced, observe } = powertools('query');
const dynamo = traced(new DynamoDBClient({}));
const s3 = traced(new S3Client({}));

// queries at a stored granularity read the rollups' bins (DynamoDB), the others the point store (Timestream for LiveAnalytics or InfluxDB)
const store = new RollupReadStore({
  points: pointStoreOf(config, traced),
  bins: new DynamoDbRollupBins({ client: dynamo, tableName: config.ROLLUPS_TABLE_NAME }),
});

export const handler = observe(
  makeQueryHandler({
  registry: new DynamoDbRegistry({ client: traced(new DynamoDBClient({})), tableName: config.TABLE_NAME }),
  store,
  rollups: store,
  clock: systemClock,
  log,
  events: new TieredEventSource({
    hot: new DynamoDbEventStore({ client: dynamo, tableName: config.EVENTS_TABLE_NAME }),
    cold: new S3EventArchive({ s3, bucket: config.EVENTS_BUCKET, dynamo, tableName: config.EVENTS_TABLE_NAME }),
  }),
  parts: new S3PartStore({ s3, bucket: config.EVENTS_BUCKET }),
  exports: new S3ExportStore({ s3, bucket: config.EVENTS_BUCKET }),
  receipts: new DynamoDbReceiptLedger({ client: dynamo, tableName: config.EVENTS_TABLE_NAME, s3, bucket: config.EVENTS_BUCKET }),
  // the public key only: the query function may not sign
  receiptKeys: new KmsReceiptSigner({ client: traced(new KMSClient({})), keyId: config.RECEIPT_KEY_ARN }),
  }),
);
