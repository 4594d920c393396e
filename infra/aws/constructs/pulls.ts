import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PULL_SECRET_PREFIX } from '../../../shared/aws/secrets-manager-source';
import { type FunctionNetwork, TributaryFunction } from './function';
import { acknowledge, nagEnv } from './nag';
import { pagingAlarm } from './observability';
import { queueWithDeadLetter } from './queue';
import { grantIndexQuery, grantTableItems } from './storage';

export interface PullsProps {
  readonly table: dynamodb.ITable;
  /** The ingest queue pulled records go to, as pushed ones do. */
  readonly ingestQueue: sqs.IQueue;
  /** Deliveries of a pull message before it moves to the pull DLQ (≥ 3). */
  readonly maxReceiveCount: number;
  readonly logRetention: RetentionDays;
  /** Runs the pull function in a VPC, to reach a private database (none by default). */
  readonly network?: FunctionNetwork | undefined;
  /** Concurrent pull invocations the pull queue may start. */
  readonly maxConcurrency: number;
  /** Executions reserved for the pull function (none by default). */
  readonly reservedConcurrency?: number | undefined;
}

/** How long one pull may take: requests time out at 20 s each, a paged API makes several. */
export const PULL_TIMEOUT = Duration.seconds(90);

/**
 * Scheduled pulls: an EventBridge rule fires the dispatcher every minute; the dispatcher finds the pull
 * streams whose schedule is due (their `STREAM#<id>`/`PULL` item) and puts one message per pull on the pull
 * queue; the pull function runs each pull (REST API, PostgreSQL, a Modbus TCP or BACnet device) and sends the
 * records to the ingest queue. The same pull function answers `POST /v1/streams/{id}/pull`. A rate in seconds
 * (a PLC polled every 10 s) is that minute's runs, sent by the dispatcher as delayed messages.
 *
 * One dispatcher rule rather than a schedule per stream: streams are created and changed through the API at
 * any time, and one rule needs no EventBridge write permission at runtime, no schedule to keep in step with
 * the table, and no quota per stream; the schedule expressions are evaluated by the same code on one machine.
 *
 * Secrets are read from Secrets Manager under `tributary/pull/` only. The pull function has no VPC unless
 * `network` is given (a database in a private subnet, a plant's or building's network); a database stream then
 * sets `allowPrivateTargets` (device sources allow private targets by default).
 *
 * @example
 * const pulls = new Pulls(this, 'Pulls', {
 *   table: storage.table, ingestQueue: ingest.queue, maxReceiveCount: 5, maxConcurrency: 10, logRetention: RetentionDays.ONE_MONTH,
 * });
 */
export class Pulls extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly pullFunction: TributaryFunction;
  readonly dispatcherFunction: TributaryFunction;
  readonly schedule: events.Rule;
  /** `arn:…:secret:tributary/pull/*`: the only secrets the pull function may read. */
  readonly secretsArn: string;

  constructor(scope: Construct, id: string, props: PullsProps) {
    super(scope, id);
    const { table } = props;
    const stack = Stack.of(this);
    this.secretsArn = stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${PULL_SECRET_PREFIX}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });

    const queues = queueWithDeadLetter(this, {
      consumerTimeout: PULL_TIMEOUT,
      // a pull is due again a minute later at the earliest: an old message is not worth keeping long
      retentionPeriod: Duration.hours(1),
      maxReceiveCount: props.maxReceiveCount,
    });
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;

    this.pullFunction = new TributaryFunction(this, 'PullFunction', {
      handler: 'pull',
      description: 'Tributary pulls: REST APIs, PostgreSQL, Modbus TCP and BACnet devices on schedule (pull queue) and on POST /v1/streams/{id}/pull',
      memorySize: 512,
      timeout: PULL_TIMEOUT,
      environment: { TABLE_NAME: table.tableName, QUEUE_URL: props.ingestQueue.queueUrl, SECRET_PREFIX: PULL_SECRET_PREFIX },
      logRetention: props.logRetention,
      ...(props.network && { network: props.network }),
      ...(props.reservedConcurrency !== undefined && { reservedConcurrency: props.reservedConcurrency }),
    });
    if (props.network) {
      Validations.of(this.pullFunction.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason:
          'Added by Lambda itself when the pull function is put in a VPC: it only creates, describes and deletes the network interfaces ' +
          'the function needs in its subnets (ec2:*NetworkInterface*), which have no narrower resource at deploy time.',
      });
    }
    // reads the stream and its PULL item, takes the lease and records the run (UpdateItem)
    grantTableItems(table, this.pullFunction.role, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    props.ingestQueue.grant(this.pullFunction.role, 'sqs:SendMessage');
    this.pullFunction.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.secretsArn] }));
    Validations.of(this.pullFunction.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${nagEnv(stack).region}:${nagEnv(stack).account}:secret:${PULL_SECRET_PREFIX}*]`,
      reason:
        `Pull sources name their secrets at runtime (\${secret:NAME} in a stream definition), so the names are not known at deploy time; ` +
        `the wildcard is confined to the ${PULL_SECRET_PREFIX} prefix that only pull credentials live under, and only GetSecretValue is allowed.`,
    });
    this.pullFunction.fn.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true, maxConcurrency: props.maxConcurrency }),
    );
    acknowledge(this.pullFunction.fn, {
      'Serverless-LambdaEventSourceMappingDestination':
        'An SQS event source cannot have an on-failure destination (Lambda supports one for Kinesis, DynamoDB streams and Kafka only): ' +
        'failed messages go to the queue\'s dead-letter queue through its redrive policy, whose depth is alarmed.',
    });

    this.dispatcherFunction = new TributaryFunction(this, 'DispatcherFunction', {
      handler: 'pull-dispatcher',
      description: 'Tributary pull dispatcher: every minute, one pull queue message per due pull stream',
      memorySize: 256,
      timeout: Duration.seconds(50),
      environment: { TABLE_NAME: table.tableName, PULL_QUEUE_URL: this.queue.queueUrl },
      logRetention: props.logRetention,
    });
    // lists streams through gsi1, reads PULL items in batches, claims due runs (UpdateItem on nextRunAt)
    grantTableItems(table, this.dispatcherFunction.role, ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem']);
    grantIndexQuery(table, this.dispatcherFunction.role);
    this.queue.grant(this.dispatcherFunction.role, 'sqs:SendMessage');

    this.schedule = new events.Rule(this, 'DispatchEveryMinute', {
      description: 'Tributary: finds the pull streams that are due',
      schedule: events.Schedule.expression('rate(1 minute)'),
      targets: [new targets.LambdaFunction(this.dispatcherFunction.fn, { retryAttempts: 0 })],
    });
    acknowledge(this.schedule, {
      'Serverless-EventBusDLQ':
        'The target is not retried (retryAttempts 0) and a missed tick needs no replay: the next one a minute later finds the same due pulls; ' +
        "the dispatcher's Errors alarm pages when ticks fail.",
    });
  }

  /**
   * Pages when a pull message reaches the DLQ: the pull function failed on the infrastructure (the table,
   * the ingest queue) `maxReceiveCount` times. A source's own failures are on the stream's status instead.
   *
   * @example
   * pulls.addAlarms(new SnsAction(observability.alarmTopic));
   */
  addAlarms(action: cloudwatch.IAlarmAction): cloudwatch.Alarm[] {
    return [
      pagingAlarm(this, 'DeadLetterQueueDepth', {
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
        description: 'Pull messages are in the pull DLQ: the pull function failed them maxReceiveCount times. The streams pull again on schedule.',
        action,
      }),
    ];
  }
}
