import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionFailure, toStoreError } from './dynamodb-errors';

/**
 * Runs one DynamoDB call: a failed condition goes to `onConditionFailed` when given (the operation decides
 * what it means), anything else becomes a `StoreUnavailableError` naming the action.
 *
 * @example
 * const created = await callDynamo('PutItem', () => client.send(put).then(() => true), async () => false);
 */
export async function callDynamo<T>(action: string, send: () => Promise<T>, onConditionFailed?: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (onConditionFailed && isConditionFailure(err)) return onConditionFailed();
    throw toStoreError(err, action);
  }
}

/**
 * Checks an adapter's options at construction, so a wiring mistake fails at cold start.
 *
 * @example
 * checkTableOptions('DynamoDbAlertStore', options);
 */
export function checkTableOptions(adapter: string, options: { client: DynamoDBClient; tableName: string }): void {
  if (!options.client) throw new TypeError(`${adapter} needs a DynamoDB client.`);
  if (typeof options.tableName !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(options.tableName)) {
    throw new TypeError(`${adapter} needs a valid table name, got ${JSON.stringify(options.tableName)}.`);
  }
}
