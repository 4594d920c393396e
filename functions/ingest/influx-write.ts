import { admitBatch } from '../../shared/domain/admission';
import { AppendToDerivedStreamNotAllowedError, StreamPausedError, type Issue } from '../../shared/domain/errors';
import { linePointRecord, parseLineProtocol, type LinePoint, type Precision } from '../../shared/domain/line-protocol';
import type { Stream } from '../../shared/domain/stream-definition';
import { STREAM_ID } from '../../shared/domain/stream-names';
import type { Clock, IngestEnvelope, IngestQueue, StreamRegistry } from '../../shared/ports';
import { allows, callerScopes } from '../commons/auth';
import type { BodyLimits } from '../commons/body';
import type { compiledStreams } from '../commons/compiled';
import { decodedBodyText } from '../commons/formats/decode-records';
import { retryAfter, type HttpEvent, type HttpResult } from '../commons/http';
import { noMeter, type Meter } from '../commons/meter';
import { toProblem } from '../commons/problem';

export interface InfluxWriteDeps {
  registry: StreamRegistry;
  queue: IngestQueue;
  clock: Clock;
  limits: BodyLimits;
  compiled: ReturnType<typeof compiledStreams>;
  meter?: Meter;
}

/** The precisions each API takes, and what they mean (1.x also has `n`, `u`, minutes and hours). */
const V1_PRECISION: Record<string, Precision> = { n: 'ns', ns: 'ns', u: 'us', us: 'us', ms: 'ms', s: 's', m: 'm', h: 'h' };
const V2_PRECISION: Record<string, Precision> = { ns: 'ns', us: 'us', ms: 'ms', s: 's' };

/** InfluxDB 2.x's error codes (`kit/platform/errors`) by status. */
const V2_CODE: Record<number, string> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  409: 'conflict',
  413: 'request too large',
  415: 'unsupported media type',
  422: 'unprocessable entity',
  429: 'too many requests',
  503: 'unavailable',
};

/** Issues listed in one InfluxDB error message. */
const LISTED = 20;

class WriteRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/**
 * InfluxDB's write endpoints, `POST /write?db=…` (1.x) and `POST /api/v2/write?bucket=…` (2.x), as Telegraf's
 * `outputs.influxdb` and `outputs.influxdb_v2` and InfluxDB's client libraries send them: the body is line
 * protocol; each line's measurement names the stream it goes to (as in `/query`, where a measurement is a
 * stream), and `db`/`bucket` are required, as InfluxDB does, but name nothing here. The token must hold
 * `ingest:<measurement>` for every measurement of the body (or be admin): one line naming another stream
 * refuses the whole body (403), as does a stream that does not exist (404) or is paused (409).
 *
 * Tags become the stream's dimensions and fields its measures; each record is validated and queued as on
 * `POST /v1/streams/{id}/data`: a strict stream with any bad point refuses the body (400 naming the line),
 * nothing of it queued; a lenient one queues its valid points and the answer is InfluxDB's partial write
 * (1.x 400, 2.x 422), naming the dropped lines. 204 only once every accepted point is on the queue. Errors
 * are InfluxDB's bodies: `{"error": "…"}` for 1.x, `{"code": "invalid", "message": "…", "line": 3}` for 2.x.
 *
 * @example
 * const write = makeInfluxWrite({ registry, queue, clock, limits, compiled });
 * await write(event); // { statusCode: 204 }
 */
export function makeInfluxWrite(deps: InfluxWriteDeps) {
  const { registry, queue, clock, limits, compiled } = deps;
  const meter = deps.meter ?? noMeter;

  return async function influxWrite(event: HttpEvent): Promise<HttpResult> {
    const v2 = event.routeKey.endsWith('/api/v2/write');
    try {
      return await write(event, v2);
    } catch (err) {
      if (err instanceof WriteRefusal) return influxError(v2, err.status, err.message, err.line);
      const { problem, internal } = toProblem(err);
      if (internal) throw err;
      const first = (err as { issues?: Issue[] }).issues?.[0];
      return influxError(v2, problem.status, problem.detail, first?.index === undefined ? undefined : first.index + 1, retryAfter(problem.status));
    }
  };

  async function write(event: HttpEvent, v2: boolean): Promise<HttpResult> {
    const scopes = callerScopes(event);
    if (!scopes) throw new WriteRefusal(401, 'unauthorized access');
    const params = new URLSearchParams(event.rawQueryString ?? '');
    if (v2 ? !params.get('bucket') && !params.get('bucketID') : !params.get('db')) throw new WriteRefusal(400, v2 ? 'bucket is required' : 'database is required');
    const given = params.get('precision') ?? 'ns';
    const precision = (v2 ? V2_PRECISION : V1_PRECISION)[given];
    if (!precision) throw new WriteRefusal(400, `invalid precision '${given}': use one of ${Object.keys(v2 ? V2_PRECISION : V1_PRECISION).join(', ')}`);
    // gzip (Telegraf's influxdb_v2 default), deflate or br, undone under the byte limit
    const text = await decodedBodyText(event, limits.maxBytes);
    if (text.length > limits.maxBytes || Buffer.byteLength(text) > limits.maxBytes) throw new WriteRefusal(413, `the body exceeds ${limits.maxBytes} bytes; send fewer lines per request`);
    const points = parseLineProtocol(text, { precision, maxPoints: limits.maxRecords });
    if (points.length === 0) throw new WriteRefusal(400, 'writing requires points');
    const byStream = new Map<string, LinePoint[]>();
    for (const p of points) {
      const group = byStream.get(p.measurement);
      if (group) group.push(p);
      else byStream.set(p.measurement, [p]);
    }
    // every measurement's scope first: a stream the token may not write is a 403 whether or not it exists
    for (const [m, group] of byStream) {
      if (!allows(scopes, `ingest:${m}`)) throw new WriteRefusal(403, `line ${group[0]!.line}: the token may not write to measurement '${m}' (it lacks the scope 'ingest:${m}'); each measurement names a stream`, group[0]!.line);
    }
    const now = clock.now();
    const envelopes: IngestEnvelope[] = [];
    const refused: Issue[] = [];
    const dropped: Issue[] = [];
    const droppedBy = new Map<string, number>();
    for (const [m, group] of byStream) {
      const stream = STREAM_ID.test(m) ? await registry.get(m) : undefined;
      if (!stream) throw new WriteRefusal(404, `line ${group[0]!.line}: measurement '${m}' names no stream; create the stream '${m}' first`, group[0]!.line);
      if (stream.state === 'paused') throw new StreamPausedError(m);
      if (stream.deriveOp) throw new AppendToDerivedStreamNotAllowedError(m);
      const outcome = await admit(stream, group, now);
      if (!outcome.admitted) refused.push(...outcome.issues);
      else {
        dropped.push(...outcome.issues);
        droppedBy.set(m, new Set(outcome.issues.map((i) => i.index)).size);
        envelopes.push(outcome.envelope);
      }
    }
    if (refused.length > 0) {
      for (const [m, group] of byStream) meter.count('RefusedRecords', group.length, m);
      throw new WriteRefusal(400, listIssues('the body was refused, nothing of it written', refused), refused[0]!.index! + 1);
    }
    await queue.send(envelopes);
    for (const e of envelopes) meter.count('AcceptedRecords', e.records.length, e.streamId);
    for (const [m, n] of droppedBy) meter.count('RefusedRecords', n, m);
    if (dropped.length > 0) {
      const written = envelopes.reduce((n, e) => n + e.records.length, 0);
      throw new WriteRefusal(v2 ? 422 : 400, `partial write: ${listIssues(`${written} points written`, dropped)} dropped=${new Set(dropped.map((i) => i.index)).size}`, dropped[0]!.index! + 1);
    }
    return { statusCode: 204, headers: {}, body: '' };
  }

  /** One stream's points through its processing stage and validation; issues name the body's lines. */
  async function admit(stream: Stream, group: LinePoint[], now: number) {
    const records: Record<string, unknown>[] = [];
    const lines: number[] = [];
    const early: Issue[] = [];
    for (const p of group) {
      const r = linePointRecord(p, stream);
      if (r.ok) {
        records.push(r.record);
        lines.push(p.line);
      } else early.push(r.issue);
    }
    if (early.length > 0 && stream.validation !== 'lenient') return { admitted: false as const, issues: early };
    const prepared = await compiled.for(stream).prepare(records, { now, receivedAt: now });
    const admission = admitBatch(stream.validation, prepared.records, prepared.result);
    const issues = [
      ...early,
      ...admission.issues.map((i) => {
        const line = lines[i.index ?? 0]!;
        return { index: line - 1, path: i.path, message: `line ${line} (${stream.id}): ${i.path.join('.') || '(record)'}: ${i.message}` };
      }),
    ].sort((a, b) => a.index! - b.index!);
    if (!admission.admitted) return { admitted: false as const, issues };
    const envelope: IngestEnvelope = { streamId: stream.id, receivedAt: now, source: 'http', records: admission.records, ...(prepared.filtered > 0 && { filtered: prepared.filtered }) };
    return { admitted: true as const, issues, envelope };
  }
}

function listIssues(lead: string, issues: Issue[]): string {
  const shown = issues.slice(0, LISTED).map((i) => i.message);
  return `${lead}: ${shown.join('; ')}${issues.length > LISTED ? `; and ${issues.length - LISTED} more` : ''}`;
}

/** InfluxDB's error body: 1.x `{"error": …}`; 2.x `{"code", "message"}`, with the first bad line. */
function influxError(v2: boolean, status: number, message: string, line?: number, headers: Record<string, string> = {}): HttpResult {
  const body = v2 ? { code: V2_CODE[status] ?? 'invalid', message, ...(line !== undefined && { line }) } : { error: message };
  return { statusCode: status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}
