import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledge } from './nag';

/** How long a message that failed `maxReceiveCount` times waits in a dead-letter queue: SQS's maximum. */
export const DEAD_LETTER_RETENTION = Duration.days(14);

export interface QueueWithDeadLetterProps {
  /** How long the consuming function may run on one batch. */
  readonly consumerTimeout: Duration;
  /** The event source's batching window, if any: a message waits through it before the function gets it. */
  readonly batchingWindow?: Duration;
  /** How long the queue keeps a message nobody consumed. */
  readonly retentionPeriod: Duration;
  /** Deliveries of a message before it moves to the dead-letter queue (≥ 3, checked by the stack's config). */
  readonly maxReceiveCount: number;
}

/**
 * A queue that a Lambda function consumes and its dead-letter queue, both SQS-managed encrypted and refusing
 * requests without TLS. The visibility timeout is six times the consumer's timeout plus the batching window
 * (the Lambda guidance for SQS event sources), so a message is never redelivered while a function still
 * holds it.
 *
 * A function rather than a construct: the two queues are children of `scope` as `Queue` and
 * `DeadLetterQueue`, so the logical ids stay those of the stacks already deployed.
 *
 * @example
 * const { queue, deadLetterQueue } = queueWithDeadLetter(this, {
 *   consumerTimeout: Duration.seconds(90), retentionPeriod: Duration.hours(1), maxReceiveCount: 5,
 * });
 */
export function queueWithDeadLetter(scope: Construct, props: QueueWithDeadLetterProps): { queue: sqs.Queue; deadLetterQueue: sqs.Queue } {
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: DEAD_LETTER_RETENTION,
  });
  acknowledge(deadLetterQueue, {
    'Serverless-SQSRedrivePolicy':
      'This is the dead-letter queue itself: its messages are kept 14 days for inspection and a redrive to the source queue, an alarm watches its depth.',
  });
  const visibilitySeconds = 6 * props.consumerTimeout.toSeconds() + (props.batchingWindow?.toSeconds() ?? 0);
  const queue = new sqs.Queue(scope, 'Queue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: props.retentionPeriod,
    visibilityTimeout: Duration.seconds(visibilitySeconds),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
  });
  return { queue, deadLetterQueue };
}
