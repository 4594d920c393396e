import { describe, expect, it } from 'vitest';
import { MAX_LISTED_ISSUES, toProblem } from '../../functions/commons/problem';
import {
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
  UnauthenticatedError,
  UnsupportedMediaTypeError,
  UploadIncompleteError,
  UploadNotFoundError,
} from '../../shared/domain/errors';

describe('toProblem', () => {
  it.each([
    [new RecordValidationError([{ index: 0, path: ['t'], message: 'bad' }]), 400],
    [new BadRequestError('bad'), 400],
    [new UnauthenticatedError(), 401],
    [new ForbiddenError('admin'), 403],
    [new StreamNotFoundError('x'), 404],
    [new UploadNotFoundError('u1'), 404],
    [new UploadIncompleteError('not uploaded yet'), 409],
    [new StreamPausedError('x'), 409],
    [new StreamConflictError('taken'), 409],
    [new IdempotencyKeyInFlightError('busy'), 409],
    [new IdempotencyKeyReusedError('other body'), 422],
    [new PayloadTooLargeError('big'), 413],
    [new UnsupportedMediaTypeError('xml'), 415],
    [new BackPressureError('full'), 429],
    [new QueueUnavailableError('down'), 503],
    [new StoreUnavailableError('down'), 503],
  ])('maps %s to its status with a stable type', (err, status) => {
    const { problem } = toProblem(err);
    expect(problem.status).toBe(status);
    expect(problem.type).toBe(`https://tributary.dev/problems/${err.code.replace(/\./g, '-')}`);
    expect(problem.detail).toBe(err.message);
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
    expect(JSON.stringify(problem)).not.toContain('postgres');
  });
});
