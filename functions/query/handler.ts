import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { TimestreamPointStore } from '../../shared/aws/timestream-point-store';
import { systemClock } from '../../shared/ports';
import { jsonLogger } from '../commons/http';
import { makeQueryHandler } from './app';
import { queryConfig } from './config';

const config = queryConfig(process.env);

export const handler = makeQueryHandler({
  registry: new DynamoDbRegistry({ client: new DynamoDBClient({}), tableName: config.TABLE_NAME }),
  store: new TimestreamPointStore({
    writeClient: new TimestreamWriteClient({}),
    queryClient: new TimestreamQueryClient({}),
    database: config.TIMESTREAM_DATABASE,
    table: config.TIMESTREAM_TABLE,
  }),
  clock: systemClock,
  log: jsonLogger,
});
