import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbDeviceClaims } from '../../shared/aws/dynamodb-device-claims';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import { DynamoDbPullStateStore } from '../../shared/aws/dynamodb-pull-state';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { DynamoDbLiveTickets } from '../../shared/aws/dynamodb-live-tickets';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsQueueDepth } from '../../shared/aws/sqs-queue-depth';
import { timestreamEraser } from '../../shared/aws/timestream-eraser';
import { systemClock } from '../../shared/ports';
import { powertools } from '../commons/powertools';
import { makeStreamsHandler } from './app';
import { streamsConfig } from './config';

const config = streamsConfig(process.env);
const { log, traced, observe } = powertools('streams');
const registry = new DynamoDbRegistry({ client: traced(new DynamoDBClient({})), tableName: config.TABLE_NAME });

const signingSecrets = new DynamoDbAlertStore({ client: traced(new DynamoDBClient({})), tableName: config.TABLE_NAME });

const pullState = new DynamoDbPullStateStore({ client: traced(new DynamoDBClient({})), tableName: config.TABLE_NAME });

export const handler = observe(
  makeStreamsHandler({
  registry,
  tokens: registry,
  clock: systemClock,
  log,
  signingSecrets,
  pullState,
  points: timestreamEraser,
  ruleFailures: signingSecrets,
  devices: new DynamoDbDeviceClaims({ client: traced(new DynamoDBClient({})), tableName: config.TABLE_NAME, registry }),
  liveTickets: new DynamoDbLiveTickets({ client: traced(new DynamoDBClient({})), tableName: config.TABLE_NAME }),
  ...(config.LIVE_WEBSOCKET_URL !== undefined && { websocketUrl: config.LIVE_WEBSOCKET_URL }),
  ...(config.INGEST_QUEUE_URL !== undefined && { queueDepth: new SqsQueueDepth({ client: traced(new SQSClient({})), queueUrl: config.INGEST_QUEUE_URL }) }),
  actions: { requireHttps: config.ALERT_ACTIONS_REQUIRE_HTTPS, ticketSystems: Object.keys(config.TICKET_SYSTEMS), emailRecipients: config.EMAIL_FROM !== undefined },
  }),
);
