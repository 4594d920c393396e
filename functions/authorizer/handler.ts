import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { adminTokenHashSource } from '../../shared/aws/admin-token-secret';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { hashToken } from '../../shared/tokens';
import { powertools } from '../commons/powertools';
import { makeHttpAuthorizer } from './app';
import { authorizerConfig } from './config';

const config = authorizerConfig(process.env);
const { traced, observe } = powertools('authorizer');

export const handler = observe(
  makeHttpAuthorizer({
    tokens: new DynamoDbRegistry({ client: traced(new DynamoDBClient({})), tableName: config.TABLE_NAME }),
    // read per request through a cache of ADMIN_TOKEN_CACHE_SECONDS: a rotation needs no cold start
    adminTokenHash: adminTokenHashSource({ client: traced(new SecretsManagerClient({})), secretId: config.ADMIN_TOKEN_SECRET_ARN, maxAgeSeconds: config.ADMIN_TOKEN_CACHE_SECONDS, hash: hashToken }),
  }),
);
