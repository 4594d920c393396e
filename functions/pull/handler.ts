import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDbPullStateStore } from '../../shared/aws/dynamodb-pull-state';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { SecretsManagerSecretSource } from '../../shared/aws/secrets-manager-source';
import { SqsIngestQueue } from '../../shared/aws/sqs-ingest-queue';
import { decodePullMessage } from '../../shared/aws/sqs-pull-dispatch';
import { StreamConflictError, StreamNotFoundError, StreamPausedError } from '../../shared/domain/errors';
import { systemClock } from '../../shared/ports';
import { powertools } from '../commons/powertools';
import { type HttpEvent, type HttpResult } from '../commons/http';
import { makePullHttpHandler, makePullRunner } from './app';
import { BacnetReader } from './bacnet-source';
import { pullConfig } from './config';

const config = pullConfig(process.env);
const { log, meter, traced, observe } = powertools('pull');
const dynamo = traced(new DynamoDBClient({}));
const runPull = makePullRunner({
  registry: new DynamoDbRegistry({ client: dynamo, tableName: config.TABLE_NAME }),
  queue: new SqsIngestQueue({ client: traced(new SQSClient({})), queueUrl: config.QUEUE_URL }),
  state: new DynamoDbPullStateStore({ client: dynamo, tableName: config.TABLE_NAME }),
  secrets: new SecretsManagerSecretSource({ client: traced(new SecretsManagerClient({})), prefix: config.SECRET_PREFIX }),
  clock: systemClock,
  log,
  meter,
  // a VPC carries no broadcast: bacnet sources give their device's address, which answers to any port
  bacnet: new BacnetReader({ port: 0 }),
});
const http = makePullHttpHandler({ runPull, log });

/**
 * Runs the pulls the dispatcher put on the pull queue. A failed pull is recorded on its stream and not
 * retried through SQS (the next scheduled run retries); only an infrastructure failure (the table, the
 * registry) returns the message, which reaches the DLQ after `maxReceiveCount` deliveries.
 */
async function onQueue(event: SQSEvent): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const message = decodePullMessage(record.body);
    if (!message) {
      log.error('unreadable pull message dropped', { messageId: record.messageId });
      continue;
    }
    try {
      await runPull(message.streamId, 'schedule');
    } catch (err) {
      log.error('scheduled pull could not run', { streamId: message.streamId, error: (err as Error)?.name, reason: (err as Error)?.message });
      // deleted, paused or no longer a pull stream since it was dispatched: nothing to retry
      const gone = err instanceof StreamNotFoundError || err instanceof StreamPausedError || err instanceof StreamConflictError;
      if (!gone) failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}

/** One function, two triggers: the pull queue (scheduled pulls) and `POST /v1/streams/{id}/pull`. */
export const handler = observe((event: SQSEvent | HttpEvent, context: Context): Promise<SQSBatchResponse | HttpResult> =>
  'Records' in event ? onQueue(event) : http(event, context),
);
