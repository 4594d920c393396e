import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { SfnAlertStarter } from '../../shared/aws/sfn-alert-starter';
import { makeAlertEvaluator } from '../commons/alert-evaluator';
import { DynamoDbDeviceLookup } from '../../shared/aws/dynamodb-device-lookup';
import { decodeWithTopics, makeTopicResolver } from '../../shared/aws/device-topic-messages';
import { timestreamPointStore } from '../../shared/aws/timestream-point-store';
import { systemClock } from '../../shared/ports';
import { jsonLogger } from '../commons/http';
import { makeWriter, type QueueMessage } from './app';
import { writerConfig } from './config';

const config = writerConfig(process.env);
const dynamo = new DynamoDBClient({});
const store = timestreamPointStore({ database: config.TIMESTREAM_DATABASE, table: config.TIMESTREAM_TABLE, maxParallel: config.WRITE_PARALLELISM });
const alerts =
  config.ALERT_STATE_MACHINE_ARN === undefined
    ? undefined
    : makeAlertEvaluator({
        store,
        alerts: new DynamoDbAlertStore({ client: dynamo, tableName: config.TABLE_NAME }),
        starter: new SfnAlertStarter({ client: new SFNClient({}), stateMachineArn: config.ALERT_STATE_MACHINE_ARN }),
        clock: systemClock,
        log: jsonLogger,
      });
const registry = new DynamoDbRegistry({ client: dynamo, tableName: config.TABLE_NAME });
// messages of the device-topic rule carry their topic: the stream whose definition names it
const streamOfTopic = makeTopicResolver({ devices: new DynamoDbDeviceLookup({ client: dynamo, tableName: config.TABLE_NAME }), registry });
const writeBatch = makeWriter({
  registry,
  store,
  clock: systemClock,
  log: jsonLogger,
  ...(alerts && { alerts }),
});

/** SQS → writer, with partial batch failures: only the messages whose write failed come back. */
export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
  const messages: QueueMessage[] = await Promise.all(
    event.Records.map(async (r) => {
      const decoded = await decodeWithTopics(r.body, streamOfTopic);
      return decoded.ok ? { id: r.messageId, envelope: decoded.envelope } : { id: r.messageId, invalid: { ...(decoded.streamId && { streamId: decoded.streamId }), reason: decoded.reason } };
    }),
  );
  const summary = await writeBatch(messages);
  // CloudWatch embedded metric format: the RejectedRecords alarm reads this
  console.log(
    JSON.stringify({
      _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'Tributary', Dimensions: [[]], Metrics: [{ Name: 'RejectedRecords', Unit: 'Count' }, { Name: 'InvalidRecords', Unit: 'Count' }, { Name: 'WrittenRecords', Unit: 'Count' }] }] },
      RejectedRecords: summary.rejected,
      InvalidRecords: summary.invalid,
      WrittenRecords: summary.written,
    }),
  );
  return { batchItemFailures: summary.failedIds.map((itemIdentifier) => ({ itemIdentifier })) };
});
