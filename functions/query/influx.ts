import { BadRequestError, ForbiddenError, UnauthenticatedError } from '../../shared/domain/errors';
import type { Condition, Select, Statement } from '../../shared/domain/influxql/ast';
import { parseInfluxQL } from '../../shared/domain/influxql/parser';
import { aggregateRaw, planSelect, readCondition } from '../../shared/domain/influxql/plan';
import { literalAlternation, matchesLiteral } from '../../shared/domain/influxql/regex';
import { EPOCHS, listing, selectSeries, type Epoch, type InfluxResult, type InfluxSeries } from '../../shared/domain/influxql/series';
import { MAX_LIMIT, type Row } from '../../shared/domain/query';
import type { Stream } from '../../shared/domain/stream-definition';
import { measureFields } from '../../shared/domain/stream-names';
import { allows, callerScopes } from '../commons/auth';
import type { HttpEvent, HttpResult } from '../commons/http';
import { jsonResponse } from '../commons/problem';
import type { Clock, PointStore, StreamRegistry } from '../../shared/ports';

/** Rows one SELECT may read from the store (pages of `MAX_LIMIT`) before it is refused. */
export const MAX_SELECT_ROWS = 200_000;

/** What `/query` reads: the stream registry, the point store and the clock (for `now()`). */
export interface InfluxQueryDeps {
  registry: StreamRegistry;
  store: PointStore;
  clock: Clock;
}

const FIELD_TYPE: Record<string, string> = { number: 'float', integer: 'integer', boolean: 'boolean' };

/**
 * InfluxDB 1.x's `GET|POST /query` for Grafana's InfluxDB data source (InfluxQL): each statement is parsed
 * by the grammar, mapped to the query model and answered from the point store, in InfluxDB's JSON. A
 * measurement is a stream the caller's token may read; another stream is a 403, never data.
 *
 * @example
 * const influx = makeInfluxQuery(deps);
 * const result = await influx(event); // { statusCode: 200, body: '{"results":[…]}' }
 */
export function makeInfluxQuery(deps: InfluxQueryDeps) {
  const { registry, store, clock } = deps;

  return async function influxQuery(event: HttpEvent): Promise<HttpResult> {
    const scopes = callerScopes(event);
    if (!scopes) return influxError(401, 'authorization failed');
    const params = requestParams(event);
    const q = params.get('q');
    if (!q) return influxError(400, 'missing required parameter "q"');
    const epoch = params.get('epoch') ?? undefined;
    if (epoch !== undefined && !Object.hasOwn(EPOCHS, epoch)) return influxError(400, `epoch must be one of ${Object.keys(EPOCHS).join(', ')}`);
    try {
      const statements = parseInfluxQL(q);
      const now = clock.now();
      const results: InfluxResult[] = [];
      for (const [i, stmt] of statements.entries()) {
        const series = await answer(stmt, scopes, now, epoch as Epoch | undefined);
        results.push(series.length ? { statement_id: i, series } : { statement_id: i });
      }
      return jsonResponse(200, { results });
    } catch (err) {
      if (err instanceof BadRequestError) return influxError(400, err.message);
      if (err instanceof ForbiddenError) return influxError(403, `error authorizing query: ${err.message}`);
      if (err instanceof UnauthenticatedError) return influxError(401, 'authorization failed');
      throw err;
    }
  };

  async function answer(stmt: Statement, scopes: string[], now: number, epoch: Epoch | undefined): Promise<InfluxSeries[]> {
    switch (stmt.kind) {
      case 'show_measurements': {
        const pattern = stmt.match?.op === '=~' ? literalAlternation(stmt.match.regex) : undefined;
        const named = (await readable(scopes)).filter((s) => (stmt.match?.op === '=' ? s.id === stmt.match.value : !pattern || matchesLiteral(pattern, s.id)));
        const kept: string[] = [];
        for (const s of named) if (!stmt.where || (await hasSeries(s, stmt.where, now))) kept.push(s.id);
        const names = kept.sort().slice(0, stmt.limit);
        return listing('measurements', ['name'], names.map((n) => [n]));
      }
      case 'show_retention_policies':
        return listing('', ['name', 'duration', 'shardGroupDuration', 'replicaN', 'default'], [['autogen', '0s', '168h0m0s', 1, true]]);
      case 'show_tag_keys':
        return (await targets(stmt.from, scopes)).flatMap((s) => listing(s.id, ['tagKey'], [...s.dimensions].sort().slice(0, stmt.limit).map((d) => [d])));
      case 'show_field_keys':
        return (await targets(stmt.from, scopes)).flatMap((s) =>
          listing(s.id, ['fieldKey', 'fieldType'], measureFields(s).sort().map((f) => [f, FIELD_TYPE[s.schema[f]!.type] ?? 'string'])),
        );
      case 'show_tag_values': {
        const out: InfluxSeries[] = [];
        for (const s of await targets(stmt.from, scopes)) out.push(...(await tagValues(s, stmt, now)));
        return out;
      }
      case 'select':
        return select(stmt, scopes, now, epoch);
    }
  }

  /** Whether the stream has a series matching a tag condition (`SHOW MEASUREMENTS WHERE "host" = 'a'`). */
  async function hasSeries(stream: Stream, where: Condition, now: number): Promise<boolean> {
    try {
      const { filters, patterns } = readCondition(where, stream, now);
      if (Object.values(filters).some((v) => v.length === 0)) return false;
      const rows = await store.latest(stream, { fields: measureFields(stream).slice(0, 1), filters });
      return rows.some((r) => Object.entries(patterns).every(([tag, p]) => matchesLiteral(p, r.dimensions[tag] ?? '')));
    } catch (err) {
      // a tag this stream does not have: none of its series match
      if (err instanceof BadRequestError) return false;
      throw err;
    }
  }

  async function tagValues(stream: Stream, stmt: Extract<Statement, { kind: 'show_tag_values' }>, now: number): Promise<InfluxSeries[]> {
    const keys = stmt.keys.filter((k) => stream.dimensions.includes(k));
    if (!keys.length) return [];
    const { filters, patterns } = readCondition(stmt.where, stream, now);
    if (Object.values(filters).some((v) => v.length === 0)) return [];
    const measures = measureFields(stream);
    const rows = await store.latest(stream, { fields: measures.slice(0, 1), filters });
    const kept = rows.filter((r) => Object.entries(patterns).every(([tag, p]) => matchesLiteral(p, r.dimensions[tag] ?? '')));
    const pairs = new Set<string>();
    for (const k of keys) for (const r of kept) if (r.dimensions[k] !== undefined) pairs.add(JSON.stringify([k, r.dimensions[k]]));
    const values = [...pairs].map((p) => JSON.parse(p) as [string, string]).sort((a, b) => (a[0] === b[0] ? cmp(a[1], b[1]) : cmp(a[0], b[0])));
    return listing(stream.id, ['key', 'value'], values.slice(0, stmt.limit));
  }

  async function select(stmt: Select, scopes: string[], now: number, epoch: Epoch | undefined): Promise<InfluxSeries[]> {
    const stream = await readableStream(stmt.from, scopes);
    if (!stream) return [];
    const plan = planSelect(stmt, stream, now);
    if (Object.values(plan.query.filters).some((v) => v.length === 0)) return [];
    const rows: Row[] = [];
    let query = plan.rawQuery ?? plan.query;
    for (;;) {
      const page = await store.query(stream, query);
      rows.push(...page);
      if (page.length < MAX_LIMIT) break;
      if (rows.length >= MAX_SELECT_ROWS) throw new BadRequestError(`the query reads more than ${MAX_SELECT_ROWS} points; use a longer GROUP BY time(…) or a shorter range`);
      const last = page[page.length - 1]!;
      query = { ...query, after: { time: last.time, key: query.keyDimensions.map((d) => last.dimensions[d] ?? '') } };
    }
    return selectSeries(stream.id, plan, plan.rawQuery ? aggregateRaw(plan, rows) : rows, epoch);
  }

  /** The streams the token may read: every stream for admin, else those of its `read:` scopes. */
  async function readable(scopes: string[]): Promise<Stream[]> {
    if (scopes.includes('admin')) {
      const all: Stream[] = [];
      let cursor: string | undefined;
      do {
        const page = await registry.list({ limit: 1000, ...(cursor && { cursor }) });
        all.push(...page.streams);
        cursor = page.nextCursor;
      } while (cursor);
      return all;
    }
    const ids = scopes.filter((s) => s.startsWith('read:')).map((s) => s.slice(5));
    const streams = await Promise.all(ids.map((id) => registry.get(id)));
    return streams.filter((s): s is Stream => s !== undefined);
  }

  async function targets(from: string | undefined, scopes: string[]): Promise<Stream[]> {
    if (from === undefined) return readable(scopes);
    const s = await readableStream(from, scopes);
    return s ? [s] : [];
  }

  /** `FROM "x"`: a stream the token may not read is a 403 whether or not it exists; a missing one, no series. */
  async function readableStream(id: string, scopes: string[]): Promise<Stream | undefined> {
    if (!allows(scopes, `read:${id}`)) throw new ForbiddenError(`read:${id}`);
    return registry.get(id);
  }
}

/** `q`, `epoch`, `db`…: from the query string, and for a POST also from its form body (as InfluxDB reads them). */
function requestParams(event: HttpEvent): URLSearchParams {
  const params = new URLSearchParams(event.rawQueryString ?? '');
  if (event.requestContext.http.method === 'POST' && event.body) {
    const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    for (const [k, v] of new URLSearchParams(text)) params.set(k, v);
  }
  return params;
}

/** InfluxDB's own error body: `{"error": "…"}`. */
function influxError(status: number, message: string): HttpResult {
  return jsonResponse(status, { error: message });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
