import { BadRequestError } from '../../shared/domain/errors';
import { MAX_EVENT_LIMIT, type EventQuery } from '../../shared/domain/events';
import { MAX_LIMIT, parseDataQuery, type DataQuery } from '../../shared/domain/query';
import { checkChain, compareRecords, expectedRecords, MAX_PROBLEMS, type Receipt, type ReceiptEntry, type VerifyProblem } from '../../shared/domain/receipts';
import type { Stream } from '../../shared/domain/stream-definition';
import { parseTimestamp } from '../../shared/domain/datetime';
import type { Clock, EventSource, PointStore, ReceiptLedger, ReceiptSigner } from '../../shared/ports';
import type { HttpEvent, HttpResult } from '../commons/http';
import { jsonResponse } from '../commons/problem';
import { signatureProblems } from '../commons/receipt-signature';
import { chainHash, entriesOf, eventForm, eventKey, formNames, pointKey, pointLine, type FormNames, type PointEntry } from '../commons/receipt-hash';

/** Receipts per page of `GET …/receipts`, unless `limit` says otherwise. */
const DEFAULT_RECEIPTS = 100;
const MAX_RECEIPTS = 1000;
/** How many receipts' entries verification reads at once. */
const ENTRY_READS = 8;

export interface VerifyDeps {
  store: PointStore;
  clock: Clock;
  receipts: ReceiptLedger;
  events?: EventSource;
  /** The receipt key's public half: with it every receipt's signature is checked, and answered for users to check. */
  keys?: Pick<ReceiptSigner, 'publicKey'>;
}

/** A receipt as the API answers it: times in RFC 3339. */
function receiptAnswer(r: Receipt) {
  return {
    seq: r.seq, at: new Date(r.at).toISOString(), count: r.count, from: new Date(r.from).toISOString(), to: new Date(r.to).toISOString(), hash: r.hash, prev: r.prev, chain: r.chain,
    ...(r.signature && { keyId: r.keyId, signature: r.signature }),
  };
}

/**
 * `GET /v1/streams/{id}/receipts` (a page of the stream's receipts, oldest first, and its head) and
 * `GET /v1/streams/{id}/verify` (the chain checked link by link, then every record of the window read back
 * from the stores and compared with what the receipts say was stored: altered, dropped and inserted records
 * are each named with the receipt of their batch).
 *
 * @example
 * const { receiptsRoute, verifyRoute } = makeVerify({ store, clock, receipts, events });
 */
export function makeVerify(deps: VerifyDeps) {
  const { receipts, clock } = deps;

  async function receiptsRoute(stream: Stream, event: HttpEvent): Promise<HttpResult> {
    const params = event.queryStringParameters ?? {};
    const after = params.after === undefined ? undefined : Number(params.after);
    const limit = params.limit === undefined ? DEFAULT_RECEIPTS : Number(params.limit);
    const issues = [];
    for (const p of Object.keys(params)) if (p !== 'after' && p !== 'limit') issues.push({ path: [p], message: 'is not a parameter of this route (after, limit)' });
    if (after !== undefined && !(Number.isInteger(after) && after >= 0)) issues.push({ path: ['after'], message: 'must be a receipt number (an integer from 0)' });
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_RECEIPTS)) issues.push({ path: ['limit'], message: `must be an integer from 1 to ${MAX_RECEIPTS}` });
    if (issues.length) throw new BadRequestError('Invalid receipts query.', issues);
    const [page, head, key] = await Promise.all([receipts.list(stream.id, { ...(after !== undefined && { after }), limit }), receipts.head(stream.id), deps.keys?.publicKey()]);
    return jsonResponse(200, {
      streamId: stream.id,
      receipts: page.receipts.map(receiptAnswer),
      ...(head && { head: receiptAnswer(head) }),
      ...(key && { key }),
      ...(page.next !== undefined && { nextCursor: String(page.next) }),
    });
  }

  async function verifyRoute(stream: Stream, event: HttpEvent): Promise<HttpResult> {
    const params = event.queryStringParameters ?? {};
    const issues = [];
    for (const p of Object.keys(params)) if (p !== 'start' && p !== 'end') issues.push({ path: [p], message: 'is not a parameter of this route (start, end)' });
    const start = params.start === undefined ? undefined : parseTimestamp(/^\d+$/.test(params.start) ? Number(params.start) : params.start);
    const end = params.end === undefined ? undefined : parseTimestamp(/^\d+$/.test(params.end) ? Number(params.end) : params.end);
    if (params.start !== undefined && start === undefined) issues.push({ path: ['start'], message: 'must be an RFC 3339 date-time or epoch milliseconds' });
    if (params.end !== undefined && end === undefined) issues.push({ path: ['end'], message: 'must be an RFC 3339 date-time or epoch milliseconds' });
    if (start !== undefined && end !== undefined && start >= end) issues.push({ path: ['start'], message: 'must be before end' });
    if (issues.length) throw new BadRequestError('Invalid verification.', issues);
    return jsonResponse(200, await verify(stream, start, end));
  }

  async function verify(stream: Stream, start: number | undefined, end: number | undefined) {
    const now = clock.now();
    const all = await allReceipts(stream.id);
    const problems: VerifyProblem[] = checkChain(all, chainHash);
    const key = await deps.keys?.publicKey();
    if (key) problems.push(...signatureProblems(all, key));
    // the whole stream unless asked: from its first record to past its last (or now)
    const window = {
      start: start ?? all.reduce((least, r) => (r.count > 0 && r.from < least ? r.from : least), now),
      end: end ?? all.reduce((most, r) => (r.to + 1 > most ? r.to + 1 : most), now + 1),
    };
    const touching = all.filter((r) => r.count > 0 && r.from < window.end && r.to >= window.start);
    const batches: [Receipt, (ReceiptEntry | PointEntry)[]][] = [];
    for (let i = 0; i < touching.length; i += ENTRY_READS) {
      const read = await Promise.all(touching.slice(i, i + ENTRY_READS).map(async (r) => [r, await receipts.receiptText(stream.id, r)] as const));
      for (const [r, text] of read) {
        const entries = text === undefined ? undefined : entriesOf(text, r.hash);
        if (text === undefined) problems.push({ kind: 'detail', seq: r.seq, reason: `the records of receipt ${r.seq} are gone from the receipt store` });
        else if (!entries) problems.push({ kind: 'detail', seq: r.seq, reason: `the records kept for receipt ${r.seq} are not the ones its hash names` });
        else batches.push([r, entries]);
      }
    }
    const stored = await storedForms(stream, namesOfKeys(batches), window.start, window.end, now);
    const records = compareRecords(expectedRecords(batches, window.start, window.end), stored, now);
    problems.push(...records.problems);
    const { problems: _listed, ...counts } = records;
    const head = all[all.length - 1];
    return {
      streamId: stream.id,
      verified: problems.length === 0,
      window: { start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() },
      receipts: { total: all.length, inWindow: touching.length, signed: all.filter((r) => r.signature).length, ...(head && { head: receiptAnswer(head) }) },
      ...(key && { key }),
      records: counts,
      problems: problems.slice(0, MAX_PROBLEMS).map(describe),
    };
  }

  async function allReceipts(streamId: string): Promise<Receipt[]> {
    const all: Receipt[] = [];
    let after: number | undefined;
    do {
      const page = await receipts.list(streamId, { ...(after !== undefined && { after }), limit: MAX_RECEIPTS });
      all.push(...page.receipts);
      after = page.next;
    } while (after !== undefined);
    return all;
  }

  /**
   * Every record the stores hold for the window (points, and an event stream's events), by key → form; a
   * point in the names its receipt wrote it in (a field added since is null in its line, as it was then).
   */
  async function storedForms(stream: Stream, namesOf: Map<string, FormNames>, start: number, end: number, now: number): Promise<Map<string, string>> {
    const stored = new Map<string, string>();
    const names = formNames(stream);
    const q: DataQuery = parseDataQuery(stream, { start: String(start), end: String(end), limit: String(MAX_LIMIT) }, now);
    for (let after = q.after; ; ) {
      const rows = await deps.store.query(stream, { ...q, ...(after && { after }), limit: q.limit + 1 });
      for (const row of rows.slice(0, q.limit)) {
        const key = pointKey(row, names);
        stored.set(key, pointLine(row, namesOf.get(key) ?? names));
      }
      if (rows.length <= q.limit) break;
      const last = rows[q.limit - 1]!;
      after = { time: last.time, key: q.keyDimensions.map((d) => last.dimensions[d] ?? '') };
    }
    if (stream.type === 'event_stream' && deps.events) {
      const eq: EventQuery = { start, end, timeAxis: 'event', limit: MAX_EVENT_LIMIT, order: 'asc' };
      for (let after: EventQuery['after']; ; ) {
        const page = await deps.events.query(stream.id, { ...eq, ...(after && { after }) }, now);
        for (const e of page.events) stored.set(eventKey(e), eventForm(e));
        if (!page.next) break;
        after = page.next;
      }
    }
    return stored;
  }

  return { receiptsRoute, verifyRoute };
}

/** Each point's names, from the first receipt that wrote it (the one that holds it). */
function namesOfKeys(batches: readonly (readonly [Receipt, readonly (ReceiptEntry | PointEntry)[]])[]): Map<string, FormNames> {
  const namesOf = new Map<string, FormNames>();
  for (const [, entries] of [...batches].sort((a, b) => a[0].seq - b[0].seq)) {
    for (const e of entries) if ('names' in e && !namesOf.has(e.k)) namesOf.set(e.k, e.names);
  }
  return namesOf;
}

/** A problem as the answer says it: what, which batch (its receipt's number), which record, and why. */
function describe(p: VerifyProblem) {
  switch (p.kind) {
    case 'chain':
    case 'detail':
    case 'signature':
      return { kind: p.kind, batch: p.seq, reason: p.reason };
    case 'altered':
      return { kind: p.kind, batch: p.seq, record: p.key, reason: `the stored record is not the one batch ${p.seq} stored` };
    case 'dropped':
      return { kind: p.kind, batch: p.seq, record: p.key, reason: `the record batch ${p.seq} stored is missing` };
    case 'inserted':
      return { kind: p.kind, record: p.key, reason: 'the stored record is in no batch' };
  }
}
