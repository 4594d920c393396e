import { describe, expect, it } from 'vitest';
import { WRITER_METRICS } from '../../infra/aws/constructs/dashboard';
import { API_P99_LATENCY_ALARM_MS } from '../../infra/aws/constructs/observability';
import { useSynthesizedTributary } from '../fixtures/synth';

// What an operator gets in CloudWatch: the dashboard's graphs (read from its rendered body) and the alarms
// on the API, Lambda throttles and DynamoDB throttles, each sent to the alarm topic.
const synth = useSynthesizedTributary();

/** The dashboard body with its CloudFormation references rendered as `<logical id>` / `<logical id>.<attr>`. */
function dashboardBody(): { widgets: { properties: { title: string; metrics: unknown[][] } }[] } {
  const [dashboard] = synth.ofType('AWS::CloudWatch::Dashboard');
  const parts = dashboard!.DashboardBody['Fn::Join'][1] as unknown[];
  const text = parts.map((p) => (typeof p === 'string' ? p : 'Ref' in (p as object) ? `<${(p as { Ref: string }).Ref}>` : `<${(p as { 'Fn::GetAtt': string[] })['Fn::GetAtt'].join('.')}>`)).join('');
  return JSON.parse(text);
}

const widget = (title: RegExp) => {
  const found = dashboardBody().widgets.find((w) => title.test(w.properties.title));
  if (!found) throw new Error(`no widget titled ${title}`);
  return found.properties.metrics.map((m) => m.filter((x) => typeof x === 'string').join(' '));
};

describe('the operations dashboard', () => {
  it('shows the ingest rate and the rejections from the writer’s own metrics, beside the API’s requests and 4xx', () => {
    expect(widget(/^Ingest: records stored/)).toEqual([expect.stringContaining(`Tributary ${WRITER_METRICS.written} service tributary-writer`), expect.stringContaining('AWS/ApiGateway Count')]);
    expect(widget(/^Rejections/)).toEqual([
      expect.stringContaining(`Tributary ${WRITER_METRICS.invalid}`),
      expect.stringContaining(`Tributary ${WRITER_METRICS.rejected}`),
      expect.stringContaining('AWS/ApiGateway 4xx'),
    ]);
  });

  it('shows the ingest queue’s age and its DLQ depth, for those two queues', () => {
    const [age, dlq] = widget(/^Ingest queue/);
    expect(age).toContain(`AWS/SQS ApproximateAgeOfOldestMessage QueueName <${synth.logicalId(synth.stack.ingest.queue)}.QueueName>`);
    expect(dlq).toContain(`AWS/SQS ApproximateNumberOfMessagesVisible QueueName <${synth.logicalId(synth.stack.ingest.deadLetterQueue)}.QueueName>`);
  });

  it('shows the writer’s duration, errors and throttles, Timestream’s write errors, DynamoDB throttles and the alert executions', () => {
    const writer = `<${synth.logicalId(synth.stack.ingest.writerFunction.fn)}>`;
    expect(widget(/^Writer/)).toEqual([`AWS/Lambda Duration FunctionName ${writer}`, `AWS/Lambda Duration FunctionName ${writer}`, `AWS/Lambda Errors FunctionName ${writer}`, `AWS/Lambda Throttles FunctionName ${writer}`]);
    const stores = widget(/^Timestream WriteRecords/);
    const database = `DatabaseName <${synth.logicalId(synth.stack.storage.timestream!.database)}>`;
    expect(stores.slice(0, 2)).toEqual([
      `AWS/Timestream UserErrors ${database} Operation WriteRecords TableName datapoints`,
      `AWS/Timestream SystemErrors ${database} Operation WriteRecords TableName datapoints`,
    ]);
    expect(stores.slice(2)).toEqual([expect.stringMatching(/^AWS\/DynamoDB ReadThrottleEvents TableName/), expect.stringMatching(/^AWS\/DynamoDB WriteThrottleEvents TableName/)]);
    const machine = `<${synth.logicalId(synth.stack.alerts.stateMachine)}>`;
    expect(widget(/^Alert actions/)).toEqual(['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed'].map((m) => `AWS/States ${m} StateMachineArn ${machine}`));
  });
});

describe('the alarms an operator is paged by', () => {
  const alarms = () => synth.ofType('AWS::CloudWatch::Alarm');
  const topic = () => ({ Ref: synth.logicalId(synth.stack.observability.alarmTopic) });

  it('pages on any 5xx of the HTTP API, and on its p99 latency over the bound for 15 minutes', () => {
    const api = { Ref: synth.logicalId(synth.stack.api.httpApi) };
    const errors = alarms().find((a) => a.Namespace === 'AWS/ApiGateway' && a.MetricName === '5xx');
    expect(errors).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Statistic: 'Sum', Dimensions: [{ Name: 'ApiId', Value: api }], AlarmActions: [topic()] });
    const latency = alarms().find((a) => a.Namespace === 'AWS/ApiGateway' && a.MetricName === 'Latency');
    expect(latency).toMatchObject({ Threshold: API_P99_LATENCY_ALARM_MS, ExtendedStatistic: 'p99', EvaluationPeriods: 3, Period: 300, AlarmActions: [topic()], OKActions: [topic()] });
  });

  it('pages on throttles of every function the errors alarms watch', () => {
    const watched = (metric: string) =>
      alarms()
        .filter((a) => a.Namespace === 'AWS/Lambda' && a.MetricName === metric)
        .map((a) => a.Dimensions[0].Value.Ref)
        .sort();
    expect(watched('Throttles')).toEqual(watched('Errors'));
    expect(watched('Throttles').length).toBeGreaterThanOrEqual(9);
  });

  it('pages on DynamoDB throttled reads or writes of the stream table', () => {
    const table = { Ref: synth.logicalId(synth.stack.storage.table) };
    const throttles = alarms().find((a) => a.Metrics?.some((m: { Expression?: string }) => m.Expression === 'reads + writes'));
    const names = throttles!.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map((m: { MetricStat: { Metric: { MetricName: string; Dimensions: unknown[] } } }) => [m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions]);
    expect(names).toEqual([
      ['ReadThrottleEvents', [{ Name: 'TableName', Value: table }]],
      ['WriteThrottleEvents', [{ Name: 'TableName', Value: table }]],
    ]);
    expect(throttles).toMatchObject({ Threshold: 0, AlarmActions: [topic()] });
  });
});

describe('per-stream metrics and health', () => {
  /** The per-stream widgets' SEARCH expressions (a metric entry `[{expression, label}]`). */
  const searches = (title: RegExp) => {
    const found = dashboardBody().widgets.find((w) => title.test(w.properties.title));
    if (!found) throw new Error(`no widget titled ${title}`);
    return found.properties.metrics.map((m) => (m[0] as { expression?: string }).expression);
  };

  it('graphs the writer’s EMF metrics one line per stream: points stored, invalid and refused records, the batch wait', () => {
    const search = (metric: string, stat: string) => `SEARCH('{Tributary,service,streamId} MetricName="${metric}" service="${WRITER_METRICS.service}"', '${stat}', 60)`;
    expect(searches(/^Per stream: points stored/)).toEqual([search('WrittenRecords', 'Sum')]);
    expect(searches(/^Per stream: invalid/)).toEqual([search('InvalidRecords', 'Sum'), search('RejectedRecords', 'Sum')]);
    expect(searches(/^Per stream: receive→stored/)).toEqual([search('IngestLatency', 'Maximum')]);
  });

  it('lets the streams function read the ingest queue’s attributes for the status, on that queue only and nothing else of it', () => {
    const streams = synth.stack.api.streamsFunction;
    const queue = synth.getAtt(synth.stack.ingest.queue, 'Arn');
    expect(synth.resourcesFor(streams, 'sqs:GetQueueAttributes')).toEqual([queue]);
    expect(synth.actionsOf(streams).filter((a) => a.startsWith('sqs:'))).toEqual(['sqs:GetQueueAttributes']);
    expect(synth.props(streams.fn).Environment.Variables.INGEST_QUEUE_URL).toEqual({ Ref: synth.logicalId(synth.stack.ingest.queue) });
  });
});
