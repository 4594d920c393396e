import { describe, expect, it } from 'vitest';
import { MAX_LISTED_ISSUES, toProblem } from '../../functions/commons/problem';
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

describe('toProblem', () => {
  it.each([
    [new RecordValidationError([{ index: 0, path: ['t'], message: 'bad' }]), 400, 'InvalidRecords'],
    [new BadRequestError('bad'), 400, 'BadRequest'],
    [new ReservedTagNameError([{ path: ['tags', 'stream_id'], message: 'reserved' }]), 400, 'ReservedTagNameError'],
    [new UnauthenticatedError(), 401, 'Unauthenticated'],
    [new ForbiddenError('admin'), 403, 'Forbidden'],
    [new StreamNotFoundError('x'), 404, 'StreamNotFound'],
    [new UploadNotFoundError('u1'), 404, 'UploadNotFound'],
    [new UploadIncompleteError('not uploaded yet'), 409, 'UploadIncomplete'],
    [new StreamPausedError('x'), 409, 'StreamPaused'],
    [new StreamConflictError('taken'), 409, 'StreamConflict'],
    [new MultipleStreamsReturnedError(['a', 'b']), 409, 'MultipleStreamsReturned'],
    [new InconsistentStreamConfigurationError('a', [{ path: ['type'], message: 'is iot_sensor' }]), 409, 'InconsistentStreamConfiguration'],
    [new InvalidTimestampError('a', [{ index: 1, path: ['timestamp'], message: 'older' }]), 409, 'InvalidTimestamp'],
    [new IdempotencyKeyInFlightError('busy'), 409, 'IdempotencyKeyInFlight'],
    [new UnsupportedDeriveOperatorError('no such op'), 400, 'UnsupportedDeriveOperator'],
    [new InvalidOperatorArgumentsError('two sources'), 400, 'InvalidOperatorArguments'],
    [new IncompatibleTypesError('a string'), 400, 'IncompatibleTypes'],
    [new DerivationCycleError('loops'), 400, 'DerivationCycle'],
    [new UnsupportedValueTypeError('no such type'), 400, 'UnsupportedValueType'],
    [new AppendToDerivedStreamNotAllowedError('rate'), 409, 'AppendToDerivedStreamNotAllowed'],
    [new OutstandingDependenciesError('counter', ['rate']), 409, 'OutstandingDependenciesError'],
    [new IdempotencyKeyReusedError('other body'), 422, 'IdempotencyKeyReused'],
    [new PayloadTooLargeError('big'), 413, 'PayloadTooLarge'],
    [new UnsupportedMediaTypeError('xml'), 415, 'UnsupportedMediaType'],
    [new BackPressureError('full'), 429, 'BackPressure'],
    [new QueueUnavailableError('down'), 503, 'QueueUnavailable'],
    [new StoreUnavailableError('down'), 503, 'StoreUnavailable'],
  ])('maps %s to its status, a stable type and its code', (err, status, code) => {
    const { problem } = toProblem(err);
    expect(problem.status).toBe(status);
    expect(problem.type).toBe(`https://tributary.dev/problems/${err.code.replace(/\./g, '-')}`);
    expect(problem.code).toBe(code);
    expect(problem.detail).toBe(err.message);
  });

  it('lists the issues of every error that carries them', () => {
    const issues = [{ index: 2, path: ['timestamp'], message: 'is older than 2000-01-03T12:00:00.000Z' }];
    expect(toProblem(new InvalidTimestampError('a', issues)).problem.errors).toEqual(issues);
    expect(toProblem(new InconsistentStreamConfigurationError('a', [{ path: ['schema'], message: 'differs' }])).problem.errors).toEqual([{ path: ['schema'], message: 'differs' }]);
  });

  it('lists validation issues with index and path', () => {
    const { problem } = toProblem(new RecordValidationError([{ index: 3, path: ['temperature'], message: 'must be a number' }]));
    expect(problem.errors).toEqual([{ index: 3, path: ['temperature'], message: 'must be a number' }]);
  });

  it('caps the listed issues and says how many there were', () => {
    const issues = Array.from({ length: MAX_LISTED_ISSUES + 5 }, (_, i) => ({ index: i, path: ['x'], message: 'bad' }));
    const { problem } = toProblem(new RecordValidationError(issues));
    expect(problem.errors).toHaveLength(MAX_LISTED_ISSUES);
    expect(problem.detail).toContain(`${MAX_LISTED_ISSUES + 5} problems`);
  });

  it('turns anything else into a generic 500 that leaks nothing', () => {
    const { problem, internal } = toProblem(new TypeError('secret connection string postgres://u:p@h'));
    expect(internal).toBe(true);
    expect(problem.status).toBe(500);
    expect(problem.code).toBe('InternalError');
    expect(JSON.stringify(problem)).not.toContain('postgres');
  });
});
