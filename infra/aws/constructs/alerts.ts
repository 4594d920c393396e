import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { readAlertActionsAsl, type AlertActionsSubstitutions } from '../../../functions/alert-actions/definition';
import { ALERT_SECRET_PREFIX } from '../../../shared/aws/secrets-manager-source';
import { TributaryFunction } from './function';
import { acknowledge, nagEnv, subscribeEmail } from './nag';
import { grantInfluxAccess, pointStoreEnvironment, pointStoreNetwork, type PointStoreTarget } from './point-store-access';
import { pagingAlarm } from './observability';
import { grantIndexQuery, grantTableItems, grantTimestreamEndpoints, TABLE_READ_ACTIONS, TIMESTREAM_READ_ACTIONS } from './storage';

/** The MQTT topics alert actions may publish to: each stream's device tree, nothing else. */
export const ALERT_TOPIC_PATTERN = 'tributary/*/devices/*';

export interface AlertsProps {
  readonly table: dynamodb.ITable;
  /** Where the silence check and the writer's rules read points. */
  readonly pointStore: PointStoreTarget;
  /** The writer evaluates rules on every batch; it gets the state machine's ARN and the right to start it. */
  readonly writerFunction: TributaryFunction;
  /** Where the alarms on failed executions and on the alert functions go. */
  readonly alarmTopic: sns.ITopic;
  /** Subscribed to the alert email topic, if given. */
  readonly alertEmail?: string;
  /** The SES From address of emails with recipients; without it the actions function may not send through SES. */
  readonly alertEmailFrom?: string;
  /** Named ticket systems: name → URL. */
  readonly ticketSystems: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Alerts: the state machine that runs an alert's actions (the ASL file `alert-actions.asl.json`, its tasks on
 * the alert-actions function), the SNS topic of `email` actions, the silence check on an EventBridge
 * `rate(1 minute)` schedule, and alarms on failed executions. `mqtt_publish` may reach only
 * `tributary/*\/devices/*` through the IoT data plane.
 *
 * @example
 * const alerts = new Alerts(this, 'Alerts', {
 *   table, pointStore, writerFunction: ingest.writerFunction, alarmTopic: observability.alarmTopic, logRetention,
 * });
 */
export class Alerts extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly actionsFunction: TributaryFunction;
  readonly silenceFunction: TributaryFunction;
  readonly emailTopic: sns.Topic;
  readonly schedule: events.Rule;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    const { table, pointStore } = props;
    const stack = Stack.of(this);

    const key = new kms.Key(this, 'EmailTopicKey', { description: 'Tributary alert email topic encryption', enableKeyRotation: true });
    this.emailTopic = new sns.Topic(this, 'EmailTopic', { displayName: 'Tributary alerts', masterKey: key, enforceSSL: true });
    if (props.alertEmail) subscribeEmail(this.emailTopic, props.alertEmail);

    this.actionsFunction = new TributaryFunction(this, 'ActionsFunction', {
      handler: 'alert-actions',
      description: 'Tributary alert actions: webhook, ticket, email (SNS), MQTT publish and Slack, one attempt per invocation',
      memorySize: 256,
      timeout: Duration.seconds(30),
      environment: { TABLE_NAME: table.tableName, ALERT_TOPIC_ARN: this.emailTopic.topicArn, ...alertActionSettings(props) },
      logRetention: props.logRetention,
    });
    // Reads the signing secret, counts attempts and writes outcomes on the alert item.
    grantTableItems(table, this.actionsFunction.role, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    this.actionsFunction.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.emailTopic.topicArn] }));
    key.grant(this.actionsFunction.role, 'kms:Decrypt', 'kms:GenerateDataKey*');
    if (props.alertEmailFrom !== undefined) {
      // SES authorizes a send against the identity that verifies the From address: the address itself or its domain
      const domain = props.alertEmailFrom.slice(props.alertEmailFrom.lastIndexOf('@') + 1);
      this.actionsFunction.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['ses:SendEmail'],
          resources: [props.alertEmailFrom, domain].map((identity) => stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity })),
          conditions: { StringEquals: { 'ses:FromAddress': props.alertEmailFrom } },
        }),
      );
    }
    this.actionsFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['iot:Publish'], resources: [stack.formatArn({ service: 'iot', resource: 'topic', resourceName: ALERT_TOPIC_PATTERN })] }),
    );
    Validations.of(this.actionsFunction.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iot:${nagEnv(stack).region}:${nagEnv(stack).account}:topic/tributary/*/devices/*]`,
      reason:
        "mqtt_publish sends to a topic of the alert's stream, chosen per rule: iot:Publish is limited to the tree tributary/<streamId>/devices/ " +
        'that the IoT authorizer lets only that stream’s devices subscribe to; the data topics tributary/<streamId>/data stay out of reach.',
    });
    // Slack actions that name a secret read it here, and only secrets under the alert prefix
    this.actionsFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${ALERT_SECRET_PREFIX}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
    Validations.of(this.actionsFunction.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${nagEnv(stack).region}:${nagEnv(stack).account}:secret:${ALERT_SECRET_PREFIX}*]`,
      reason:
        `A Slack action names its webhook's secret per rule, so the names are not known at deploy time: the wildcard is confined to the ${ALERT_SECRET_PREFIX} prefix ` +
        'that only alert webhook URLs live under (pull credentials and the admin token are elsewhere), and only GetSecretValue is allowed.',
    });
    Validations.of(this.actionsFunction.role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason: 'Publishing to the encrypted alert topic needs a data key of its own KMS key; the statement names that one key only.',
    });

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention: props.logRetention });
    const substitutions: AlertActionsSubstitutions = {
      RunActionFunctionArn: this.actionsFunction.fn.functionArn,
      RecordOutcomesFunctionArn: this.actionsFunction.fn.functionArn,
    };
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromString(readAlertActionsAsl()),
      definitionSubstitutions: substitutions,
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      // Execution data stays out of the logs: a webhook URL may carry a token in its query.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.actionsFunction.fn.functionArn] }));
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the CloudWatch Logs delivery actions (logs:CreateLogDelivery, GetLogDelivery, ListLogDeliveries, …) and X-Ray tracing, which ' +
        'Step Functions needs for execution logging and tracing and which have no resource type; the invoke names the one function.',
    });

    this.silenceFunction = new TributaryFunction(this, 'SilenceFunction', {
      handler: 'silence',
      description: 'Tributary silence check: fires "no data for …" alert rules, every minute',
      memorySize: 256,
      timeout: Duration.seconds(50),
      environment: {
        TABLE_NAME: table.tableName,
        ...pointStoreEnvironment(pointStore),
        ALERT_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
      },
      logRetention: props.logRetention,
      ...pointStoreNetwork(pointStore),
    });
    grantInfluxAccess(this.silenceFunction, pointStore);
    grantTableItems(table, this.silenceFunction.role, [...TABLE_READ_ACTIONS, 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    grantIndexQuery(table, this.silenceFunction.role); // lists streams through gsi1
    this.grantAlertEvaluation(this.silenceFunction, pointStore);
    if (pointStore.kind === 'liveanalytics') grantTimestreamEndpoints(this.silenceFunction.role); // the writer has it already
    this.schedule = new events.Rule(this, 'SilenceSchedule', {
      description: 'Tributary silence check, every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.silenceFunction.fn, { retryAttempts: 0 })],
    });
    acknowledge(this.schedule, {
      'Serverless-EventBusDLQ':
        'The target is not retried (retryAttempts 0) and a missed tick needs no replay: the next check a minute later evaluates the same silence windows; ' +
        'the SilenceErrors alarm pages when checks fail.',
    });

    props.writerFunction.fn.addEnvironment('ALERT_STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    this.grantAlertEvaluation(props.writerFunction, pointStore);

    const action = new SnsAction(props.alarmTopic);
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string) =>
      this.alarms.push(pagingAlarm(this, alarmId, { metric, description, action }));
    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    alarm('FailedExecutions', this.stateMachine.metricFailed(fiveMinutes), 'An alert state machine execution failed as a whole (its outcomes may not be recorded).');
    alarm('TimedOutExecutions', this.stateMachine.metricTimedOut(fiveMinutes), 'An alert state machine execution timed out.');
    alarm('ActionsErrors', this.actionsFunction.fn.metricErrors(fiveMinutes), 'The alert actions function failed (an unhandled error or a timeout).');
    alarm('SilenceErrors', this.silenceFunction.fn.metricErrors(fiveMinutes), 'The silence check failed (an unhandled error or a timeout).');
    alarm('ActionsThrottles', this.actionsFunction.fn.metricThrottles(fiveMinutes), 'Lambda throttled the alert actions function: the account\'s concurrency is exhausted.');
    alarm('SilenceThrottles', this.silenceFunction.fn.metricThrottles(fiveMinutes), 'Lambda throttled the silence check: the account\'s concurrency is exhausted.');
  }

  /** What evaluating rules takes beyond the table: window queries and `latest` on Timestream (InfluxDB's secret is granted with the function), and starting executions. */
  private grantAlertEvaluation(fn: TributaryFunction, pointStore: PointStoreTarget): void {
    if (pointStore.kind === 'liveanalytics') fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...TIMESTREAM_READ_ACTIONS], resources: [pointStore.timestream.tableArn] }));
    fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [this.stateMachine.stateMachineArn] }));
  }
}

/**
 * What the streams function (checking rules on save) and the actions function (running them) know of the
 * deployment's email sender and ticket systems.
 *
 * @example
 * alertActionSettings({ alertEmailFrom: 'alerts@example.com', ticketSystems: {} }); // { TICKET_SYSTEMS: '{}', EMAIL_FROM: 'alerts@example.com' }
 */
export function alertActionSettings(props: { alertEmailFrom?: string | undefined; ticketSystems: Readonly<Record<string, string>> }): Record<string, string> {
  return { TICKET_SYSTEMS: JSON.stringify(props.ticketSystems), ...(props.alertEmailFrom !== undefined && { EMAIL_FROM: props.alertEmailFrom }) };
}
