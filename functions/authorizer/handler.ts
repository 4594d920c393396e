import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readAdminTokenHash } from '../../shared/aws/admin-token-secret';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { hashToken } from '../../shared/tokens';
import { makeHttpAuthorizer } from './app';
import { authorizerConfig } from './config';

const config = authorizerConfig(process.env);
const adminTokenHash = await readAdminTokenHash(new SecretsManagerClient({}), config.ADMIN_TOKEN_SECRET_ARN, hashToken);

export const handler = makeHttpAuthorizer({
  tokens: new DynamoDbRegistry({ client: new DynamoDBClient({}), tableName: config.TABLE_NAME }),
  adminTokenHash,
});
