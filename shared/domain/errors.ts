/**
 * The closed family of Tributary errors. Each has a stable `code`; the HTTP edge maps classes to statuses
 * in one table (`functions/commons/problem.ts`). Failures of the infrastructure have names of their own,
 * never one a client could have caused.
 *
 * @example
 * throw new StreamNotFoundError('orders');
 */

/** One problem found in a request or record: `index` is the record's position in a batch. */
export interface Issue {
  index?: number;
  path: (string | number)[];
  message: string;
}

export abstract class TributaryError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request body, query string or record that does not satisfy its schema. */
export class RecordValidationError extends TributaryError {
  readonly code = 'record.invalid';
  constructor(
    readonly issues: Issue[],
    message = summarize(issues),
  ) {
    super(message);
  }
}

/** A request whose shape is wrong before any record is read (bad query parameter, bad definition). */
export class BadRequestError extends TributaryError {
  readonly code = 'request.invalid';
  constructor(
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

export class StreamNotFoundError extends TributaryError {
  readonly code = 'stream.not_found';
  constructor(readonly streamId: string) {
    super(`Stream '${streamId}' does not exist.`);
  }
}

export class AlertNotFoundError extends TributaryError {
  readonly code = 'alert.not_found';
  constructor(readonly alertId: string) {
    super(`Alert '${alertId}' does not exist.`);
  }
}

export class StreamPausedError extends TributaryError {
  readonly code = 'stream.paused';
  constructor(readonly streamId: string) {
    super(`Stream '${streamId}' is paused; resume it to accept data.`);
  }
}

/** A change that conflicts with the stream as it is (e.g. changing a field's type). */
export class StreamConflictError extends TributaryError {
  readonly code = 'stream.conflict';
  /** The fields in conflict, when the conflict is about some (an MQTT username another stream holds). */
  readonly issues: Issue[];
  constructor(message: string, options?: { cause?: unknown; issues?: Issue[] }) {
    super(message, options);
    this.issues = options?.issues ?? [];
  }
}

/**
 * More than one stream matches tags that should name one (the datastream document's `ensure_stream`):
 * give more specific query tags. `streamIds` lists some of them.
 */
export class MultipleStreamsReturnedError extends TributaryError {
  readonly code = 'stream.ambiguous';
  constructor(readonly streamIds: string[]) {
    super(`${streamIds.length} streams match these query tags (${streamIds.slice(0, 5).join(', ')}${streamIds.length > 5 ? ', …' : ''}); give tags that match one.`);
  }
}

/** `ensure` found the stream, but its configuration differs from the one given: `issues` names each member. */
export class InconsistentStreamConfigurationError extends TributaryError {
  readonly code = 'stream.inconsistent_configuration';
  constructor(
    readonly streamId: string,
    readonly issues: Issue[],
  ) {
    super(`Stream '${streamId}' exists with another configuration (${issues.map((i) => i.path.join('.')).join(', ')}); change it with PATCH, or ensure it as it is.`);
  }
}

/** A tag name the datastream document reserves for stream settings, or a key with `__`. */
export class ReservedTagNameError extends TributaryError {
  readonly code = 'tag.reserved';
  constructor(readonly issues: Issue[]) {
    super(issues.length === 1 ? `Reserved tag name used: ${issues[0]!.path.join('.')}.` : `${issues.length} reserved tag names used: ${issues.map((i) => i.path.join('.')).join(', ')}.`);
  }
}

/**
 * A record asked to be checked (`checkTimestamp`) is older than the stream's newest point, or than the
 * record before it: nothing of the request was taken.
 */
export class InvalidTimestampError extends TributaryError {
  readonly code = 'timestamp.invalid';
  constructor(
    readonly streamId: string,
    readonly issues: Issue[],
  ) {
    super(`${issues.length === 1 ? 'A record is' : `${issues.length} records are`} older than stream '${streamId}'s newest point; each must be equal or newer (first, ${issues[0]?.index === undefined ? '' : `record ${issues[0].index}: `}${issues[0]?.message ?? ''}).`);
  }
}

/** A derived stream names a derive operator the document does not define (`sum`, `derivative`, `counter_reset`, `counter_derivative`). */
export class UnsupportedDeriveOperatorError extends TributaryError {
  readonly code = 'derive.unsupported_operator';
  constructor(
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

/** A derive operator's sources or arguments do not fit it (how many sources, their names, `maxValue`). */
export class InvalidOperatorArgumentsError extends TributaryError {
  readonly code = 'derive.invalid_arguments';
  constructor(
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

/** A derived stream's operator cannot take its source's value type (a derivative of a string field). */
export class IncompatibleTypesError extends TributaryError {
  readonly code = 'derive.incompatible_types';
  constructor(
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

/** A derived stream whose sources lead back to itself, or deeper than derived streams may nest. */
export class DerivationCycleError extends TributaryError {
  readonly code = 'derive.cycle';
  constructor(
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

/** A value type the document does not define (`numeric`, `nominal`, `graph`). */
export class UnsupportedValueTypeError extends TributaryError {
  readonly code = 'value_type.unsupported';
  constructor(
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

/** Records sent to a derived stream: its points are computed from its sources only. */
export class AppendToDerivedStreamNotAllowedError extends TributaryError {
  readonly code = 'stream.derived';
  constructor(readonly streamId: string) {
    super(`Stream '${streamId}' is derived from other streams; append to its sources instead.`);
  }
}

/** A stream other streams are derived from cannot be deleted before them. */
export class OutstandingDependenciesError extends TributaryError {
  readonly code = 'stream.has_dependents';
  constructor(
    readonly streamId: string,
    readonly dependents: string[],
  ) {
    super(`Stream '${streamId}' is a source of ${dependents.length === 1 ? 'derived stream' : 'derived streams'} ${dependents.map((d) => `'${d}'`).join(', ')}; delete ${dependents.length === 1 ? 'it' : 'them'} first.`);
  }
}

/** A request with this `Idempotency-Key` is still being processed: retry once it has been answered. */
export class IdempotencyKeyInFlightError extends TributaryError {
  readonly code = 'idempotency.in_flight';
}

/** The `Idempotency-Key` was already used, within its window, for a request with another body. */
export class IdempotencyKeyReusedError extends TributaryError {
  readonly code = 'idempotency.key_reused';
}

export class UnauthenticatedError extends TributaryError {
  readonly code = 'token.missing';
  constructor(message = 'A valid bearer token is required.') {
    super(message);
  }
}

export class ForbiddenError extends TributaryError {
  readonly code = 'token.scope';
  constructor(readonly needed: string) {
    super(`The token lacks the scope '${needed}'.`);
  }
}

export class PayloadTooLargeError extends TributaryError {
  readonly code = 'request.too_large';
}

export class UnsupportedMediaTypeError extends TributaryError {
  readonly code = 'request.media_type';
}

/** No upload of this id on the stream: never created, or expired and swept (uploads live a day). */
export class UploadNotFoundError extends TributaryError {
  readonly code = 'upload.not_found';
  constructor(readonly uploadId: string) {
    super(`Upload '${uploadId}' does not exist on this stream (or it expired); start a new one with POST …/uploads.`);
  }
}

/**
 * An upload that cannot be completed as it is: its file was not PUT yet, or what was PUT is not the file the
 * upload declared (another size or SHA-256).
 */
export class UploadIncompleteError extends TributaryError {
  readonly code = 'upload.incomplete';
}

/** The service is saturated; the client should retry later. */
export class BackPressureError extends TributaryError {
  readonly code = 'service.back_pressure';
}

/** A store, queue or registry failed: not the client's doing. */
export class StoreUnavailableError extends TributaryError {
  readonly code = 'store.unavailable';
}

export class QueueUnavailableError extends TributaryError {
  readonly code = 'queue.unavailable';
}

/** A mail service refused an email for good (a bad address, an unverified sender): retrying cannot help. */
export class EmailRefusedError extends TributaryError {
  readonly code = 'email.refused';
}

function summarize(issues: Issue[]): string {
  const first = issues[0];
  if (!first) return 'Invalid input.';
  const where = `${first.index === undefined ? '' : `record ${first.index}: `}${first.path.join('.') || '(root)'}`;
  return issues.length === 1 ? `${where}: ${first.message}` : `${issues.length} problems; first, ${where}: ${first.message}`;
}
