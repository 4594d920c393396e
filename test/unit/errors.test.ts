import { describe, expect, it } from 'vitest';
import {
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
} from '../../shared/domain/errors';

const cause = new Error('ProvisionedThroughputExceededException');

/** Every class of the family: how to build one, its stable code, and whether its constructor takes `{cause}`. */
const family: [name: string, make: () => TributaryError, code: string, withCause?: () => TributaryError][] = [
  ['RecordValidationError', () => new RecordValidationError([{ index: 0, path: ['t'], message: 'bad' }]), 'record.invalid'],
  ['BadRequestError', () => new BadRequestError('bad query'), 'request.invalid'],
  ['StreamNotFoundError', () => new StreamNotFoundError('orders'), 'stream.not_found'],
  ['StreamPausedError', () => new StreamPausedError('orders'), 'stream.paused'],
  ['StreamConflictError', () => new StreamConflictError('taken'), 'stream.conflict', () => new StreamConflictError('taken', { cause })],
  ['IdempotencyKeyInFlightError', () => new IdempotencyKeyInFlightError('busy'), 'idempotency.in_flight', () => new IdempotencyKeyInFlightError('busy', { cause })],
  ['IdempotencyKeyReusedError', () => new IdempotencyKeyReusedError('other body'), 'idempotency.key_reused', () => new IdempotencyKeyReusedError('other body', { cause })],
  ['UnauthenticatedError', () => new UnauthenticatedError(), 'token.missing'],
  ['ForbiddenError', () => new ForbiddenError('admin'), 'token.scope'],
  ['PayloadTooLargeError', () => new PayloadTooLargeError('big'), 'request.too_large', () => new PayloadTooLargeError('big', { cause })],
  ['UnsupportedMediaTypeError', () => new UnsupportedMediaTypeError('xml'), 'request.media_type', () => new UnsupportedMediaTypeError('xml', { cause })],
  ['BackPressureError', () => new BackPressureError('full'), 'service.back_pressure', () => new BackPressureError('full', { cause })],
  ['StoreUnavailableError', () => new StoreUnavailableError('down'), 'store.unavailable', () => new StoreUnavailableError('down', { cause })],
  ['QueueUnavailableError', () => new QueueUnavailableError('down'), 'queue.unavailable', () => new QueueUnavailableError('down', { cause })],
  ['UploadNotFoundError', () => new UploadNotFoundError('u1'), 'upload.not_found'],
  ['UploadIncompleteError', () => new UploadIncompleteError('not uploaded yet'), 'upload.incomplete', () => new UploadIncompleteError('not uploaded yet', { cause })],
  ['MultipleStreamsReturnedError', () => new MultipleStreamsReturnedError(['a', 'b']), 'stream.ambiguous'],
  ['InconsistentStreamConfigurationError', () => new InconsistentStreamConfigurationError('a', [{ path: ['type'], message: 'is iot_sensor' }]), 'stream.inconsistent_configuration'],
  ['ReservedTagNameError', () => new ReservedTagNameError([{ path: ['tags', 'stream_id'], message: 'reserved' }]), 'tag.reserved'],
  ['InvalidTimestampError', () => new InvalidTimestampError('a', [{ index: 0, path: ['timestamp'], message: 'older' }]), 'timestamp.invalid'],
  ['UnsupportedDeriveOperatorError', () => new UnsupportedDeriveOperatorError('no such op', [{ path: ['deriveOp'], message: 'x' }]), 'derive.unsupported_operator'],
  ['InvalidOperatorArgumentsError', () => new InvalidOperatorArgumentsError('two sources'), 'derive.invalid_arguments'],
  ['IncompatibleTypesError', () => new IncompatibleTypesError('a string'), 'derive.incompatible_types'],
  ['DerivationCycleError', () => new DerivationCycleError('loops'), 'derive.cycle'],
  ['UnsupportedValueTypeError', () => new UnsupportedValueTypeError('no such type'), 'value_type.unsupported'],
  ['AppendToDerivedStreamNotAllowedError', () => new AppendToDerivedStreamNotAllowedError('rate'), 'stream.derived'],
  ['OutstandingDependenciesError', () => new OutstandingDependenciesError('counter', ['rate']), 'stream.has_dependents'],
];

describe('the error family', () => {
  it.each(family)('%s has its own name, the stable code %s… and is a TributaryError', (name, make, code) => {
    const err = make();
    expect(err).toBeInstanceOf(TributaryError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe(name);
    expect(err.code).toBe(code);
    expect(err.message.length).toBeGreaterThan(0);
    expect(String(err)).toBe(`${name}: ${err.message}`);
  });

  it.each(family.filter((row) => row[3] !== undefined))('%s keeps the cause it was given', (_name, _make, _code, withCause) => {
    const err = withCause!();
    expect(err.cause).toBe(cause);
    expect(err.message).not.toContain(cause.message);
  });

  it('gives every class a different code', () => {
    const codes = family.map(([, make]) => make().code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('names the stream in not-found and paused messages, and says how to resume', () => {
    expect(new StreamNotFoundError('orders')).toMatchObject({ streamId: 'orders', message: "Stream 'orders' does not exist." });
    expect(new StreamPausedError('orders')).toMatchObject({ streamId: 'orders', message: "Stream 'orders' is paused; resume it to accept data." });
  });

  it('names the missing scope', () => {
    expect(new ForbiddenError('ingest:orders')).toMatchObject({ needed: 'ingest:orders', message: "The token lacks the scope 'ingest:orders'." });
  });

  it('asks for a bearer token by default', () => {
    expect(new UnauthenticatedError().message).toBe('A valid bearer token is required.');
  });

  it('keeps the issues of a BadRequestError, none by default', () => {
    expect(new BadRequestError('bad', [{ path: ['limit'], message: 'too big' }]).issues).toEqual([{ path: ['limit'], message: 'too big' }]);
    expect(new BadRequestError('bad').issues).toEqual([]);
  });
});

describe('RecordValidationError', () => {
  it('summarizes a single issue with its record, path and message', () => {
    const err = new RecordValidationError([{ index: 3, path: ['temperature'], message: 'must be a number, got string "x"' }]);
    expect(err.message).toBe('record 3: temperature: must be a number, got string "x"');
  });

  it('counts the issues and quotes the first', () => {
    const err = new RecordValidationError([
      { index: 0, path: ['meta', 'a', 2], message: 'must be a finite number, got Infinity' },
      { index: 4, path: ['deviceId'], message: 'missing' },
      { index: 4, path: ['status'], message: 'bad' },
    ]);
    expect(err.message).toBe('3 problems; first, record 0: meta.a.2: must be a finite number, got Infinity');
  });

  it('says (root) for an issue about the whole record, and leaves out the record when there is no index', () => {
    expect(new RecordValidationError([{ index: 1, path: [], message: 'a record must be a JSON object, got null' }]).message).toBe(
      'record 1: (root): a record must be a JSON object, got null',
    );
    expect(new RecordValidationError([{ path: ['name'], message: 'too long' }]).message).toBe('name: too long');
  });

  it('keeps its issues, and a message given explicitly', () => {
    const issues = [{ index: 0, path: ['t'], message: 'bad' }];
    const err = new RecordValidationError(issues, '1 record rejected.');
    expect(err.issues).toEqual(issues);
    expect(err.message).toBe('1 record rejected.');
  });

  it('has a generic message when there are no issues', () => {
    expect(new RecordValidationError([]).message).toBe('Invalid input.');
  });
});
