import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { TributaryFunction } from '../../infra/aws/constructs/function';
import { PULL_TIMEOUT } from '../../infra/aws/constructs/pulls';
import { createTributaryApp } from '../../infra/aws/tributary-app';
import type { TributaryStack } from '../../infra/aws/tributary-stack';
import { type NagReport, synthesizeTributary, useSynthesizedTributary, WITHOUT_BUNDLING } from '../fixtures/synth';

// Bundling is skipped: these tests read the construct tree and IAM; the stack test bundles every handler.
const synth = useSynthesizedTributary();
const { getAtt, logicalId, props, ofType, actionsOf, resourcesFor } = synth;

describe('pull schedule', () => {
  it('fires the dispatcher every minute from one EventBridge rule', () => {
    const rule = props(synth.stack.pulls.schedule);
    expect(rule.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.State).toBe('ENABLED');
    expect(rule.Targets).toEqual([expect.objectContaining({ Arn: getAtt(synth.stack.pulls.dispatcherFunction.fn) })]);
    const permission = ofType('AWS::Lambda::Permission').find(
      (p) => JSON.stringify(p.FunctionName) === JSON.stringify(getAtt(synth.stack.pulls.dispatcherFunction.fn)),
    );
    expect(permission).toMatchObject({ Principal: 'events.amazonaws.com', SourceArn: getAtt(synth.stack.pulls.schedule) });
  });

  it('creates no EventBridge schedule per stream: the rule is the only one', () => {
    const targets = ofType('AWS::Events::Rule').flatMap((r) => r.Targets.map((t: { Arn: unknown }) => JSON.stringify(t.Arn)));
    expect(targets.filter((t) => t === JSON.stringify(getAtt(synth.stack.pulls.dispatcherFunction.fn)))).toHaveLength(1);
    expect(targets).not.toContain(JSON.stringify(getAtt(synth.stack.pulls.pullFunction.fn)));
    expect(ofType('AWS::Scheduler::Schedule')).toEqual([]);
  });
});

describe('pull queue', () => {
  it('moves a pull message to its own encrypted DLQ after at least 3 deliveries', () => {
    const queue = props(synth.stack.pulls.queue);
    expect(queue.RedrivePolicy.deadLetterTargetArn).toEqual(getAtt(synth.stack.pulls.deadLetterQueue));
    expect(queue.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(3);
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(props(synth.stack.pulls.deadLetterQueue).SqsManagedSseEnabled).toBe(true);
  });

  it('keeps a message invisible for six times the pull timeout', () => {
    const fn = props(synth.stack.pulls.pullFunction.fn);
    expect(fn.Timeout).toBe(PULL_TIMEOUT.toSeconds());
    expect(props(synth.stack.pulls.queue).VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
  });

  it('feeds the pull function one pull at a time with partial batch failures', () => {
    const mapping = ofType('AWS::Lambda::EventSourceMapping').find((m) => JSON.stringify(m.EventSourceArn) === JSON.stringify(getAtt(synth.stack.pulls.queue)));
    expect(mapping).toMatchObject({ FunctionName: { Ref: logicalId(synth.stack.pulls.pullFunction.fn) }, BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  });
});

describe('pull alarms', () => {
  it('pages through the alarm topic as soon as one pull message is in the pull DLQ', () => {
    const alarm = ofType('AWS::CloudWatch::Alarm').find((a) => a.Dimensions?.[0]?.Value?.['Fn::GetAtt']?.[0] === logicalId(synth.stack.pulls.deadLetterQueue));
    expect(alarm).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarm!.AlarmActions).toEqual([{ Ref: logicalId(synth.stack.observability.alarmTopic) }]);
  });
});

describe('pull functions IAM (least privilege)', () => {
  it('lets the pull function (and the ingest function, for webhook secrets) read secrets under tributary/pull/ only', () => {
    const pull = synth.stack.pulls.pullFunction;
    const ingest = synth.stack.ingest.ingestFunction;
    for (const fn of [pull, ingest]) {
      const secrets = resourcesFor(fn, 'secretsmanager:GetSecretValue');
      expect(secrets).toHaveLength(1);
      expect(JSON.stringify(secrets[0])).toMatch(/:secret:tributary\/pull\/\*"/);
    }
    for (const fn of synth.stack.node.findAll().filter((c): c is TributaryFunction => c instanceof TributaryFunction && c !== pull && c !== ingest)) {
      for (const r of resourcesFor(fn, 'secretsmanager:GetSecretValue')) expect(JSON.stringify(r)).not.toMatch(/tributary\/pull/);
    }
  });

  it('lets the pull function read and record state on the table, take pull messages, and send to the ingest queue, nothing more', () => {
    const pull = synth.stack.pulls.pullFunction;
    const own = actionsOf(pull).filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:'));
    const consume = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
    expect(own).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue', ...consume, 'sqs:SendMessage'].sort());
    expect(resourcesFor(pull, 'dynamodb:UpdateItem')).toEqual([getAtt(synth.stack.storage.table)]);
    expect(resourcesFor(pull, 'sqs:SendMessage')).toEqual([getAtt(synth.stack.ingest.queue)]);
    // the event source mapping's own grant: the pull queue, never the ingest queue
    for (const action of consume) expect(resourcesFor(pull, action), action).toEqual([getAtt(synth.stack.pulls.queue)]);
  });

  it('lets the dispatcher list streams through gsi1, read and claim pull state, and send to the pull queue only', () => {
    const dispatcher = synth.stack.pulls.dispatcherFunction;
    const own = actionsOf(dispatcher).filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:'));
    expect(own).toEqual(['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'sqs:SendMessage']);
    expect(resourcesFor(dispatcher, 'dynamodb:Query')).toEqual([{ 'Fn::Join': ['', [getAtt(synth.stack.storage.table), '/index/gsi1']] }]);
    expect(resourcesFor(dispatcher, 'sqs:SendMessage')).toEqual([getAtt(synth.stack.pulls.queue)]);
  });

  it('gives the pull function no VPC by default, and one when the stack is given a pull network', () => {
    expect(props(synth.stack.pulls.pullFunction.fn).VpcConfig).toBeUndefined();
    const inVpc = synthesizeTributary({
      stackProps: { pullNetwork: (s) => ({ vpc: new ec2.Vpc(s, 'PrivateDatabaseVpc', { maxAzs: 2, natGateways: 1, flowLogs: { all: {} } }) }) },
    });
    const { VpcConfig } = inVpc.props(inVpc.stack.pulls.pullFunction.fn);
    expect(VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    expect(VpcConfig.SecurityGroupIds.length).toBe(1);
    expect(inVpc.props(inVpc.stack.pulls.dispatcherFunction.fn).VpcConfig).toBeUndefined();
    expect(onPulls(inVpc.nagReport, inVpc.stack).map((v) => v.ruleName)).toEqual([]);
  });

  it('puts the pull function in the VPC of the pulls.vpc setting (a PLC or BACnet network), with its subnets and security group, and no unacknowledged cdk-nag finding', () => {
    const built = createTributaryApp({
      appProps: {
        context: {
          ...WITHOUT_BUNDLING.appProps.context,
          'tributary:pulls.vpc': '{"vpcId":"vpc-0a1b2c3d4e5f60718","subnetIds":["subnet-0a1b2c3d4e5f60718","subnet-0f1e2d3c4b5a69788"],"securityGroupIds":["sg-0a1b2c3d4e5f60718"]}',
        },
      },
    });
    const resources = Template.fromStack(built.stack).toJSON().Resources as Record<string, { Type: string; Properties: any }>;
    const fnProps = (fn: TributaryFunction) => resources[built.stack.getLogicalId(fn.fn.node.defaultChild as CfnElement)]!.Properties;
    expect(fnProps(built.stack.pulls.pullFunction).VpcConfig).toEqual({ SubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788'], SecurityGroupIds: ['sg-0a1b2c3d4e5f60718'] });
    // Lambda's own policy for the network interfaces, on the pull function's role only
    const vpcPolicy = (fn: TributaryFunction) => JSON.stringify(resources[built.stack.getLogicalId(fn.role.node.defaultChild as CfnElement)]!.Properties.ManagedPolicyArns ?? []);
    expect(vpcPolicy(built.stack.pulls.pullFunction)).toContain('AWSLambdaVPCAccessExecutionRole');
    for (const fn of built.stack.node.findAll().filter((c): c is TributaryFunction => c instanceof TributaryFunction && c !== built.stack.pulls.pullFunction)) {
      expect(fnProps(fn).VpcConfig, fn.node.path).toBeUndefined();
      expect(vpcPolicy(fn), fn.node.path).not.toContain('AWSLambdaVPCAccessExecutionRole');
    }
    expect(built.nag.validateScope(built.app).violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('refuses a pulls.vpc setting that is not a VPC, subnet and security group by id, naming the key', () => {
    expect(() =>
      createTributaryApp({ appProps: { context: { ...WITHOUT_BUNDLING.appProps.context, 'tributary:pulls.vpc': '{"vpcId":"my-vpc","subnetIds":[]}' } } }),
    ).toThrow(/tributary:pulls\.vpc\.vpcId: must be a VPC id[\s\S]*tributary:pulls\.vpc\.subnetIds/);
  });

  it('keeps the pull queue a standard queue: a 10-second poll\'s later runs in a minute are delayed messages, which FIFO queues cannot have', () => {
    expect(props(synth.stack.pulls.queue).FifoQueue).toBeUndefined();
    expect(actionsOf(synth.stack.pulls.dispatcherFunction)).toContain('sqs:SendMessage');
  });

  it('keeps the pull state in the single table: the functions get its name, no other table exists (but ingest\'s idempotency keys, the events, the live connections and the rollups\' bins)', () => {
    expect(ofType('AWS::DynamoDB::Table')).toHaveLength(5);
    for (const fn of [synth.stack.pulls.pullFunction, synth.stack.pulls.dispatcherFunction]) {
      expect(props(fn.fn).Environment.Variables.TABLE_NAME).toEqual({ Ref: logicalId(synth.stack.storage.table) });
    }
  });
});

describe('cdk-nag on the pulls construct', () => {
  it('leaves no unacknowledged finding on any pull resource', () => {
    expect(onPulls(synth.nagReport, synth.stack).map((v) => v.ruleName)).toEqual([]);
  });

  it('would report a finding on a pull resource nobody acknowledged', () => {
    const rogue = createTributaryApp(WITHOUT_BUNDLING);
    new Queue(rogue.stack.pulls, 'UnprotectedQueue');
    expect(onPulls(rogue.nag.validateScope(rogue.app), rogue.stack).map((v) => v.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-SQS3']));
  });
});

/** Violations whose resource is one of the Pulls construct's own resources. */
function onPulls(report: NagReport, target: TributaryStack) {
  const prefix = `${target.pulls.node.path}/`;
  return report.violations.filter((v) => v.violatingResources.some((r) => (r.constructPath ?? '').startsWith(prefix)));
}
