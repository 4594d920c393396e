import { GetQueueAttributesCommand, type SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { QueueUnavailableError } from '../domain/errors';
import type { QueueDepth, QueueDepthReader } from '../ports';

/**
 * What `SqsQueueDepth` takes: a ready client and the ingest queue's URL.
 *
 * @example
 * const options: SqsQueueDepthOptions = { client: new SQSClient({}), queueUrl: config.QUEUE_URL };
 */
export interface SqsQueueDepthOptions {
  client: SQSClient;
  queueUrl: string;
}

/**
 * The ingest queue's depth from SQS's `ApproximateNumberOfMessages` (visible) plus
 * `ApproximateNumberOfMessagesNotVisible` (in flight to the writer): one `GetQueueAttributes` call, an
 * estimate SQS says may lag by about a minute, so labelled `approximate: true`.
 *
 * @example
 * const depth = new SqsQueueDepth({ client: new SQSClient({}), queueUrl: config.QUEUE_URL });
 * const { messages } = await depth.depth();
 */
export class SqsQueueDepth implements QueueDepthReader {
  private readonly client: SQSClient;
  private readonly queueUrl: string;

  constructor(options: SqsQueueDepthOptions) {
    this.client = options.client;
    this.queueUrl = options.queueUrl;
  }

  async depth(): Promise<QueueDepth> {
    try {
      const out = await this.client.send(
        new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      const n = (name: 'ApproximateNumberOfMessages' | 'ApproximateNumberOfMessagesNotVisible') => Number(out.Attributes?.[name] ?? 0);
      return { messages: n('ApproximateNumberOfMessages') + n('ApproximateNumberOfMessagesNotVisible'), approximate: true };
    } catch (err) {
      if (err instanceof SQSServiceException) throw new QueueUnavailableError('The ingest queue\'s depth could not be read.', { cause: err });
      throw err;
    }
  }
}
