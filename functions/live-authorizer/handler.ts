import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { adminTokenHashSource } from '../../shared/aws/admin-token-secret';
import { DynamoDbLiveTickets } from '../../shared/aws/dynamodb-live-tickets';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { systemClock } from '../../shared/ports';
import { hashToken } from '../../shared/tokens';
import { makeDecide } from '../authorizer/app';
import { powertools } from '../commons/powertools';
import { makeLiveAuthorizer } from './app';
import { liveAuthorizerConfig } from './config';

const config = liveAuthorizerConfig(process.env);
const { traced, observe } = powertools('live-authorizer');
const dynamo = traced(new DynamoDBClient({}));

export const handler = observe(
  makeLiveAuthorizer({
    decide: makeDecide({
      tokens: new DynamoDbRegistry({ client: dynamo, tableName: config.TABLE_NAME }),
      adminTokenHash: adminTokenHashSource({ client: traced(new SecretsManagerClient({})), secretId: config.ADMIN_TOKEN_SECRET_ARN, maxAgeSeconds: config.ADMIN_TOKEN_CACHE_SECONDS, hash: hashToken }),
    }),
    tickets: new DynamoDbLiveTickets({ client: dynamo, tableName: config.TABLE_NAME }),
    clock: systemClock,
  }),
);
