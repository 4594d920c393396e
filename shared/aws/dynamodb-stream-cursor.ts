import { BadRequestError } from '../domain/errors';
import { STREAM_ID } from '../domain/stream-names';

/**
 * `DynamoDbRegistry.list`'s cursors: opaque to clients, base64url of `{"id": <last stream of the page>}`.
 *
 * @example
 * decodeCursor(encodeCursor('freezers')); // 'freezers'
 */
export function encodeCursor(id: string): string {
  return Buffer.from(JSON.stringify({ id }), 'utf8').toString('base64url');
}

/** The id a cursor names; a `BadRequestError` for one this API did not issue. */
export function decodeCursor(cursor: string): string {
  let id: unknown;
  try {
    id = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { id?: unknown }).id;
  } catch {
    id = undefined;
  }
  if (typeof id !== 'string' || !STREAM_ID.test(id)) {
    throw new BadRequestError('Invalid query parameters.', [{ path: ['cursor'], message: 'is not a cursor returned by this API' }]);
  }
  return id;
}

