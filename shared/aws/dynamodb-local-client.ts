import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * A DynamoDB client for an endpoint on this machine (dynalite): a fixed region and dummy static
 * credentials, so nothing is read from the environment or `~/.aws`.
 *
 * @example
 * const client = localDynamoDbClient('http://127.0.0.1:4567');
 */
export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}
