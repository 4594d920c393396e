import { Aws, Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEVICE_TOPIC_RULE_SQL } from '../../../shared/aws/device-topic-messages';
import { TributaryFunction } from './function';
import { acknowledge } from './nag';
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
  /** The custom authorizer's name, which firmware embeds in its MQTT username: keep it stable. */
  readonly authorizerName: string;
}

/**
 * MQTT ingest through AWS IoT Core: a custom authorizer (username = device id, password = the stream's ingest
 * token, or the stream's own credentials; signing disabled, since devices send a password rather than a signed
 * token) and two topic rules: every publish on `tributary/+/data`, and every publish outside `tributary/` (a
 * stream's own topic, resolved by the writer), go to the ingest queue. Messages the rule cannot deliver go to a
 * CloudWatch log group (its error action) with their original payload, and an alarm watches that group.
 *
 * @example
 * const iotIngest = new IotIngest(this, 'Iot', { table, queue: ingest.queue, logRetention: RetentionDays.ONE_MONTH, authorizerName: 'Tributary-devices' });
 * new CfnOutput(this, 'IotDataEndpoint', { value: iotIngest.dataEndpoint });
 */
export class IotIngest extends Construct {
  readonly authorizerFunction: TributaryFunction;
  readonly authorizer: iot.CfnAuthorizer;
  readonly topicRule: iot.CfnTopicRule;
  /** Publishes on a stream's own topic (any topic outside `tributary/`), to the same queue with their topic. */
  readonly deviceTopicRule: iot.CfnTopicRule;
  /** Where the topic rule's error action writes what it failed to deliver. */
  readonly ruleErrorLogGroup: logs.LogGroup;
  /** The account's MQTT endpoint (`<prefix>-ats.iot.<region>.amazonaws.com`), read at deploy by `DescribeEndpoint`. */
  readonly dataEndpoint: string;

  constructor(scope: Construct, id: string, props: IotIngestProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.authorizerFunction = new TributaryFunction(this, 'AuthorizerFunction', {
      handler: 'iot-authorizer',
      description: 'Tributary IoT Core custom authorizer: MQTT username/password to a per-stream device policy',
      memorySize: 256,
      timeout: Duration.seconds(5),
      environment: { TABLE_NAME: props.table.tableName, AWS_ACCOUNT_ID: stack.account, AWS_PARTITION: Aws.PARTITION },
      logRetention: props.logRetention,
    });
    grantTableItems(props.table, this.authorizerFunction.role, TABLE_READ_ACTIONS);

    this.authorizer = new iot.CfnAuthorizer(this, 'Authorizer', {
      authorizerName: props.authorizerName,
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

    this.ruleErrorLogGroup = new logs.LogGroup(this, 'TopicRuleErrors', { retention: props.logRetention });
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

    // The data endpoint is per account and region and has no CloudFormation attribute: read it at deploy.
    const endpointCall = {
      service: 'Iot',
      action: 'describeEndpoint',
      parameters: { endpointType: 'iot:Data-ATS' },
      physicalResourceId: PhysicalResourceId.fromResponse('endpointAddress'),
    };
    // An own role, as for every function: the provider's default one carries AWSLambdaBasicExecutionRole.
    const endpointLogs = new logs.LogGroup(this, 'DataEndpointLogs', { retention: props.logRetention });
    const endpointRole = new iam.Role(this, 'DataEndpointRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Tributary: reads the IoT data endpoint at deploy',
    });
    endpointLogs.grantWrite(endpointRole);
    const endpoint = new AwsCustomResource(this, 'DataEndpoint', {
      onCreate: endpointCall,
      onUpdate: endpointCall,
      // iot:DescribeEndpoint has no resource type: "*" is the only resource it can be granted on
      policy: AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({ actions: ['iot:DescribeEndpoint'], resources: ['*'] })]),
      role: endpointRole,
      installLatestAwsSdk: false,
      memorySize: 256,
      logGroup: endpointLogs,
    });
    this.dataEndpoint = endpoint.getResponseField('endpointAddress');
    for (const c of [endpointRole, endpoint]) {
      acknowledge(c, {
        'AwsSolutions-IAM5[Resource::*]':
          'iot:DescribeEndpoint, the only action of this policy, has no resource type (Service Authorization Reference), so it can only be granted on "*"; it reads the endpoint address, nothing else.',
      });
    }
    const provider = stack.node.tryFindChild(`AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replaceAll('-', '')}`);
    if (provider) {
      acknowledge(provider, {
        'Serverless-LambdaDLQ':
          'The CDK provider of the DescribeEndpoint custom resource is invoked by CloudFormation, which waits for its answer and fails the deploy if none comes; there is nothing to replay.',
        'Serverless-LambdaTracing':
          'The CDK provider of the DescribeEndpoint custom resource runs once per deploy, outside any request path; its one SDK call is in its log group and in CloudTrail.',
        'AwsSolutions-L1':
          'The runtime of the CDK-managed provider function is chosen by aws-cdk-lib (its latest supported Node.js when the library was released), not by this app.',
        'Serverless-LambdaLatestVersion':
          'The runtime of the CDK-managed provider function is chosen by aws-cdk-lib (its latest supported Node.js when the library was released), not by this app.',
      });
    }
  }
}
