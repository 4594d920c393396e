import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEVICE_TOPIC_RULE_SQL } from '../../../shared/aws/device-topic-messages';
import { TributaryFunction } from './function';
import { grantTableItems, TABLE_READ_ACTIONS } from './storage';

/**
 * The topic rule's query: one SQS message per MQTT publish on `tributary/<streamId>/data`, carrying the raw
 * payload base64-encoded (so any payload, even one that is not JSON, reaches the writer to be validated and
 * counted), the stream id from the topic, the device id (the MQTT client id) and the receive time (epoch ms).
 */
export const INGEST_TOPIC_RULE_SQL =
  "SELECT encode(*, 'base64') AS payload, topic(2) AS streamId, clientid() AS deviceId, timestamp() AS receivedAt FROM 'tributary/+/data'";

export interface IotIngestProps {
  readonly table: dynamodb.ITable;
  /** The ingest queue the topic rule feeds. */
  readonly queue: sqs.IQueue;
  readonly logRetention: logs.RetentionDays;
}

/**
 * MQTT ingest through AWS IoT Core: a custom authorizer (username = device id, password = the stream's ingest
 * token, or the stream's own credentials; signing disabled, since devices send a password rather than a signed
 * token) and two topic rules: every publish on `tributary/+/data`, and every publish outside `tributary/` (a
 * stream's own topic, resolved by the writer), go to the ingest queue. Messages the rule cannot deliver go to a
 * CloudWatch log group (its error action) with their original payload, and an alarm watches that group.
 *
 * @example
 * const iotIngest = new IotIngest(this, 'Iot', { table, queue: ingest.queue, logRetention: RetentionDays.ONE_MONTH });
 * new CfnOutput(this, 'IotAuthorizerName', { value: iotIngest.authorizer.ref });
 */
export class IotIngest extends Construct {
  readonly authorizerFunction: TributaryFunction;
  readonly authorizer: iot.CfnAuthorizer;
  readonly topicRule: iot.CfnTopicRule;
  /** Publishes on a stream's own topic (any topic outside `tributary/`), to the same queue with their topic. */
  readonly deviceTopicRule: iot.CfnTopicRule;
  /** Where the topic rule's error action writes what it failed to deliver. */
  readonly ruleErrorLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: IotIngestProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.authorizerFunction = new TributaryFunction(this, 'AuthorizerFunction', {
      handler: 'iot-authorizer',
      description: 'Tributary IoT Core custom authorizer: MQTT username/password to a per-stream device policy',
      memorySize: 256,
      timeout: Duration.seconds(5),
      environment: { TABLE_NAME: props.table.tableName, AWS_ACCOUNT_ID: stack.account, AWS_PARTITION: stack.partition },
      logRetention: props.logRetention,
    });
    grantTableItems(props.table, this.authorizerFunction.role, TABLE_READ_ACTIONS);

    this.authorizer = new iot.CfnAuthorizer(this, 'Authorizer', {
      authorizerFunctionArn: this.authorizerFunction.fn.functionArn,
      signingDisabled: true,
      status: 'ACTIVE',
      enableCachingForHttp: false,
    });
    this.authorizerFunction.fn.addPermission('InvokeByIotAuthorizer', {
      principal: new iam.ServicePrincipal('iot.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceArn: this.authorizer.attrArn,
      sourceAccount: stack.account,
    });

    const ruleRole = new iam.Role(this, 'TopicRuleRole', {
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
      description: 'Tributary topic rule: send MQTT data to the ingest queue',
    });
    ruleRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.queue.queueArn] }));

    this.ruleErrorLogGroup = new logs.LogGroup(this, 'TopicRuleErrors', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const errorRole = new iam.Role(this, 'TopicRuleErrorRole', {
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
      description: 'Tributary topic rule error action: write undeliverable MQTT data to its log group',
    });
    errorRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        resources: [this.ruleErrorLogGroup.logGroupArn],
      }),
    );

    const toQueue = (description: string, sql: string): iot.CfnTopicRule.TopicRulePayloadProperty => ({
      description,
      sql,
      awsIotSqlVersion: '2016-03-23',
      ruleDisabled: false,
      actions: [{ sqs: { queueUrl: props.queue.queueUrl, roleArn: ruleRole.roleArn, useBase64: false } }],
      // Not the DLQ: it holds ingest envelopes the writer can be redriven with; an error-action
      // document in it would break a redrive. The log group keeps the original payload for replay.
      errorAction: { cloudwatchLogs: { logGroupName: this.ruleErrorLogGroup.logGroupName, roleArn: errorRole.roleArn } },
    });
    this.topicRule = new iot.CfnTopicRule(this, 'IngestRule', {
      topicRulePayload: toQueue('MQTT tributary/<streamId>/data to the Tributary ingest queue', INGEST_TOPIC_RULE_SQL),
    });
    // One rule for every stream's own topic, so creating a stream needs no redeploy: the writer finds the
    // stream of the message's topic in the device directory. It is evaluated for every publish in the
    // account outside tributary/ (README, Limits).
    this.deviceTopicRule = new iot.CfnTopicRule(this, 'DeviceTopicRule', {
      topicRulePayload: toQueue("MQTT on a stream's own topic to the Tributary ingest queue (the writer resolves the topic)", DEVICE_TOPIC_RULE_SQL),
    });
  }
}
