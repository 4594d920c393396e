import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbEventStore } from '../../shared/aws/dynamodb-event-store';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { timestreamPointStore } from '../../shared/aws/timestream-point-store';
import { systemClock } from '../../shared/ports';
import { powertools } from '../commons/powertools';
import { makeQueryHandler } from './app';
import { queryConfig } from './config';

const config = queryConfig(process.env);
const { log, traced, observe } = powertools('query');

export const handler = observe(
  makeQueryHandler({
  registry: new DynamoDbRegistry({ client: traced(new DynamoDBClient({})), tableName: config.TABLE_NAME }),
  store: timestreamPointStore({ database: config.TIMESTREAM_DATABASE, table: config.TIMESTREAM_TABLE }, traced),
  clock: systemClock,
  log,
  events: new DynamoDbEventStore({ client: traced(new DynamoDBClient({})), tableName: config.EVENTS_TABLE_NAME }),
  }),
);
