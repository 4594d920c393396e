import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, serviceName } from '../../../functions/commons/meter';
import type { TributaryFunction } from './function';

/** The writer's counts over all streams (Powertools Metrics, EMF: namespace Tributary, dimension service). */
export const WRITER_METRICS = { namespace: METRICS_NAMESPACE, service: serviceName('writer'), written: 'WrittenRecords', invalid: 'InvalidRecords', rejected: 'RejectedRecords', latency: 'IngestLatency' } as const;

/**
 * One line per stream of a writer metric: a CloudWatch `SEARCH` over the per-stream EMF metrics (dimensions
 * `service` and `streamId`), so a new stream shows up without a deploy.
 *
 * @example
 * perStreamSearch('WrittenRecords', 'Sum'); // SEARCH('{Tributary,service,streamId} MetricName="WrittenRecords" service="tributary-writer"', 'Sum', 60)
 */
export function perStreamSearch(metricName: string, statistic: 'Sum' | 'Maximum' | 'p95'): string {
  return `SEARCH('{${WRITER_METRICS.namespace},service,streamId} MetricName="${metricName}" service="${WRITER_METRICS.service}"', '${statistic}', 60)`;
}

export interface OperationsDashboardProps {
  readonly httpApi: apigwv2.HttpApi;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly ingestFunction: TributaryFunction;
  readonly writerFunction: TributaryFunction;
  readonly table: dynamodb.ITable;
  /** The Timestream database and table the writer writes to (for its WriteRecords errors). */
  /** The LiveAnalytics store's database and table (its WriteRecords errors are graphed). */
  readonly timestream?: { readonly databaseName: string; readonly tableName: string };
  /** The InfluxDB store's instance name (its CPU and disk are graphed instead). */
  readonly influxInstanceName?: string;
  readonly alertStateMachine: sfn.IStateMachine;
}

/**
 * One CloudWatch dashboard for running Tributary: what comes in and what is refused, how far the queue is
 * behind and what is dead-lettered, how long the writer takes and whether it fails, whether Timestream or
 * DynamoDB push back, and what the alert actions do.
 *
 * @example
 * new OperationsDashboard(this, 'Dashboard', { httpApi, queue, deadLetterQueue, ingestFunction, writerFunction, table, timestream, alertStateMachine });
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(1);
    const sum = (metric: cloudwatch.IMetric, label: string) => (metric as cloudwatch.Metric).with({ period, statistic: cloudwatch.Stats.SUM, label });
    const writer = (name: string, label: string) => new cloudwatch.Metric({ namespace: WRITER_METRICS.namespace, metricName: name, dimensionsMap: { service: WRITER_METRICS.service }, period, statistic: cloudwatch.Stats.SUM, label });
    const timestream = (name: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Timestream',
        metricName: name,
        dimensionsMap: { Operation: 'WriteRecords', DatabaseName: props.timestream?.databaseName ?? '', TableName: props.timestream?.tableName ?? '' },
        period,
        statistic: cloudwatch.Stats.SUM,
        label,
      });
    const perStream = (name: string, statistic: 'Sum' | 'Maximum', label: string) =>
      new cloudwatch.MathExpression({ expression: perStreamSearch(name, statistic), usingMetrics: {}, label, period });
    const influx = (name: string, label: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/Timestream/InfluxDB', metricName: name, dimensionsMap: { DbInstanceName: props.influxInstanceName ?? '' }, period, statistic: cloudwatch.Stats.AVERAGE, label });
    const graph = (title: string, left: cloudwatch.IMetric[], right?: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, ...(right && { right }), width: 12, height: 6 });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          graph('Ingest: records stored and requests', [writer(WRITER_METRICS.written, 'records stored')], [sum(props.httpApi.metricCount(), 'API requests')]),
          graph('Rejections: invalid and refused records, 4xx', [writer(WRITER_METRICS.invalid, 'invalid (writer)'), writer(WRITER_METRICS.rejected, 'refused by Timestream')], [sum(props.httpApi.metricClientError(), 'API 4xx')]),
        ],
        [
          graph('Ingest queue: age of the oldest message (s) and DLQ depth', [props.queue.metricApproximateAgeOfOldestMessage({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest message age' })], [
            props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'DLQ messages' }),
          ]),
          graph(
            'Writer: duration (ms) and errors',
            [
              props.writerFunction.fn.metricDuration({ period, statistic: cloudwatch.Stats.p(50), label: 'p50' }),
              props.writerFunction.fn.metricDuration({ period, statistic: cloudwatch.Stats.p(99), label: 'p99' }),
            ],
            [sum(props.writerFunction.fn.metricErrors(), 'errors'), sum(props.writerFunction.fn.metricThrottles(), 'throttles')],
          ),
        ],
        [
          graph(props.timestream ? 'Timestream WriteRecords: errors (throttling included) and DynamoDB throttles' : 'InfluxDB CPU and disk (%) and DynamoDB throttles', props.timestream ? [timestream('UserErrors', 'Timestream user errors'), timestream('SystemErrors', 'Timestream system errors')] : [influx('CPUUtilization', 'InfluxDB CPU %'), influx('DiskUtilization', 'InfluxDB disk %')], [
            sum(props.table.metric('ReadThrottleEvents'), 'DynamoDB read throttles'),
            sum(props.table.metric('WriteThrottleEvents'), 'DynamoDB write throttles'),
          ]),
          graph('Alert actions: executions', [
            sum(props.alertStateMachine.metricStarted(), 'started'),
            sum(props.alertStateMachine.metricSucceeded(), 'succeeded'),
            sum(props.alertStateMachine.metricFailed(), 'failed'),
          ]),
        ],
        [
          graph('Per stream: points stored', [perStream('WrittenRecords', 'Sum', 'stored')]),
          graph('Per stream: invalid records (writer) and refused by the store', [perStream('InvalidRecords', 'Sum', 'invalid'), perStream('RejectedRecords', 'Sum', 'refused')]),
        ],
        [
          graph('Per stream: receive→stored wait of the oldest record of each batch (ms, max per minute)', [perStream(WRITER_METRICS.latency, 'Maximum', 'wait')]),
        ],
        [
          graph('API: latency (ms) and 5xx', [
            props.httpApi.metricLatency({ period, statistic: cloudwatch.Stats.p(50), label: 'p50' }),
            props.httpApi.metricLatency({ period, statistic: cloudwatch.Stats.p(99), label: 'p99' }),
          ], [sum(props.httpApi.metricServerError(), '5xx')]),
          graph('Ingest function: duration (ms), errors, throttles', [props.ingestFunction.fn.metricDuration({ period, statistic: cloudwatch.Stats.p(99), label: 'p99' })], [
            sum(props.ingestFunction.fn.metricErrors(), 'errors'),
            sum(props.ingestFunction.fn.metricThrottles(), 'throttles'),
          ]),
        ],
      ],
    });
  }
}
