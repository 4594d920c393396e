import { GetQueueAttributesCommand, QueueDoesNotExist, RequestThrottled, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsQueueDepth } from '../../shared/aws/sqs-queue-depth';
import { QueueUnavailableError } from '../../shared/domain/errors';

// Shapes from the SQS API reference: GetQueueAttributes takes AttributeNames and answers
// `Attributes: {ApproximateNumberOfMessages: "12", ApproximateNumberOfMessagesNotVisible: "3"}`, numbers as strings.

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/tributary-ingest';
const client = new SQSClient({ region: 'eu-west-1' });
const sqs = mockClient(client);
const depth = new SqsQueueDepth({ client, queueUrl: QUEUE_URL });

beforeEach(() => sqs.reset());

describe('SqsQueueDepth', () => {
  it('adds the visible and in-flight estimates of the one queue, labelled approximate', async () => {
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '12', ApproximateNumberOfMessagesNotVisible: '3' } });
    expect(await depth.depth()).toEqual({ messages: 15, approximate: true });
    const [call] = sqs.commandCalls(GetQueueAttributesCommand);
    expect(call!.args[0].input).toEqual({ QueueUrl: QUEUE_URL, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] });
  });

  it('counts an attribute SQS left out as zero', async () => {
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '4' } });
    expect(await depth.depth()).toEqual({ messages: 4, approximate: true });
  });

  it('turns throttling and a missing queue into QueueUnavailableError with the cause', async () => {
    for (const error of [new RequestThrottled({ message: 'slow down', $metadata: {} }), new QueueDoesNotExist({ message: 'gone', $metadata: {} })]) {
      sqs.reset();
      sqs.on(GetQueueAttributesCommand).rejects(error);
      const err = await depth.depth().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueueUnavailableError);
      expect((err as QueueUnavailableError).cause).toBe(error);
    }
  });
});
