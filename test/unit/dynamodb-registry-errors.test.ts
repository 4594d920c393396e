import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  PutItemCommand,
  ProvisionedThroughputExceededException,
  QueryCommand,
  RequestLimitExceeded,
  ResourceNotFoundException,
  ThrottlingException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { StoreUnavailableError, StreamConflictError, StreamNotFoundError } from '../../shared/domain/errors';
import type { Stream } from '../../shared/domain/stream-definition';

const dynamo = mockClient(DynamoDBClient);
afterEach(() => dynamo.reset());

const registry = () => new DynamoDbRegistry({ client: new DynamoDBClient({ region: 'eu-west-1' }), tableName: 'tributary' });
const $metadata = { httpStatusCode: 400, requestId: 'R1' };
const stream: Stream = {
  id: 'freezers',
  name: 'Freezers',
  type: 'iot_sensor',
  schema: { temperature: { type: 'number' } },
  timeField: 'timestamp',
  dimensions: [],
  tags: {},
  validation: 'strict',
  state: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  version: 1,
};

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail');
  return outcome;
}

describe('DynamoDbRegistry error translation', () => {
  const infrastructure: [string, Error][] = [
    ['ProvisionedThroughputExceededException', new ProvisionedThroughputExceededException({ message: 'slow down', $metadata })],
    ['RequestLimitExceeded', new RequestLimitExceeded({ message: 'account limit', $metadata })],
    ['ThrottlingException', new ThrottlingException({ message: 'throttled', $metadata })],
    ['InternalServerError', new InternalServerError({ message: 'oops', $metadata: { ...$metadata, httpStatusCode: 500 } })],
    ['ResourceNotFoundException (a missing table)', new ResourceNotFoundException({ message: 'no table', $metadata })],
    ['a network failure', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' })],
  ];

  it.each(infrastructure)('turns %s on a read into StoreUnavailableError that keeps the SDK error as cause', async (_, sdkError) => {
    dynamo.on(GetItemCommand).rejects(sdkError);
    const err = await failure(registry().get('freezers'));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).not.toBeInstanceOf(StreamNotFoundError);
    expect(err.cause).toBe(sdkError);
  });

  it.each(infrastructure)('turns %s on a stats update into StoreUnavailableError with its cause', async (_, sdkError) => {
    dynamo.on(UpdateItemCommand).rejects(sdkError);
    const err = await failure(registry().addStats('freezers', { at: Date.parse('2026-01-01T00:00:00Z'), points: 3, invalid: 0, rejected: 0, samples: [] }));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.cause).toBe(sdkError);
  });

  it('turns throttling while listing into StoreUnavailableError, not an empty page', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata });
    dynamo.on(QueryCommand).rejects(throttled);
    const err = await failure(registry().list({ tags: { env: 'prod' } }));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.cause).toBe(throttled);
  });

  it('turns a failed create condition into StreamConflictError', async () => {
    dynamo.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));
    dynamo.on(GetItemCommand).resolves({ Item: { pk: { S: 'STREAM#freezers' }, sk: { S: 'META' }, id: { S: 'freezers' }, definition: { S: '{}' } } });
    const err = await failure(registry().create(stream));
    expect(err).toBeInstanceOf(StreamConflictError);
    expect(err.message).toContain("'freezers' is taken");
  });

  it('turns a failed update condition on a missing stream into StreamNotFoundError', async () => {
    dynamo.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));
    dynamo.on(GetItemCommand).resolves({});
    expect(await failure(registry().update({ ...stream, version: 2 }))).toBeInstanceOf(StreamNotFoundError);
  });

  it('reports throttling during the conflict check as StoreUnavailableError, not as a conflict', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata });
    dynamo.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));
    dynamo.on(GetItemCommand).rejects(throttled);
    const err = await failure(registry().create(stream));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.cause).toBe(throttled);
  });
});
