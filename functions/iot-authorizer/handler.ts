import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { makeIotAuthorizer } from './app';
import { iotAuthorizerConfig } from './config';

const config = iotAuthorizerConfig(process.env);

export const handler = makeIotAuthorizer({
  tokens: new DynamoDbRegistry({ client: new DynamoDBClient({}), tableName: config.TABLE_NAME }),
  region: config.AWS_REGION,
  accountId: config.AWS_ACCOUNT_ID,
  partition: config.AWS_PARTITION,
});
