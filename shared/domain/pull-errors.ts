import { TributaryError, type Issue } from './errors';

/**
 * Why a pull run failed, as shown in the stream's status. Each is a stable code a client may match on.
 *
 * | code | when |
 * |---|---|
 * | `target.forbidden` | the URL or database host resolves to a loopback, link-local, private or reserved address |
 * | `source.unreachable` | DNS failed, the connection was refused or reset |
 * | `source.timeout` | no complete answer within `timeoutMs` |
 * | `source.too_large` | the response passed `maxBytes`, or the query returned more than `maxRows` rows |
 * | `source.http_status` | the API answered with a non-2xx status, or a body that is not JSON |
 * | `source.redirect` | too many redirects, or one without a usable `Location` |
 * | `transform.failed` | the JSONata transform threw or did not return an array |
 * | `records.invalid` | a strict stream's pulled records failed its schema, or none of a lenient one's passed (nothing is sent) |
 * | `secret.unavailable` | a `${secret:NAME}` could not be read |
 * | `db.auth` | the database refused the user or password |
 * | `db.sql` | the query failed (syntax, missing table or column, permissions) |
 * | `db.cursor` | a row lacks the incremental column |
 * | `queue.unavailable` | the records could not be queued (the cursor did not move) |
 * | `device.error` | a PLC answered a Modbus exception, or a BACnet device an error or abort |
 * | `device.not_found` | no BACnet device of that name answered, or it has no object of a point's name |
 */
export type PullErrorCode =
  | 'target.forbidden'
  | 'source.unreachable'
  | 'source.timeout'
  | 'source.too_large'
  | 'source.http_status'
  | 'source.redirect'
  | 'transform.failed'
  | 'records.invalid'
  | 'secret.unavailable'
  | 'db.auth'
  | 'db.sql'
  | 'db.cursor'
  | 'queue.unavailable'
  | 'device.error'
  | 'device.not_found';

/**
 * A pull run that failed for a reason the stream's owner can act on. It never reaches an HTTP client as an
 * error: the run's result and the stream's status carry its code and message.
 *
 * @example
 * throw new PullFailedError('source.timeout', 'no answer from api.example.com within 10000 ms');
 */
export class PullFailedError extends TributaryError {
  /** For `records.invalid`: the first schema problems, with the record index and field path. */
  readonly issues: Issue[];
  constructor(
    readonly code: PullErrorCode,
    message: string,
    options?: { cause?: unknown; issues?: Issue[] },
  ) {
    super(message, options);
    this.issues = options?.issues ?? [];
  }
}

/**
 * A secret a pull source names could not be read (missing, or access denied).
 *
 * @example
 * throw new SecretUnavailableError('VENDOR_TOKEN', 'not set: define TRIBUTARY_SECRET_VENDOR_TOKEN');
 */
export class SecretUnavailableError extends TributaryError {
  readonly code = 'secret.unavailable';
  constructor(
    readonly secretName: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`secret '${secretName}' is unavailable: ${reason}`, options);
  }
}
