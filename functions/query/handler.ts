import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { timestreamPointStore } from '../../shared/aws/timestream-point-store';
import { systemClock } from '../../shared/ports';
import { jsonLogger } from '../commons/http';
import { makeQueryHandler } from './app';
import { queryConfig } from './config';

const config = queryConfig(process.env);

export const handler = makeQueryHandler({
  registry: new DynamoDbRegistry({ client: new DynamoDBClient({}), tableName: config.TABLE_NAME }),
  store: timestreamPointStore({ database: config.TIMESTREAM_DATABASE, table: config.TIMESTREAM_TABLE }),
  clock: systemClock,
  log: jsonLogger,
});
