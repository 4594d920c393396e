import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PULL_TIMEOUT } from '../../infra/aws/constructs/pulls';
import { createTributaryApp } from '../../infra/aws/tributary-app';
import type { TributaryStack } from '../../infra/aws/tributary-stack';
import type { TributaryFunction } from '../../infra/aws/constructs/function';

type Resource = { Type: string; Properties: Record<string, any> };

// Bundling is skipped: these tests read the construct tree and IAM; the stack test bundles every handler.
let stack: TributaryStack;
let resources: Record<string, Resource>;
let nagReport: ReturnType<ReturnType<typeof createTributaryApp>['nag']['validateScope']>;

const logicalId = (c: IConstruct) => stack.getLogicalId(CfnElement.isCfnElement(c) ? c : (c.node.defaultChild as CfnElement));
const getAtt = (c: IConstruct, attr = 'Arn') => ({ 'Fn::GetAtt': [logicalId(c), attr] });
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every (action, resource) an Allow statement attached to the function's role grants. */
function grantsOf(fn: TributaryFunction): { action: string; resource: unknown }[] {
  const role = logicalId(fn.role);
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && asArray(r.Properties.Roles).some((x: any) => x?.Ref === role))
    .flatMap((r) => r.Properties.PolicyDocument.Statement)
    .flatMap((s: any) => asArray<string>(s.Action).flatMap((action) => asArray(s.Resource).map((resource) => ({ action, resource }))));
}
const actionsOf = (fn: TributaryFunction) => [...new Set(grantsOf(fn).map((g) => g.action))].sort();
const resourcesFor = (fn: TributaryFunction, action: string) => grantsOf(fn).filter((g) => g.action === action).map((g) => g.resource);

beforeAll(() => {
  const built = createTributaryApp({ appProps: { context: { 'aws:cdk:bundling-stacks': [] } } });
  stack = built.stack;
  resources = Template.fromStack(stack).toJSON().Resources;
  nagReport = built.nag.validateScope(built.app);
});

describe('pull schedule', () => {
  it('fires the dispatcher every minute from one EventBridge rule', () => {
    const rule = resources[logicalId(stack.pulls.schedule)]!.Properties;
    expect(rule.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.State).toBe('ENABLED');
    expect(rule.Targets).toEqual([expect.objectContaining({ Arn: getAtt(stack.pulls.dispatcherFunction.fn) })]);
    const permission = Object.values(resources).find(
      (r) => r.Type === 'AWS::Lambda::Permission' && JSON.stringify(r.Properties.FunctionName) === JSON.stringify(getAtt(stack.pulls.dispatcherFunction.fn)),
    );
    expect(permission?.Properties).toMatchObject({ Principal: 'events.amazonaws.com', SourceArn: getAtt(stack.pulls.schedule) });
  });

  it('creates no EventBridge schedule per stream: the rule is the only one', () => {
    const targets = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Events::Rule')
      .flatMap((r) => r.Properties.Targets.map((t: { Arn: unknown }) => JSON.stringify(t.Arn)));
    expect(targets.filter((t) => t === JSON.stringify(getAtt(stack.pulls.dispatcherFunction.fn)))).toHaveLength(1);
    expect(targets).not.toContain(JSON.stringify(getAtt(stack.pulls.pullFunction.fn)));
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::Scheduler::Schedule')).toEqual([]);
  });
});

describe('pull queue', () => {
  it('moves a pull message to its own encrypted DLQ after at least 3 deliveries', () => {
    const queue = resources[logicalId(stack.pulls.queue)]!.Properties;
    expect(queue.RedrivePolicy.deadLetterTargetArn).toEqual(getAtt(stack.pulls.deadLetterQueue));
    expect(queue.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(3);
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(resources[logicalId(stack.pulls.deadLetterQueue)]!.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('keeps a message invisible for six times the pull timeout', () => {
    const fn = resources[logicalId(stack.pulls.pullFunction.fn)]!.Properties;
    expect(fn.Timeout).toBe(PULL_TIMEOUT.toSeconds());
    expect(resources[logicalId(stack.pulls.queue)]!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
  });

  it('feeds the pull function one pull at a time with partial batch failures', () => {
    const mapping = Object.values(resources).find(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(r.Properties.EventSourceArn) === JSON.stringify(getAtt(stack.pulls.queue)),
    )!.Properties;
    expect(mapping).toMatchObject({ FunctionName: { Ref: logicalId(stack.pulls.pullFunction.fn) }, BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  });
});

describe('pull alarms', () => {
  it('pages through the alarm topic as soon as one pull message is in the pull DLQ', () => {
    const alarm = Object.values(resources).find(
      (r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.Dimensions?.[0]?.Value?.['Fn::GetAtt']?.[0] === logicalId(stack.pulls.deadLetterQueue),
    )?.Properties;
    expect(alarm).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarm!.AlarmActions).toEqual([{ Ref: logicalId(stack.observability.alarmTopic) }]);
  });
});

describe('pull functions IAM (least privilege)', () => {
  it('lets the pull function read secrets under tributary/pull/ only', () => {
    const secrets = resourcesFor(stack.pulls.pullFunction, 'secretsmanager:GetSecretValue');
    expect(secrets).toHaveLength(1);
    expect(JSON.stringify(secrets[0])).toMatch(/:secret:tributary\/pull\/\*"/);
    for (const fn of Object.values(stack.node.findAll()).filter((c): c is TributaryFunction => 'role' in c && 'fn' in c && c !== stack.pulls.pullFunction)) {
      for (const r of resourcesFor(fn, 'secretsmanager:GetSecretValue')) expect(JSON.stringify(r)).not.toMatch(/tributary\/pull/);
    }
  });

  it('lets the pull function read and record state on the table, take pull messages, and send to the ingest queue, nothing more', () => {
    const own = actionsOf(stack.pulls.pullFunction).filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:'));
    const consume = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
    expect(own).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue', ...consume, 'sqs:SendMessage'].sort());
    expect(resourcesFor(stack.pulls.pullFunction, 'dynamodb:UpdateItem')).toEqual([getAtt(stack.storage.table)]);
    expect(resourcesFor(stack.pulls.pullFunction, 'sqs:SendMessage')).toEqual([getAtt(stack.ingest.queue)]);
    // the event source mapping's own grant: the pull queue, never the ingest queue
    for (const action of consume) expect(resourcesFor(stack.pulls.pullFunction, action), action).toEqual([getAtt(stack.pulls.queue)]);
  });

  it('lets the dispatcher list streams through gsi1, read and claim pull state, and send to the pull queue only', () => {
    const own = actionsOf(stack.pulls.dispatcherFunction).filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:'));
    expect(own).toEqual(['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'sqs:SendMessage']);
    expect(resourcesFor(stack.pulls.dispatcherFunction, 'dynamodb:Query')).toEqual([{ 'Fn::Join': ['', [getAtt(stack.storage.table), '/index/gsi1']] }]);
    expect(resourcesFor(stack.pulls.dispatcherFunction, 'sqs:SendMessage')).toEqual([getAtt(stack.pulls.queue)]);
  });

  it('gives the pull function no VPC by default, and one when the stack is given a pull network', () => {
    expect(resources[logicalId(stack.pulls.pullFunction.fn)]!.Properties.VpcConfig).toBeUndefined();
    const inVpc = createTributaryApp({
      appProps: { context: { 'aws:cdk:bundling-stacks': [] } },
      stackProps: { pullNetwork: (s) => ({ vpc: new ec2.Vpc(s, 'PrivateDatabaseVpc', { maxAzs: 2, natGateways: 1, flowLogs: { all: {} } }) }) },
    });
    const fn = inVpc.stack.pulls.pullFunction.fn;
    const props = Template.fromStack(inVpc.stack).toJSON().Resources[inVpc.stack.getLogicalId(fn.node.defaultChild as CfnElement)].Properties;
    expect(props.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    expect(props.VpcConfig.SecurityGroupIds.length).toBe(1);
    const dispatcher = inVpc.stack.pulls.dispatcherFunction.fn;
    expect(Template.fromStack(inVpc.stack).toJSON().Resources[inVpc.stack.getLogicalId(dispatcher.node.defaultChild as CfnElement)].Properties.VpcConfig).toBeUndefined();
    const prefix = `${inVpc.stack.pulls.node.path}/`;
    const findings = inVpc.nag.validateScope(inVpc.app).violations.filter((v) => v.violatingResources.some((r) => (r.constructPath ?? '').startsWith(prefix)));
    expect(findings.map((v) => v.ruleName)).toEqual([]);
  });

  it('keeps the pull state in the single table: the functions get its name, no other table exists', () => {
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::DynamoDB::Table')).toHaveLength(1);
    for (const fn of [stack.pulls.pullFunction, stack.pulls.dispatcherFunction]) {
      expect(resources[logicalId(fn.fn)]!.Properties.Environment.Variables.TABLE_NAME).toEqual({ Ref: logicalId(stack.storage.table) });
    }
  });
});

describe('cdk-nag on the pulls construct', () => {
  type Report = typeof nagReport;
  /** Violations whose resource is one of the Pulls construct's own resources. */
  const onPulls = (report: Report, target: TributaryStack) => {
    const prefix = `${target.pulls.node.path}/`;
    return report.violations.filter((v) => v.violatingResources.some((r) => (r.constructPath ?? '').startsWith(prefix)));
  };

  it('leaves no unacknowledged finding on any pull resource', () => {
    expect(onPulls(nagReport, stack).map((v) => v.ruleName)).toEqual([]);
  });

  it('would report a finding on a pull resource nobody acknowledged', () => {
    const rogue = createTributaryApp({ appProps: { context: { 'aws:cdk:bundling-stacks': [] } } });
    new Queue(rogue.stack.pulls, 'UnprotectedQueue');
    expect(onPulls(rogue.nag.validateScope(rogue.app), rogue.stack).map((v) => v.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-SQS3']));
  });
});
