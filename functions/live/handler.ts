import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLiveConnections } from '../../shared/aws/dynamodb-live-connections';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { systemClock } from '../../shared/ports';
import { powertools } from '../commons/powertools';
import { makeLiveSocketHandler } from './app';
import { liveConfig } from './config';

const config = liveConfig(process.env);
const { log, traced, observe } = powertools('live');
const dynamo = traced(new DynamoDBClient({}));

export const handler = observe(
  makeLiveSocketHandler({
    registry: new DynamoDbRegistry({ client: dynamo, tableName: config.TABLE_NAME }),
    connections: new DynamoDbLiveConnections({ client: dynamo, tableName: config.LIVE_CONNECTIONS_TABLE }),
    clock: systemClock,
    log,
  }),
);
