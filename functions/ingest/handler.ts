import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbIdempotencyStore } from '../../shared/aws/dynamodb-idempotency-store';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { SqsIngestQueue } from '../../shared/aws/sqs-ingest-queue';
import { systemClock } from '../../shared/ports';
import { powertools } from '../commons/powertools';
import { makeIngestHandler } from './app';
import { ingestConfig } from './config';

const config = ingestConfig(process.env);
const { log, meter, traced, observe } = powertools('ingest');
const dynamodb = traced(new DynamoDBClient({}));

export const handler = observe(
  makeIngestHandler({
    registry: new DynamoDbRegistry({ client: dynamodb, tableName: config.TABLE_NAME }),
    queue: new SqsIngestQueue({ client: traced(new SQSClient({})), queueUrl: config.QUEUE_URL }),
    idempotency: new DynamoDbIdempotencyStore({ client: dynamodb, tableName: config.IDEMPOTENCY_TABLE_NAME, windowSeconds: config.IDEMPOTENCY_WINDOW_SECONDS }),
    clock: systemClock,
    log,
    meter,
  }),
);
