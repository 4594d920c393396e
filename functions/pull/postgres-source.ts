import pg from 'pg';
import { PullFailedError } from '../../shared/domain/pull-errors';
import type { TargetPolicy } from '../../shared/domain/pull-source';
import { resolveChecked } from '../commons/guarded-target';

/** A database pull, resolved: secrets filled in, `$1` the cursor. */
export interface PostgresQuery {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  ssl: boolean | 'no-verify';
  sql: string;
  cursor: string | number | null;
  timeoutMs: number;
  maxRows: number;
  policy: TargetPolicy;
}

const INT8 = 20;
const NUMERIC = 1700;

/**
 * Values as JSON records want them: bigint and numeric as numbers (as text only when a number would lose
 * digits); everything else as `pg` reads it (timestamps as `Date`, turned into ISO strings by the runner).
 */
const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) {
      return (text: string) => {
        const n = Number(text);
        return Number.isFinite(n) && (oid === NUMERIC || Number.isSafeInteger(n)) ? n : text;
      };
    }
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Runs one incremental query with `pg`, as a Lambda would: the host is resolved and checked first and the
 * client connects to that address (TLS still verifies the certificate against the name), `$1` is bound to
 * the cursor, the whole exchange is bounded by `timeoutMs`, and failures become `PullFailedError`s with
 * codes a user can act on (`db.auth`, `db.sql`, `source.unreachable`, `source.timeout`, `source.too_large`).
 *
 * @example
 * const rows = await queryPostgres({ host: 'db.internal', port: 5432, database: 'inventory', user: 'reader',
 *   password, ssl: true, sql: 'SELECT * FROM items WHERE id > $1 ORDER BY id LIMIT 1000', cursor: 0,
 *   timeoutMs: 10_000, maxRows: 10_000, policy });
 */
export async function queryPostgres(q: PostgresQuery): Promise<Record<string, unknown>[]> {
  const target = await resolveChecked(q.host, q.policy);
  const hostIsName = target.host !== target.address;
  const client = new pg.Client({
    host: target.address,
    port: q.port,
    database: q.database,
    user: q.user,
    password: q.password,
    ssl: q.ssl === false ? false : { rejectUnauthorized: q.ssl === true, ...(hostIsName && { servername: target.host }) },
    connectionTimeoutMillis: q.timeoutMs,
    statement_timeout: q.timeoutMs,
    types: typeParsers,
  });
  client.on('error', () => {}); // a connection dropped after the result is reported by the query itself
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void client.end().catch(() => {});
  }, q.timeoutMs);
  try {
    await client.connect();
    const result = await client.query({ text: q.sql, values: [q.cursor] });
    if (result.rows.length > q.maxRows) {
      throw new PullFailedError('source.too_large', `the query returned ${result.rows.length} rows, more than maxRows (${q.maxRows}); add a LIMIT`);
    }
    return result.rows as Record<string, unknown>[];
  } catch (err) {
    throw classify(err, q, timedOut);
  } finally {
    clearTimeout(timer);
    await client.end().catch(() => {});
  }
}

function classify(err: unknown, q: PostgresQuery, timedOut: boolean): PullFailedError {
  if (err instanceof PullFailedError) return err;
  const where = `${q.host}:${q.port}/${q.database}`;
  if (timedOut) return new PullFailedError('source.timeout', `no answer from ${where} within ${q.timeoutMs} ms`, { cause: err });
  if (err instanceof pg.DatabaseError) {
    // SQLSTATE classes (PostgreSQL appendix A): 28 authorization, 08 connection, 57014 canceled (statement_timeout)
    const state = err.code ?? '';
    if (state.startsWith('28')) return new PullFailedError('db.auth', `${where} refused the login: ${err.message}`, { cause: err });
    if (state === '57014') return new PullFailedError('source.timeout', `the query on ${where} ran longer than ${q.timeoutMs} ms`, { cause: err });
    if (state.startsWith('08') || state.startsWith('57P')) return new PullFailedError('source.unreachable', `${where}: ${err.message}`, { cause: err });
    return new PullFailedError('db.sql', `the query failed on ${where}: ${err.message} (SQLSTATE ${state})`, { cause: err });
  }
  return new PullFailedError('source.unreachable', `cannot reach ${where}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
