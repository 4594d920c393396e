import {
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  InternalServerError,
  ItemCollectionSizeLimitExceededException,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError, TributaryError } from '../domain/errors';

/**
 * The one place where DynamoDB's errors are sorted, by class (never by message text or `.code`).
 *
 * Only a failed condition can be the client's doing (an id already taken, a stale version); the adapter
 * decides what it means for the operation at hand. Everything else is the infrastructure's failure and
 * becomes a `StoreUnavailableError` that keeps the SDK error as `cause`: throttling that outlasted the
 * SDK's retries, a missing table (not a missing stream), an internal error, a network failure.
 *
 * @example
 * try {
 *   await client.send(new PutItemCommand(input));
 * } catch (err) {
 *   if (isConditionFailure(err)) throw new StreamConflictError(`Stream id '${id}' is taken.`);
 *   throw toStoreError(err, 'PutItem');
 * }
 */
export function isConditionFailure(err: unknown): err is ConditionalCheckFailedException {
  return err instanceof ConditionalCheckFailedException;
}

/**
 * Wraps an infrastructure failure in a `StoreUnavailableError` naming the call and what went wrong; a
 * Tributary error passes through unchanged.
 *
 * @example
 * toStoreError(new ProvisionedThroughputExceededException({ message: '…', $metadata: {} }), 'UpdateItem');
 * // StoreUnavailableError: DynamoDB UpdateItem failed: throttled (…) with the SDK error as cause
 */
export function toStoreError(err: unknown, action: string): TributaryError {
  if (err instanceof TributaryError) return err;
  return new StoreUnavailableError(`DynamoDB ${action} failed: ${describe(err)}.`, { cause: err });
}

function describe(err: unknown): string {
  if (
    err instanceof ProvisionedThroughputExceededException ||
    err instanceof RequestLimitExceeded ||
    err instanceof ThrottlingException
  ) {
    return 'throttled beyond the retries; try again later';
  }
  if (err instanceof ResourceNotFoundException) return 'the table or its index does not exist';
  if (err instanceof InternalServerError) return 'DynamoDB reported an internal error';
  if (err instanceof ItemCollectionSizeLimitExceededException) return 'an item collection is full';
  if (err instanceof ConditionalCheckFailedException) return 'an unexpected condition failed';
  if (err instanceof DynamoDBServiceException) return `DynamoDB refused the request (${err.name})`;
  return 'DynamoDB could not be reached';
}
