import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  AlertNotFoundError,
  BackPressureError,
  BadRequestError,
  ForbiddenError,
  IdempotencyKeyInFlightError,
  IdempotencyKeyReusedError,
  InconsistentStreamConfigurationError,
  InvalidTimestampError,
  MultipleStreamsReturnedError,
  PayloadTooLargeError,
  QueueUnavailableError,
  RecordValidationError,
  ReservedTagNameError,
  StoreUnavailableError,
  StreamConflictError,
  StreamNotFoundError,
  StreamPausedError,
  TributaryError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
  UploadIncompleteError,
  UploadNotFoundError,
  UnsupportedDeriveOperatorError,
  InvalidOperatorArgumentsError,
  IncompatibleTypesError,
  DerivationCycleError,
  UnsupportedValueTypeError,
  AppendToDerivedStreamNotAllowedError,
  OutstandingDependenciesError,
  type Issue,
} from '../../shared/domain/errors';

/**
 * The one table from errors to HTTP (RFC 9457 problem+json). Anything not in it is a 500 with a generic
 * title; its details go to the log with the request id, never to the client.
 *
 * `code` is what a client matches on: the datastream document's exception name where it names the error
 * (`StreamNotFound`, `InconsistentStreamConfiguration`, `MultipleStreamsReturned`, `ReservedTagNameError`,
 * `InvalidTimestamp`), a name in the same style for Tributary's own. It never changes once published; `type`
 * (from the error's dotted code) stays as it was.
 */
const STATUS = new Map<new (...args: never[]) => TributaryError, { status: number; title: string; code: string }>([
  [RecordValidationError, { status: 400, title: 'Invalid records', code: 'InvalidRecords' }],
  [BadRequestError, { status: 400, title: 'Bad request', code: 'BadRequest' }],
  [ReservedTagNameError, { status: 400, title: 'Reserved tag name', code: 'ReservedTagNameError' }],
  [UnsupportedDeriveOperatorError, { status: 400, title: 'Unsupported derive operator', code: 'UnsupportedDeriveOperator' }],
  [InvalidOperatorArgumentsError, { status: 400, title: 'Invalid operator arguments', code: 'InvalidOperatorArguments' }],
  [IncompatibleTypesError, { status: 400, title: 'Incompatible types', code: 'IncompatibleTypes' }],
  [DerivationCycleError, { status: 400, title: 'Derivation cycle', code: 'DerivationCycle' }],
  [UnsupportedValueTypeError, { status: 400, title: 'Unsupported value type', code: 'UnsupportedValueType' }],
  [UnauthenticatedError, { status: 401, title: 'Unauthenticated', code: 'Unauthenticated' }],
  [ForbiddenError, { status: 403, title: 'Forbidden', code: 'Forbidden' }],
  [StreamNotFoundError, { status: 404, title: 'Stream not found', code: 'StreamNotFound' }],
  [AlertNotFoundError, { status: 404, title: 'Alert not found', code: 'AlertNotFound' }],
  [UploadNotFoundError, { status: 404, title: 'Upload not found', code: 'UploadNotFound' }],
  [StreamPausedError, { status: 409, title: 'Stream paused', code: 'StreamPaused' }],
  [UploadIncompleteError, { status: 409, title: 'Upload incomplete', code: 'UploadIncomplete' }],
  [StreamConflictError, { status: 409, title: 'Conflict', code: 'StreamConflict' }],
  [MultipleStreamsReturnedError, { status: 409, title: 'Multiple streams match', code: 'MultipleStreamsReturned' }],
  [InconsistentStreamConfigurationError, { status: 409, title: 'Inconsistent stream configuration', code: 'InconsistentStreamConfiguration' }],
  [AppendToDerivedStreamNotAllowedError, { status: 409, title: 'Append to a derived stream', code: 'AppendToDerivedStreamNotAllowed' }],
  [OutstandingDependenciesError, { status: 409, title: 'Outstanding dependencies', code: 'OutstandingDependenciesError' }],
  [InvalidTimestampError, { status: 409, title: 'Invalid timestamp', code: 'InvalidTimestamp' }],
  [IdempotencyKeyInFlightError, { status: 409, title: 'Request in progress', code: 'IdempotencyKeyInFlight' }],
  [IdempotencyKeyReusedError, { status: 422, title: 'Idempotency key reused', code: 'IdempotencyKeyReused' }],
  [PayloadTooLargeError, { status: 413, title: 'Payload too large', code: 'PayloadTooLarge' }],
  [UnsupportedMediaTypeError, { status: 415, title: 'Unsupported media type', code: 'UnsupportedMediaType' }],
  [BackPressureError, { status: 429, title: 'Too many requests', code: 'BackPressure' }],
  [QueueUnavailableError, { status: 503, title: 'Service unavailable', code: 'QueueUnavailable' }],
  [StoreUnavailableError, { status: 503, title: 'Service unavailable', code: 'StoreUnavailable' }],
]);

/** The `code` of a 500: nothing more is said. */
export const INTERNAL_CODE = 'InternalError';

/** At most this many issues go into one response; the detail says how many there were. */
export const MAX_LISTED_ISSUES = 1_000;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The stable name a client matches on (see `STATUS`); the edge's own refusals have one too. */
  code: string;
  errors?: Issue[];
}

/** Maps an error to its problem. Unknown errors become a generic 500 (and `logged` is set). */
export function toProblem(err: unknown): { problem: Problem; internal: boolean } {
  if (err instanceof TributaryError) {
    const entry = STATUS.get(err.constructor as new (...args: never[]) => TributaryError);
    if (entry) {
      const issues = 'issues' in err && Array.isArray(err.issues) ? (err.issues as Issue[]) : [];
      const problem: Problem = {
        type: `https://tributary.dev/problems/${err.code.replace(/\./g, '-')}`,
        title: entry.title,
        status: entry.status,
        detail:
          issues.length > MAX_LISTED_ISSUES ? `${err.message} (${issues.length} problems; the first ${MAX_LISTED_ISSUES} are listed)` : err.message,
        code: entry.code,
        ...(issues.length > 0 && { errors: issues.slice(0, MAX_LISTED_ISSUES) }),
      };
      return { problem, internal: entry.status >= 500 };
    }
  }
  return {
    problem: { type: 'about:blank', title: 'Internal error', status: 500, detail: 'The request failed on our side; it is safe to retry.', code: INTERNAL_CODE },
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
