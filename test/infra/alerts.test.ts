import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALERT_ACTIONS_ASL_PATH } from '../../functions/alert-actions/definition';
import { synthesizeTributary, useSynthesizedTributary } from '../fixtures/synth';

// Bundling is skipped: these tests read the construct tree and the template, not the bundles.
const synth = useSynthesizedTributary();
const { getAtt, logicalId, props, ofType, grantsOf, actionsOf, resourcesFor } = synth;

describe('alert state machine', () => {
  it('is the ASL file, its tasks substituted with the alert actions function', () => {
    const sm = props(synth.stack.alerts.stateMachine);
    expect(JSON.parse(sm.DefinitionString)).toEqual(JSON.parse(readFileSync(ALERT_ACTIONS_ASL_PATH, 'utf8')));
    expect(sm.DefinitionSubstitutions).toEqual({
      RunActionFunctionArn: getAtt(synth.stack.alerts.actionsFunction.fn),
      RecordOutcomesFunctionArn: getAtt(synth.stack.alerts.actionsFunction.fn),
    });
  });

  it('runs the actions in parallel with retries and backoff, catches each failure and then records the outcomes', () => {
    const asl = JSON.parse(props(synth.stack.alerts.stateMachine).DefinitionString);
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
    const sm = props(synth.stack.alerts.stateMachine);
    expect(sm.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    expect(sm.TracingConfiguration).toEqual({ Enabled: true });
    const roleId = sm.RoleArn['Fn::GetAtt'][0];
    expect(resourcesFor(roleId, 'lambda:InvokeFunction')).toEqual([getAtt(synth.stack.alerts.actionsFunction.fn)]);
  });

  it('pages on failed and timed-out executions through the alarm topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').filter((a) => a.Namespace === 'AWS/States');
    expect(alarms.map((a) => a.MetricName).sort()).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut']);
    for (const a of alarms) {
      expect(a.Dimensions).toEqual([{ Name: 'StateMachineArn', Value: { Ref: logicalId(synth.stack.alerts.stateMachine) } }]);
      expect(a.AlarmActions).toEqual([{ Ref: logicalId(synth.stack.observability.alarmTopic) }]);
      expect(a.Threshold).toBe(0);
    }
  });
});

describe('alert actions function', () => {
  it('publishes MQTT only under tributary/*/devices/*, email only to its encrypted topic, and touches only alert items', () => {
    const actions = synth.stack.alerts.actionsFunction;
    const g = grantsOf(actions);
    expect(resourcesFor(actions, 'iot:Publish')).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iot:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':topic/tributary/*/devices/*']] },
    ]);
    expect(resourcesFor(actions, 'sns:Publish')).toEqual([{ Ref: logicalId(synth.stack.alerts.emailTopic) }]);
    const dynamo = g.filter((x) => x.action.startsWith('dynamodb:'));
    expect([...new Set(dynamo.map((x) => x.action))].sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(dynamo.map((x) => x.resource)).toEqual(dynamo.map(() => getAtt(synth.stack.storage.table)));
    expect(g.map((x) => x.action)).not.toContain('iot:Subscribe');
    const topic = props(synth.stack.alerts.emailTopic);
    expect(topic.KmsMasterKeyId).toBeDefined();
  });

  it('lets the actions function read Slack webhook secrets under tributary/alert/ only, and no other function read them', () => {
    const actions = synth.stack.alerts.actionsFunction;
    const secrets = resourcesFor(actions, 'secretsmanager:GetSecretValue');
    expect(secrets).toHaveLength(1);
    expect(JSON.stringify(secrets[0])).toMatch(/:secret:tributary\/alert\/\*"/);
    for (const construct of synth.stack.node.findAll()) {
      if (construct === actions || !('role' in construct) || !('fn' in construct)) continue;
      for (const r of resourcesFor(construct as typeof actions, 'secretsmanager:GetSecretValue')) expect(JSON.stringify(r)).not.toMatch(/tributary\/alert/);
    }
  });

  it('is told its table and topic', () => {
    const vars = props(synth.stack.alerts.actionsFunction.fn).Environment.Variables;
    expect(vars).toMatchObject({ TABLE_NAME: { Ref: logicalId(synth.stack.storage.table) }, ALERT_TOPIC_ARN: { Ref: logicalId(synth.stack.alerts.emailTopic) } });
  });
});

describe('rule evaluation', () => {
  it('lets the writer start alert executions and query its Timestream table for windows', () => {
    const writer = synth.stack.ingest.writerFunction;
    expect(resourcesFor(writer, 'states:StartExecution')).toEqual([{ Ref: logicalId(synth.stack.alerts.stateMachine) }]);
    expect(resourcesFor(writer, 'timestream:Select')).toEqual([getAtt(synth.stack.storage.timestream!.table)]);
    const vars = props(writer.fn).Environment.Variables;
    expect(vars.ALERT_STATE_MACHINE_ARN).toEqual({ Ref: logicalId(synth.stack.alerts.stateMachine) });
  });

  it('runs the silence check every minute from EventBridge', () => {
    const rule = props(synth.stack.alerts.schedule);
    expect(rule.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Targets).toEqual([expect.objectContaining({ Arn: getAtt(synth.stack.alerts.silenceFunction.fn) })]);
    const silence = synth.stack.alerts.silenceFunction;
    expect(resourcesFor(silence, 'states:StartExecution')).toEqual([{ Ref: logicalId(synth.stack.alerts.stateMachine) }]);
    expect(resourcesFor(silence, 'dynamodb:Query')).toEqual(
      expect.arrayContaining([getAtt(synth.stack.storage.table), { 'Fn::Join': ['', [getAtt(synth.stack.storage.table), '/index/gsi1']] }]),
    );
  });

  it('serves the alerts API from its own function, listing by state through gsi1 only', () => {
    const alertsApi = synth.stack.api.alertsFunction;
    expect(actionsOf(alertsApi).filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    expect(resourcesFor(alertsApi, 'dynamodb:UpdateItem')).toEqual([getAtt(synth.stack.storage.table)]);
  });
});

describe('cdk-nag AwsSolutions on the alerts', () => {
  it('leaves no unacknowledged finding in the app', () => {
    expect(synth.nagReport.violations).toEqual([]);
  });
});

describe('email to recipients and named ticket systems', () => {
  it('sends no email through SES without a sender: no ses grant, and the streams function refuses recipients', () => {
    const { actionsFunction } = synth.stack.alerts;
    expect(synth.grantsOf(actionsFunction).filter((g) => g.action.startsWith('ses:'))).toEqual([]);
    expect(synth.props(synth.stack.api.streamsFunction.fn).Environment.Variables.EMAIL_FROM).toBeUndefined();
  });

  it('with alertEmailFrom, may send only from that address, on its own or its domain\'s identity, and tells both functions the systems', () => {
    const withSender = synthesizeTributary({
      stackProps: { config: { alertEmailFrom: 'alerts@example.com', ticketSystems: { maintenance_system: 'https://tickets.example.com/api/tickets' } } },
    });
    const actions = withSender.stack.alerts.actionsFunction;
    const identity = (name: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:identity/${name}`]],
    });
    expect(withSender.resourcesFor(actions, 'ses:SendEmail')).toEqual([identity('alerts@example.com'), identity('example.com')]);
    const policies = withSender.ofType('AWS::IAM::Policy').flatMap((p) => p.PolicyDocument.Statement);
    const ses = policies.find((st: any) => st.Action === 'ses:SendEmail');
    expect(ses.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'alerts@example.com' } });
    for (const fn of [actions, withSender.stack.api.streamsFunction]) {
      expect(withSender.props(fn.fn).Environment.Variables).toMatchObject({
        EMAIL_FROM: 'alerts@example.com',
        TICKET_SYSTEMS: JSON.stringify({ maintenance_system: 'https://tickets.example.com/api/tickets' }),
      });
    }
    expect(withSender.nagReport.violations).toEqual([]);
  });

  it('refuses a ticket system URL that is not https, naming the setting', () => {
    expect(() => synthesizeTributary({ stackProps: { config: { ticketSystems: { helpdesk: 'http://tickets.example.com' } } } })).toThrow(/tributary:ticketSystems\.helpdesk: must be an https URL/);
  });
});
