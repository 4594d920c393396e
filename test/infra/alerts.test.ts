import { readFileSync } from 'node:fs';
import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALERT_ACTIONS_ASL_PATH } from '../../functions/alert-actions/definition';
import type { TributaryFunction } from '../../infra/aws/constructs/function';
import { createTributaryApp } from '../../infra/aws/tributary-app';
import type { TributaryStack } from '../../infra/aws/tributary-stack';

type Resource = { Type: string; Properties: Record<string, any> };

// Bundling is skipped: these tests read the construct tree and the template, not the bundles.
let stack: TributaryStack;
let resources: Record<string, Resource>;
let nagReport: ReturnType<ReturnType<typeof createTributaryApp>['nag']['validateScope']>;

const logicalId = (c: IConstruct) => stack.getLogicalId(CfnElement.isCfnElement(c) ? c : (c.node.defaultChild as CfnElement));
const getAtt = (c: IConstruct, attr = 'Arn') => ({ 'Fn::GetAtt': [logicalId(c), attr] });
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every (action, resource) the policies attached to a role allow. */
function grants(roleId: string): { action: string; resource: unknown }[] {
  const out: { action: string; resource: unknown }[] = [];
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Policy' || !asArray(r.Properties.Roles).some((ref: any) => ref?.Ref === roleId)) continue;
    for (const s of r.Properties.PolicyDocument.Statement) {
      expect(s.Effect).toBe('Allow');
      for (const action of asArray<string>(s.Action)) for (const resource of asArray(s.Resource)) out.push({ action, resource });
    }
  }
  return out;
}
const resourcesOf = (roleId: string, action: string) => grants(roleId).filter((g) => g.action === action).map((g) => g.resource);
const fnGrants = (fn: TributaryFunction) => grants(logicalId(fn.role));

beforeAll(() => {
  const built = createTributaryApp({ appProps: { context: { 'aws:cdk:bundling-stacks': [] } } });
  stack = built.stack;
  resources = Template.fromStack(stack).toJSON().Resources;
  nagReport = built.nag.validateScope(built.app);
});

describe('alert state machine', () => {
  it('is the ASL file, its tasks substituted with the alert actions function', () => {
    const sm = resources[logicalId(stack.alerts.stateMachine)]!.Properties;
    expect(JSON.parse(sm.DefinitionString)).toEqual(JSON.parse(readFileSync(ALERT_ACTIONS_ASL_PATH, 'utf8')));
    expect(sm.DefinitionSubstitutions).toEqual({
      RunActionFunctionArn: getAtt(stack.alerts.actionsFunction.fn),
      RecordOutcomesFunctionArn: getAtt(stack.alerts.actionsFunction.fn),
    });
  });

  it('runs the actions in parallel with retries and backoff, catches each failure and then records the outcomes', () => {
    const asl = JSON.parse(resources[logicalId(stack.alerts.stateMachine)]!.Properties.DefinitionString);
    const map = asl.States[asl.StartAt];
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.actions', Next: 'RecordOutcomes' });
    const run = map.ItemProcessor.States.RunAction;
    expect(run.Resource).toBe('${RunActionFunctionArn}');
    const retry = run.Retry.find((r: any) => r.ErrorEquals.includes('States.ALL'));
    expect(retry.MaxAttempts).toBe(2);
    expect(retry.BackoffRate).toBeGreaterThan(1);
    expect(run.Catch[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'ActionFailed' });
    expect(asl.States.RecordOutcomes).toMatchObject({ Type: 'Task', Resource: '${RecordOutcomesFunctionArn}', End: true });
  });

  it('logs every event without execution data, traces, and may invoke only the actions function', () => {
    const sm = resources[logicalId(stack.alerts.stateMachine)]!.Properties;
    expect(sm.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    expect(sm.TracingConfiguration).toEqual({ Enabled: true });
    const roleId = sm.RoleArn['Fn::GetAtt'][0];
    expect(resourcesOf(roleId, 'lambda:InvokeFunction')).toEqual([getAtt(stack.alerts.actionsFunction.fn)]);
  });

  it('pages on failed and timed-out executions through the alarm topic', () => {
    const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.Namespace === 'AWS/States');
    expect(alarms.map((a) => a.Properties.MetricName).sort()).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut']);
    for (const a of alarms) {
      expect(a.Properties.Dimensions).toEqual([{ Name: 'StateMachineArn', Value: { Ref: logicalId(stack.alerts.stateMachine) } }]);
      expect(a.Properties.AlarmActions).toEqual([{ Ref: logicalId(stack.observability.alarmTopic) }]);
      expect(a.Properties.Threshold).toBe(0);
    }
  });
});

describe('alert actions function', () => {
  it('publishes MQTT only under tributary/*/devices/*, email only to its encrypted topic, and touches only alert items', () => {
    const g = fnGrants(stack.alerts.actionsFunction);
    expect(resourcesOf(logicalId(stack.alerts.actionsFunction.role), 'iot:Publish')).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iot:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':topic/tributary/*/devices/*']] },
    ]);
    expect(resourcesOf(logicalId(stack.alerts.actionsFunction.role), 'sns:Publish')).toEqual([{ Ref: logicalId(stack.alerts.emailTopic) }]);
    const dynamo = g.filter((x) => x.action.startsWith('dynamodb:'));
    expect([...new Set(dynamo.map((x) => x.action))].sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(dynamo.map((x) => x.resource)).toEqual(dynamo.map(() => getAtt(stack.storage.table)));
    expect(g.map((x) => x.action)).not.toContain('iot:Subscribe');
    const topic = resources[logicalId(stack.alerts.emailTopic)]!.Properties;
    expect(topic.KmsMasterKeyId).toBeDefined();
  });

  it('is told its table and topic', () => {
    const vars = resources[logicalId(stack.alerts.actionsFunction.fn)]!.Properties.Environment.Variables;
    expect(vars).toMatchObject({ TABLE_NAME: { Ref: logicalId(stack.storage.table) }, ALERT_TOPIC_ARN: { Ref: logicalId(stack.alerts.emailTopic) } });
  });
});

describe('rule evaluation', () => {
  it('lets the writer start alert executions and query its Timestream table for windows', () => {
    const role = logicalId(stack.ingest.writerFunction.role);
    expect(resourcesOf(role, 'states:StartExecution')).toEqual([{ Ref: logicalId(stack.alerts.stateMachine) }]);
    expect(resourcesOf(role, 'timestream:Select')).toEqual([getAtt(stack.storage.timestreamTable)]);
    const vars = resources[logicalId(stack.ingest.writerFunction.fn)]!.Properties.Environment.Variables;
    expect(vars.ALERT_STATE_MACHINE_ARN).toEqual({ Ref: logicalId(stack.alerts.stateMachine) });
  });

  it('runs the silence check every minute from EventBridge', () => {
    const rule = resources[logicalId(stack.alerts.schedule)]!.Properties;
    expect(rule.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Targets).toEqual([expect.objectContaining({ Arn: getAtt(stack.alerts.silenceFunction.fn) })]);
    const role = logicalId(stack.alerts.silenceFunction.role);
    expect(resourcesOf(role, 'states:StartExecution')).toEqual([{ Ref: logicalId(stack.alerts.stateMachine) }]);
    expect(resourcesOf(role, 'dynamodb:Query')).toEqual(
      expect.arrayContaining([getAtt(stack.storage.table), { 'Fn::Join': ['', [getAtt(stack.storage.table), '/index/gsi1']] }]),
    );
  });

  it('serves the alerts API from its own function, listing by state through gsi1 only', () => {
    const role = logicalId(stack.api.alertsFunction.role);
    expect([...new Set(fnGrants(stack.api.alertsFunction).filter((g) => g.action.startsWith('dynamodb:')).map((g) => g.action))].sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    expect(resourcesOf(role, 'dynamodb:UpdateItem')).toEqual([getAtt(stack.storage.table)]);
  });
});

describe('cdk-nag AwsSolutions on the alerts', () => {
  it('leaves no unacknowledged finding in the app', () => {
    expect(nagReport.violations).toEqual([]);
  });
});
