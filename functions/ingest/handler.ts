import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbIdempotencyStore } from '../../shared/aws/dynamodb-idempotency-store';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { SqsIngestQueue } from '../../shared/aws/sqs-ingest-queue';
import { systemClock } from '../../shared/ports';
import { jsonLogger } from '../commons/http';
import { makeIngestHandler } from './app';
import { ingestConfig } from './config';

const config = ingestConfig(process.env);
const dynamodb = new DynamoDBClient({});

export const handler = makeIngestHandler({
  registry: new DynamoDbRegistry({ client: dynamodb, tableName: config.TABLE_NAME }),
  queue: new SqsIngestQueue({ client: new SQSClient({}), queueUrl: config.QUEUE_URL }),
  idempotency: new DynamoDbIdempotencyStore({ client: dynamodb, tableName: config.IDEMPOTENCY_TABLE_NAME, windowSeconds: config.IDEMPOTENCY_WINDOW_SECONDS }),
  clock: systemClock,
  log: jsonLogger,
});
