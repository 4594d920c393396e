import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { StoredEvent } from '../../shared/domain/events';
import type { Row } from '../../shared/domain/query';
import { GENESIS, type BatchContent, type Receipt, type ReceiptEntry } from '../../shared/domain/receipts';
import type { Datapoint } from '../../shared/domain/validate-record';

/**
 * The canonical forms a receipt hashes, the same whether the writer computes them from what it stores or
 * verification from what a store returns:
 * - a point: `[time, dimensions, values]`, each object's entries sorted by name, empty dimensions and null
 *   values left out (stores answer them for fields a record did not carry), as JSON;
 * - an event: RFC 8785 (JSON Canonicalization Scheme) of `{id, eventTime, validTime, metadata, data}`.
 * A record's digest is the first 128 bits of the SHA-256 of its form, hex; a batch's hash the SHA-256 of its
 * entries' `key TAB digest LF` lines in key order; a receipt's chain the SHA-256 of its fields and `prev`.
 */

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const byName = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

function sortedEntries(o: Record<string, unknown>, skip: (v: unknown) => boolean): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const k in o) if (!skip(o[k])) out.push([k, o[k]]);
  return out.sort(byName);
}

const noDimension = (v: unknown) => v === undefined || v === null || v === '';
const noValue = (v: unknown) => v === undefined || v === null;

/** A point's key: its time and series. */
export function pointKey(p: Pick<Datapoint, 'time' | 'dimensions'>): string {
  return `p ${p.time} ${JSON.stringify(sortedEntries(p.dimensions, noDimension))}`;
}

/** A point's (or a raw row's) digest. */
export function pointDigest(p: Datapoint | Row): string {
  const form = JSON.stringify([p.time, sortedEntries(p.dimensions, noDimension), sortedEntries(p.values, noValue)]);
  return sha256(form).slice(0, 32);
}

/** An event's key: its id. */
export const eventKey = (e: Pick<StoredEvent, 'id'>): string => `e ${e.id}`;

/** An event's digest, over what a query answers of it (not where it is kept or for how long). */
export function eventDigest(e: StoredEvent): string {
  const form = canonicalize({ id: e.id, eventTime: e.eventTime, validTime: e.validTime, ...(e.metadata !== undefined && { metadata: e.metadata }), data: e.data })!;
  return sha256(form).slice(0, 32);
}

/**
 * A stored batch as its receipt names it: its points (a key written twice in the batch counts once, the first,
 * as the stores keep it) and its events, ephemeral events with the time they are gone for good.
 *
 * @example
 * const content = batchContent(writtenPoints, events);
 */
export function batchContent(points: readonly Datapoint[], events: readonly StoredEvent[]): BatchContent {
  const byKey = new Map<string, ReceiptEntry>();
  for (const p of points) {
    const k = pointKey(p);
    if (!byKey.has(k)) byKey.set(k, { k, d: pointDigest(p), t: p.time });
  }
  for (const e of events) {
    const k = eventKey(e);
    if (!byKey.has(k)) byKey.set(k, { k, d: eventDigest(e), t: e.eventTime, ...(!e.archive && { x: e.hotUntil }) });
  }
  const entries = [...byKey.values()].sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return { entries, hash: entriesHash(entries), count: entries.length, ...timeRange(entries) };
}

/** The SHA-256 of entries' `key TAB digest LF` lines, in the order given (key order for a batch). */
export function entriesHash(entries: readonly ReceiptEntry[]): string {
  const h = createHash('sha256');
  for (const e of entries) h.update(`${e.k}\t${e.d}\n`);
  return h.digest('hex');
}

function timeRange(entries: readonly ReceiptEntry[]): { from: number; to: number } {
  let from = Infinity;
  let to = -Infinity;
  for (const e of entries) {
    if (e.t < from) from = e.t;
    if (e.t > to) to = e.t;
  }
  return entries.length ? { from, to } : { from: 0, to: 0 };
}

/** A receipt's chain hash, over its fields and the chain before it. */
export function chainHash(r: Omit<Receipt, 'chain'>): string {
  return sha256(`tributary-receipt/1\n${r.seq}\n${r.at}\n${r.hash}\n${r.count}\n${r.from}\n${r.to}\n${r.prev}`);
}

/**
 * The receipt that follows `head` (the stream's last, if any) for a batch stored at `at`.
 *
 * @example
 * const receipt = nextReceipt(await ledger.head(streamId), content, Date.now());
 */
export function nextReceipt(head: Receipt | undefined, content: BatchContent, at: number): Receipt {
  const fields = { seq: (head?.seq ?? 0) + 1, at, hash: content.hash, count: content.count, from: content.from, to: content.to, prev: head?.chain ?? GENESIS };
  return { ...fields, chain: chainHash(fields) };
}
