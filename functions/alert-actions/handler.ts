import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ALERT_SECRET_PREFIX, SecretsManagerSecretSource } from '../../shared/aws/secrets-manager-source';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import { IotDataAlertPublisher } from '../../shared/aws/iot-alert-publisher';
import { SesAlertEmailSender } from '../../shared/aws/ses-alert-email';
import { SnsAlertEmailSender } from '../../shared/aws/sns-alert-email';
import { systemClock } from '../../shared/ports';
import { powertools } from '../commons/powertools';
import { alertActionsConfig } from './config';
import { makeAlertTasks, type AlertTaskInput } from './tasks';

const config = alertActionsConfig(process.env);
const { meter, traced, observe } = powertools('alert-actions');
const alerts = new DynamoDbAlertStore({ client: traced(new DynamoDBClient({})), tableName: config.TABLE_NAME });
const tasks = makeAlertTasks({
  alerts,
  secrets: alerts,
  email: new SesAlertEmailSender({
    client: traced(new SESv2Client({})),
    from: config.EMAIL_FROM,
    topic: new SnsAlertEmailSender({ client: traced(new SNSClient({})), topicArn: config.ALERT_TOPIC_ARN }),
  }),
  ticketSystems: config.TICKET_SYSTEMS,
  mqtt: new IotDataAlertPublisher({ client: traced(new IoTDataPlaneClient(config.IOT_DATA_ENDPOINT ? { endpoint: config.IOT_DATA_ENDPOINT } : {})) }),
  clock: systemClock,
  meter,
  // Slack actions that name a secret: tributary/alert/NAME, read when the action runs (cached 5 minutes)
  slackSecrets: new SecretsManagerSecretSource({ client: traced(new SecretsManagerClient({})), prefix: ALERT_SECRET_PREFIX }),
  requireHttps: config.ALERT_ACTIONS_REQUIRE_HTTPS,
});

/**
 * The alert state machine's two tasks (`RunAction`, `RecordOutcomes` in alert-actions.asl.json), told apart
 * by `task`. A thrown error's `name` is what the ASL's Retry and Catch match.
 */
export const handler = observe(async (event: AlertTaskInput) => {
  if (event.task === 'run-action') return tasks.runAction(event);
  if (event.task === 'record-outcomes') return tasks.recordOutcomes(event);
  throw new TypeError(`Unknown alert task ${JSON.stringify((event as { task?: unknown }).task)}.`);
});
