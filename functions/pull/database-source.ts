import { PullFailedError } from '../../shared/domain/pull-errors';
import { resolveSecretRefs, type DatabaseSource, type TargetPolicy } from '../../shared/domain/pull-source';
import type { Pulled } from './api-source';
import { queryPostgres } from './postgres-source';
import { transformed } from './transform';

/**
 * Pulls a PostgreSQL query with `$1` bound to the cursor; the new cursor is the greatest value of the
 * incremental column among the rows (compared before the transform, on the rows as read).
 *
 * @example
 * const { records, cursor } = await pullDatabase(source, { PG_PASSWORD: '…' }, policy, 41);
 */
export async function pullDatabase(source: DatabaseSource, secrets: Record<string, string>, policy: TargetPolicy, cursor: string | number | null): Promise<Pulled> {
  const { connection } = source;
  const rows = (
    await queryPostgres({
      host: connection.host,
      port: connection.port,
      database: connection.database,
      user: resolveSecretRefs(connection.user, secrets),
      password: resolveSecretRefs(connection.password, secrets),
      ssl: connection.ssl,
      sql: source.query,
      cursor,
      timeoutMs: source.timeoutMs,
      maxRows: source.maxRows,
      policy,
    })
  ).map(plainRow);
  let next: string | number | null = cursor;
  for (const [i, row] of rows.entries()) {
    const value = row[source.incrementalColumn];
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new PullFailedError('db.cursor', `row ${i} has no usable value in the incremental column '${source.incrementalColumn}'; select it in the query`);
    }
    if (next === null || compareCursor(value, next) > 0) next = value;
  }
  const records = (await transformed(source, rows)) ?? (source.mapping ? rows.map((r) => mapRow(r, source.mapping!)) : rows);
  return { records, cursor: next };
}

/** Dates become ISO strings (records carry JSON values); everything else as read. */
function plainRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = v instanceof Date ? v.toISOString() : v;
  return out;
}

function mapRow(row: Record<string, unknown>, mapping: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(mapping)) if (row[column] !== undefined && row[column] !== null) out[field] = row[column];
  return out;
}

/**
 * Orders cursor values: numbers (and integer text, as from bigint columns) numerically, ISO timestamps and
 * other text as text.
 *
 * @example
 * compareCursor('9007199254740993', '9007199254740992'); // 1
 */
export function compareCursor(a: string | number, b: string | number): number {
  const int = /^-?\d+$/;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (int.test(String(a)) && int.test(String(b))) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x === y ? 0 : x > y ? 1 : -1;
  }
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

