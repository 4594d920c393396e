import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { QueueUnavailableError } from '../domain/errors';

/** SendMessageBatch takes at most 10 entries (API reference). */
const MAX_BATCH_ENTRIES = 10;

/** The body of one pull queue message. */
export interface PullMessage {
  streamId: string;
}

/**
 * Puts one message per due stream on the pull queue, ten per `SendMessageBatch`. An entry SQS did not take
 * fails the whole dispatch with a `QueueUnavailableError`: the dispatcher has already moved those streams'
 * `nextRunAt`, so they run at their next scheduled time (the dispatcher logs it; the Lambda's error alarm fires).
 * With `delaySeconds` (at most 900, SQS's limit) the messages become visible that much later: the later runs of a
 * rate in seconds within the dispatcher's minute.
 *
 * @example
 * const dispatch = sqsPullDispatch(new SQSClient({}), process.env.PULL_QUEUE_URL!);
 * await dispatch(['vendor-readings', 'inventory']);
 */
export function sqsPullDispatch(client: SQSClient, queueUrl: string) {
  return async function dispatch(streamIds: string[], delaySeconds?: number): Promise<void> {
    const failed: string[] = [];
    for (let i = 0; i < streamIds.length; i += MAX_BATCH_ENTRIES) {
      const chunk = streamIds.slice(i, i + MAX_BATCH_ENTRIES);
      try {
        const out = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((streamId, n) => ({
              Id: String(n),
              MessageBody: JSON.stringify({ streamId } satisfies PullMessage),
              ...(delaySeconds !== undefined && delaySeconds > 0 && { DelaySeconds: Math.min(delaySeconds, 900) }),
            })),
          }),
        );
        for (const f of out.Failed ?? []) failed.push(chunk[Number(f.Id)] ?? f.Id ?? '?');
      } catch (err) {
        throw new QueueUnavailableError(`SQS SendMessageBatch to the pull queue failed (${(err as Error).name}).`, { cause: err });
      }
    }
    if (failed.length) throw new QueueUnavailableError(`The pull queue did not take the pulls of ${failed.join(', ')}.`);
  };
}

/**
 * Reads a pull queue message; `undefined` when it is not one.
 *
 * @example
 * decodePullMessage('{"streamId":"inventory"}'); // { streamId: 'inventory' }
 */
export function decodePullMessage(body: string): PullMessage | undefined {
  try {
    const parsed = JSON.parse(body) as { streamId?: unknown };
    return typeof parsed.streamId === 'string' && parsed.streamId.length > 0 ? { streamId: parsed.streamId } : undefined;
  } catch {
    return undefined;
  }
}
