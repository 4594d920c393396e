import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, serviceName } from '../../../functions/commons/meter';
import type { TributaryFunction } from './function';
import { subscribeEmail } from './nag';

/**
 * The writer's count of records Timestream refused, over all streams. The writer publishes it with Powertools
 * Metrics in CloudWatch embedded metric format (one JSON log line per invocation, namespace `Tributary`,
 * dimension `service: tributary-writer`; the per-stream counts carry `streamId` too), which CloudWatch Logs
 * turns into metrics. No PutMetricData call, so no IAM for it.
 */
export const REJECTED_RECORDS_METRIC = { namespace: METRICS_NAMESPACE, metricName: 'RejectedRecords', dimensionsMap: { service: serviceName('writer') } } as const;

/**
 * An alarm that pages through `action` when it fires and when it clears; missing data is not breaching.
 *
 * @example
 * pagingAlarm(this, 'FailedExecutions', { metric: machine.metricFailed(), description: 'An execution failed.', action: new SnsAction(topic) });
 */
export function pagingAlarm(
  scope: Construct,
  id: string,
  options: { metric: cloudwatch.IMetric; description: string; action: cloudwatch.IAlarmAction; threshold?: number; comparison?: cloudwatch.ComparisonOperator },
): cloudwatch.Alarm {
  const created = new cloudwatch.Alarm(scope, id, {
    metric: options.metric,
    threshold: options.threshold ?? 0,
    comparisonOperator: options.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription: options.description,
  });
  created.addAlarmAction(options.action);
  created.addOkAction(options.action);
  return created;
}

export interface ObservabilityProps {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Every function whose errors should page, by a short name used in the alarm's id. */
  readonly functions: Record<string, TributaryFunction>;
  /** The IoT topic rule's error-action log group: any event in it is MQTT data that did not reach the queue. */
  readonly topicRuleErrorLogGroup: logs.ILogGroup;
  readonly maxQueueAge: Duration;
  readonly alarmEmail?: string;
  /** The HTTP API: its 5xx answers and its latency page. */
  readonly httpApi: apigwv2.HttpApi;
  /** The stream table: its throttled reads and writes page. */
  readonly table: dynamodb.ITable;
}

/** API Gateway's p99 latency that pages when it holds for 15 minutes (its own limit is 30 s). */
export const API_P99_LATENCY_ALARM_MS = 5_000;

/**
 * Alarms on what loses or delays data, all sent to one encrypted SNS topic: messages in the DLQ, an ingest
 * queue falling behind, any function error, records Timestream rejected, and MQTT data the topic rule could
 * not deliver.
 *
 * @example
 * new Observability(this, 'Observability', {
 *   queue, deadLetterQueue, functions: { ingest, writer }, topicRuleErrorLogGroup, maxQueueAge: Duration.minutes(5),
 * });
 */
export class Observability extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);

    // A customer managed key: CloudWatch cannot use the AWS managed aws/sns key to publish.
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Tributary alarm topic encryption',
      enableKeyRotation: true,
    });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Tributary alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) subscribeEmail(this.alarmTopic, props.alarmEmail);
    const action = new SnsAction(this.alarmTopic);

    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string, threshold: number, comparison: cloudwatch.ComparisonOperator) => {
      const created = pagingAlarm(this, alarmId, { metric, description, threshold, comparison, action });
      this.alarms.push(created);
      return created;
    };
    const above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;

    alarm(
      'DeadLetterQueueDepth',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      'Ingest messages are in the DLQ: the writer failed them maxReceiveCount times. Inspect, fix, then redrive to the ingest queue.',
      0,
      above,
    );
    alarm(
      'IngestQueueAge',
      props.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      `The oldest ingest message is older than ${props.maxQueueAge.toSeconds()} s: the writer is falling behind or failing.`,
      props.maxQueueAge.toSeconds(),
      above,
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(
        `${name}Errors`,
        fn.fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        `The ${name} function failed (an unhandled error or a timeout).`,
        0,
        above,
      );
      alarm(
        `${name}Throttles`,
        fn.fn.metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        `Lambda throttled the ${name} function: the account's concurrency (or the function's reserved concurrency) is exhausted.`,
        0,
        above,
      );
    }
    alarm(
      'ApiServerErrors',
      props.httpApi.metricServerError({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      'The HTTP API answered 5xx: a handler failed, timed out, or a store was unavailable (503).',
      0,
      above,
    );
    const latency = new cloudwatch.Alarm(this, 'ApiLatency', {
      metric: props.httpApi.metricLatency({ period: Duration.minutes(5), statistic: cloudwatch.Stats.p(99) }),
      threshold: API_P99_LATENCY_ALARM_MS,
      comparisonOperator: above,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The HTTP API's p99 latency has been over ${API_P99_LATENCY_ALARM_MS} ms for 15 minutes.`,
    });
    latency.addAlarmAction(action);
    latency.addOkAction(action);
    this.alarms.push(latency);
    alarm(
      'TableThrottles',
      new cloudwatch.MathExpression({
        expression: 'reads + writes',
        usingMetrics: {
          reads: props.table.metric('ReadThrottleEvents', { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
          writes: props.table.metric('WriteThrottleEvents', { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        },
        label: 'DynamoDB throttle events',
        period: Duration.minutes(5),
      }),
      'DynamoDB throttled reads or writes of the stream table (its on-demand limits, or a hot partition).',
      0,
      above,
    );
    alarm(
      'RejectedRecords',
      new cloudwatch.Metric({ ...REJECTED_RECORDS_METRIC, period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      'Timestream rejected records (too old for the magnetic store, wrong measure type…); the stream status lists recent reasons.',
      0,
      above,
    );
    alarm(
      'TopicRuleErrors',
      new cloudwatch.Metric({
        namespace: 'AWS/Logs',
        metricName: 'IncomingLogEvents',
        dimensionsMap: { LogGroupName: props.topicRuleErrorLogGroup.logGroupName },
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      'The IoT topic rule could not put MQTT data on the ingest queue; the payloads are in the rule error log group.',
      0,
      above,
    );
  }
}
