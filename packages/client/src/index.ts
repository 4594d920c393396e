/**
 * `@tributary/client`: the Tributary API from TypeScript, with no runtime dependency beyond `fetch`.
 *
 * @example
 * import { TributaryClient } from '@tributary/client';
 * const client = new TributaryClient({ baseUrl: 'http://127.0.0.1:3000', token });
 */
export { TributaryClient, StreamsApi, AlertsApi, type ClientOptions, type EventHeaders, type EventsParams, type IngestOptions, type IngestBatchOptions, type IngestBatchResult, type StoredEventAnswer, type UploadFileOptions } from './client';
export { TributaryApiError, TributaryNetworkError, RecordTooLargeError } from './errors';
export { splitBatches, utf8Length, MAX_BODY_BYTES, MAX_RECORDS, type Batch, type BatchLimits } from './batches';
export { backoffMs, retryAfterMs, type RetryOptions } from './transport';
export { liveQuery, type LiveMessage, type LiveOptions, type LiveSocketOptions, type WebSocketClass, type WebSocketLike } from './live';
export type * from './types';
