import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbPullStateStore } from '../../shared/aws/dynamodb-pull-state';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { sqsPullDispatch } from '../../shared/aws/sqs-pull-dispatch';
import { systemClock } from '../../shared/ports';
import { powertools } from '../commons/powertools';
import { makeDispatcher } from './app';
import { dispatcherConfig } from './config';

const config = dispatcherConfig(process.env);
const { log, traced, observe } = powertools('pull-dispatcher');
const dynamo = traced(new DynamoDBClient({}));
const tick = makeDispatcher({
  registry: new DynamoDbRegistry({ client: dynamo, tableName: config.TABLE_NAME }),
  state: new DynamoDbPullStateStore({ client: dynamo, tableName: config.TABLE_NAME }),
  clock: systemClock,
  log,
  dispatch: sqsPullDispatch(traced(new SQSClient({})), config.PULL_QUEUE_URL),
  // EventBridge's rate(1 minute): a rate in seconds runs several times per tick, as delayed pull messages
  tickMs: 60_000,
});

/** EventBridge `rate(1 minute)` → the due pull streams, one pull queue message each. */
export const handler = observe(async (): Promise<{ dispatched: number }> => ({ dispatched: (await tick()).dispatched.length }));
