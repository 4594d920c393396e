import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { systemClock } from '../../shared/ports';
import { powertools } from '../commons/powertools';
import { makeAlertsHandler } from './app';
import { alertsConfig } from './config';

const config = alertsConfig(process.env);
const { log, traced, observe } = powertools('alerts');
const client = traced(new DynamoDBClient({}));

const alerts = new DynamoDbAlertStore({ client, tableName: config.TABLE_NAME });

export const handler = observe(
  makeAlertsHandler({
    registry: new DynamoDbRegistry({ client, tableName: config.TABLE_NAME }),
    alerts,
    secrets: alerts,
    clock: systemClock,
    log,
  }),
);
