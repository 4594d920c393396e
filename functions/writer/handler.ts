import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDbEventStore } from '../../shared/aws/dynamodb-event-store';
import { S3EventArchive } from '../../shared/aws/s3-event-archive';
import { TieredEventSink } from '../../shared/aws/tiered-event-sink';
import { KMSClient } from '@aws-sdk/client-kms';
import { KmsReceiptSigner } from '../../shared/aws/kms-receipt-signer';
import { DynamoDbReceiptLedger } from '../../shared/aws/receipt-ledger';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { SfnAlertStarter } from '../../shared/aws/sfn-alert-starter';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { ApiGatewayLiveFanout } from '../../shared/aws/apigateway-live-fanout';
import { DynamoDbLiveConnections } from '../../shared/aws/dynamodb-live-connections';
import { makeAlertEvaluator } from '../commons/alert-evaluator';
import { DynamoDbDeviceLookup } from '../../shared/aws/dynamodb-device-lookup';
import { decodeWithTopics, makeTopicResolver } from '../../shared/aws/device-topic-messages';
import { pointStoreOf } from '../../shared/aws/point-store-of';
import { DynamoDbRollupBins } from '../../shared/aws/dynamodb-rollup-bins';
import { RollupPointStore } from '../../shared/aws/rollup-point-store';
import { systemClock } from '../../shared/ports';
import { powertools } from '../commons/powertools';
import { makeWriter, type QueueMessage } from './app';
import { writerConfig } from './config';

const config = writerConfig(process.env);
const { log, meter, traced, observe } = powertools('writer');
const dynamo = traced(new DynamoDBClient({}));
// raw points in the point store (Timestream for LiveAnalytics or InfluxDB), the stored rollups' bins in DynamoDB, recomputed per batch after its raw write
const store = new RollupPointStore({
  points: pointStoreOf(config, traced, { maxParallel: config.WRITE_PARALLELISM }),
  bins: new DynamoDbRollupBins({ client: dynamo, tableName: config.ROLLUPS_TABLE_NAME }),
});
// live subscriptions: each stored batch posted to the stream's WebSocket connections, within a time budget
const live =
  config.LIVE_CONNECTIONS_TABLE === undefined || config.LIVE_CALLBACK_URL === undefined
    ? undefined
    : new ApiGatewayLiveFanout({
        client: traced(new ApiGatewayManagementApiClient({ endpoint: config.LIVE_CALLBACK_URL })),
        connections: new DynamoDbLiveConnections({ client: dynamo, tableName: config.LIVE_CONNECTIONS_TABLE }),
        clock: systemClock,
        onError: (reason, fields) => log.error(reason, fields),
      });
const alerts =
  config.ALERT_STATE_MACHINE_ARN === undefined
    ? undefined
    : makeAlertEvaluator({
        store,
        alerts: new DynamoDbAlertStore({ client: dynamo, tableName: config.TABLE_NAME }),
        starter: new SfnAlertStarter({ client: traced(new SFNClient({})), stateMachineArn: config.ALERT_STATE_MACHINE_ARN }),
        clock: systemClock,
        log,
        ...(live && { live }),
      });
const registry = new DynamoDbRegistry({ client: dynamo, tableName: config.TABLE_NAME });
// messages of the device-topic rule carry their topic: the stream whose definition names it
const streamOfTopic = makeTopicResolver({ devices: new DynamoDbDeviceLookup({ client: dynamo, tableName: config.TABLE_NAME }), registry });
const s3 = traced(new S3Client({}));
const writeBatch = makeWriter({
  registry,
  store,
  events: new TieredEventSink({
    hot: new DynamoDbEventStore({ client: dynamo, tableName: config.EVENTS_TABLE_NAME }),
    cold: new S3EventArchive({ s3, bucket: config.EVENTS_BUCKET, dynamo, tableName: config.EVENTS_TABLE_NAME }),
  }),
  receipts: new DynamoDbReceiptLedger({ client: dynamo, tableName: config.EVENTS_TABLE_NAME, s3, bucket: config.EVENTS_BUCKET }),
  signer: new KmsReceiptSigner({ client: traced(new KMSClient({})), keyId: config.RECEIPT_KEY_ARN }),
  clock: systemClock,
  log,
  ...(alerts && { alerts }),
  ...(live && { live }),
});

/**
 * SQS → writer, with partial batch failures: only the messages whose write failed come back. Each
 * invocation publishes WrittenRecords, InvalidRecords, RejectedRecords and IngestLatency per stream; the
 * invalid messages no stream could be named for count in the function's total only.
 */
export const handler = observe(async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const messages: QueueMessage[] = await Promise.all(
    event.Records.map(async (r) => {
      const decoded = await decodeWithTopics(r.body, streamOfTopic);
      return decoded.ok ? { id: r.messageId, envelope: decoded.envelope } : { id: r.messageId, invalid: { ...(decoded.streamId && { streamId: decoded.streamId }), reason: decoded.reason } };
    }),
  );
  const summary = await writeBatch(messages);
  for (const [streamId, s] of Object.entries(summary.streams)) {
    meter.count('WrittenRecords', s.written, streamId);
    meter.count('InvalidRecords', s.invalid, streamId);
    meter.count('RejectedRecords', s.rejected, streamId);
    if (s.latencyMs !== undefined) meter.milliseconds('IngestLatency', s.latencyMs, streamId);
  }
  // the alarms read the function's totals, without a stream dimension
  meter.count('WrittenRecords', summary.written);
  meter.count('InvalidRecords', summary.invalid);
  meter.count('RejectedRecords', summary.rejected);
  return { batchItemFailures: summary.failedIds.map((itemIdentifier) => ({ itemIdentifier })) };
});
