import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { systemClock } from '../../shared/ports';
import { jsonLogger } from '../commons/http';
import { makeAlertsHandler } from './app';
import { alertsConfig } from './config';

const config = alertsConfig(process.env);
const client = new DynamoDBClient({});

const alerts = new DynamoDbAlertStore({ client, tableName: config.TABLE_NAME });

export const handler = makeAlertsHandler({
  registry: new DynamoDbRegistry({ client, tableName: config.TABLE_NAME }),
  alerts,
  secrets: alerts,
  clock: systemClock,
  log: jsonLogger,
});
