import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { systemClock } from '../../shared/ports';
import { jsonLogger } from '../commons/http';
import { makeStreamsHandler } from './app';
import { streamsConfig } from './config';

const config = streamsConfig(process.env);
const registry = new DynamoDbRegistry({ client: new DynamoDBClient({}), tableName: config.TABLE_NAME });

export const handler = makeStreamsHandler({ registry, tokens: registry, clock: systemClock, log: jsonLogger });
