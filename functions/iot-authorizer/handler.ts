import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbDeviceLookup } from '../../shared/aws/dynamodb-device-lookup';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { powertools } from '../commons/powertools';
import { makeIotAuthorizer } from './app';
import { iotAuthorizerConfig } from './config';

const config = iotAuthorizerConfig(process.env);
const { traced, observe } = powertools('iot-authorizer');
const client = traced(new DynamoDBClient({}));
const registry = new DynamoDbRegistry({ client, tableName: config.TABLE_NAME });

export const handler = observe(
  makeIotAuthorizer({
    tokens: registry,
    registry,
    devices: new DynamoDbDeviceLookup({ client, tableName: config.TABLE_NAME }),
    region: config.AWS_REGION,
    accountId: config.AWS_ACCOUNT_ID,
    partition: config.AWS_PARTITION,
  }),
);
