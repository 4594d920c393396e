import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  AlertNotFoundError,
  BackPressureError,
  BadRequestError,
  ForbiddenError,
  IdempotencyKeyInFlightError,
  IdempotencyKeyReusedError,
  PayloadTooLargeError,
  QueueUnavailableError,
  RecordValidationError,
  StoreUnavailableError,
  StreamConflictError,
  StreamNotFoundError,
  StreamPausedError,
  TributaryError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
  UploadIncompleteError,
  UploadNotFoundError,
  type Issue,
} from '../../shared/domain/errors';

/**
 * The one table from errors to HTTP (RFC 9457 problem+json). Anything not in it is a 500 with a generic
 * title; its details go to the log with the request id, never to the client.
 */
const STATUS = new Map<new (...args: never[]) => TributaryError, { status: number; title: string }>([
  [RecordValidationError, { status: 400, title: 'Invalid records' }],
  [BadRequestError, { status: 400, title: 'Bad request' }],
  [UnauthenticatedError, { status: 401, title: 'Unauthenticated' }],
  [ForbiddenError, { status: 403, title: 'Forbidden' }],
  [StreamNotFoundError, { status: 404, title: 'Stream not found' }],
  [AlertNotFoundError, { status: 404, title: 'Alert not found' }],
  [UploadNotFoundError, { status: 404, title: 'Upload not found' }],
  [StreamPausedError, { status: 409, title: 'Stream paused' }],
  [UploadIncompleteError, { status: 409, title: 'Upload incomplete' }],
  [StreamConflictError, { status: 409, title: 'Conflict' }],
  [IdempotencyKeyInFlightError, { status: 409, title: 'Request in progress' }],
  [IdempotencyKeyReusedError, { status: 422, title: 'Idempotency key reused' }],
  [PayloadTooLargeError, { status: 413, title: 'Payload too large' }],
  [UnsupportedMediaTypeError, { status: 415, title: 'Unsupported media type' }],
  [BackPressureError, { status: 429, title: 'Too many requests' }],
  [QueueUnavailableError, { status: 503, title: 'Service unavailable' }],
  [StoreUnavailableError, { status: 503, title: 'Service unavailable' }],
]);

/** At most this many issues go into one response; the detail says how many there were. */
export const MAX_LISTED_ISSUES = 1_000;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Issue[];
}

/** Maps an error to its problem. Unknown errors become a generic 500 (and `logged` is set). */
export function toProblem(err: unknown): { problem: Problem; internal: boolean } {
  if (err instanceof TributaryError) {
    const entry = STATUS.get(err.constructor as new (...args: never[]) => TributaryError);
    if (entry) {
      const issues = err instanceof RecordValidationError || err instanceof BadRequestError || err instanceof StreamConflictError ? err.issues : [];
      const problem: Problem = {
        type: `https://tributary.dev/problems/${err.code.replace(/\./g, '-')}`,
        title: entry.title,
        status: entry.status,
        detail:
          issues.length > MAX_LISTED_ISSUES ? `${err.message} (${issues.length} problems; the first ${MAX_LISTED_ISSUES} are listed)` : err.message,
        ...(issues.length > 0 && { errors: issues.slice(0, MAX_LISTED_ISSUES) }),
      };
      return { problem, internal: entry.status >= 500 };
    }
  }
  return {
    problem: { type: 'about:blank', title: 'Internal error', status: 500, detail: 'The request failed on our side; it is safe to retry.' },
    internal: true,
  };
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: problem.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify(problem),
  };
}

export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
