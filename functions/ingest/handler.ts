import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { SqsIngestQueue } from '../../shared/aws/sqs-ingest-queue';
import { systemClock } from '../../shared/ports';
import { jsonLogger } from '../commons/http';
import { makeIngestHandler } from './app';
import { ingestConfig } from './config';

const config = ingestConfig(process.env);

export const handler = makeIngestHandler({
  registry: new DynamoDbRegistry({ client: new DynamoDBClient({}), tableName: config.TABLE_NAME }),
  queue: new SqsIngestQueue({ client: new SQSClient({}), queueUrl: config.QUEUE_URL }),
  clock: systemClock,
  log: jsonLogger,
});
