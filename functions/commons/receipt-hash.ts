import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { StoredEvent } from '../../shared/domain/events';
import type { Row } from '../../shared/domain/query';
import { GENESIS, type BatchContent, type Receipt, type ReceiptEntry } from '../../shared/domain/receipts';
import { measureFields } from '../../shared/domain/stream-names';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';

/**
 * The canonical forms a receipt keeps, the same whether the writer makes them from what it stores or
 * verification from what a store returns. A batch's records are one line each, in the order written:
 * - its points under a first line `{"names":[[dimension, …],[field, …]]}` (the stream's, each in code-point
 *   order), each point `[time, dimension value…, field value…]` as JSON in those orders, null for a
 *   dimension or field it does not carry (as stores answer them);
 * - an event: `{"event": <RFC 8785 (JSON Canonicalization Scheme) of {id, eventTime, validTime, metadata,
 *   data}>}`, with `"x": <epoch ms>` when it is ephemeral (gone for good then).
 * The batch's hash is the SHA-256 of its lines joined by LF, and a receipt's chain hash the SHA-256 of its
 * fields and `prev`. The writer only writes lines (no hash per record: that is per batch); verification
 * parses them back into entries and compares them with the forms of what the stores return.
 */

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A stream's names as the forms list them: dimensions and measure fields, each in code-point order. */
export interface FormNames {
  dimensions: readonly string[];
  fields: readonly string[];
}

const codePointOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The stream's names in form order; once per batch, not per record. */
export function formNames(stream: Stream): FormNames {
  return { dimensions: [...stream.dimensions].sort(codePointOrder), fields: measureFields(stream).sort(codePointOrder) };
}

/** A point's (or a raw row's) line in `names`' order. */
export function pointLine(p: Datapoint | Row, names: FormNames): string {
  const line: unknown[] = [p.time];
  for (const n of names.dimensions) line.push(p.dimensions[n] || null);
  for (const n of names.fields) line.push(p.values[n] ?? null);
  return JSON.stringify(line);
}

/** A point's key: its time and series (the dimensions it has, by name). */
export function pointKey(p: Pick<Datapoint, 'time' | 'dimensions'>, names: FormNames): string {
  const series: string[] = [];
  for (const n of names.dimensions) if (p.dimensions[n]) series.push(n, p.dimensions[n]);
  return `p ${p.time} ${JSON.stringify(series)}`;
}

/** An event's canonical form: what a query answers of it, not where it is kept or for how long. */
export function eventForm(e: StoredEvent): string {
  return canonicalize({ id: e.id, eventTime: e.eventTime, validTime: e.validTime, ...(e.metadata !== undefined && { metadata: e.metadata }), data: e.data })!;
}

/** An event's key: its id. */
export const eventKey = (e: Pick<StoredEvent, 'id'>): string => `e ${e.id}`;

/**
 * A stored batch as its receipt keeps it: a line per point and per event, in the order written (a key
 * written twice counts where it came first, as the stores keep it), their hash, count and time range.
 *
 * @example
 * const content = batchContent(writtenPoints, events, formNames(stream));
 */
export function batchContent(points: readonly Datapoint[], events: readonly StoredEvent[], names: FormNames): BatchContent {
  const lines: string[] = [];
  let from = Infinity;
  let to = -Infinity;
  if (points.length) lines.push(`{"names":${JSON.stringify([names.dimensions, names.fields])}}`);
  for (const p of points) {
    lines.push(pointLine(p, names));
    if (p.time < from) from = p.time;
    if (p.time > to) to = p.time;
  }
  for (const e of events) {
    lines.push(`{"event":${eventForm(e)}${e.archive ? '' : `,"x":${e.hotUntil}`}}`);
    if (e.eventTime < from) from = e.eventTime;
    if (e.eventTime > to) to = e.eventTime;
  }
  const text = lines.join('\n');
  const count = points.length + events.length;
  return { text, hash: sha256(text), count, ...(count ? { from, to } : { from: 0, to: 0 }) };
}

/** A point entry of a receipt: with the names its line was written in, to read a stored row the same way. */
export interface PointEntry extends ReceiptEntry {
  names: FormNames;
}

/**
 * A receipt's kept text as entries (key, form, time, expiry; a point's with its names), or `undefined`
 * when the text is not the one its hash names (changed where it is kept).
 *
 * @example
 * const entries = entriesOf(text, receipt.hash);
 */
export function entriesOf(text: string, hash: string): (ReceiptEntry | PointEntry)[] | undefined {
  if (sha256(text) !== hash) return undefined;
  const entries: (ReceiptEntry | PointEntry)[] = [];
  let names: FormNames = { dimensions: [], fields: [] };
  for (const line of text === '' ? [] : text.split('\n')) {
    if (line.startsWith('{"names":')) {
      const [dimensions, fields] = (JSON.parse(line) as { names: [string[], string[]] }).names;
      names = { dimensions, fields };
    } else if (line.startsWith('{')) {
      const { event, x } = JSON.parse(line) as { event: StoredEvent; x?: number };
      entries.push({ k: eventKey(event), d: eventForm(event), t: event.eventTime, ...(x !== undefined && { x }) });
    } else {
      const values = JSON.parse(line) as unknown[];
      const dimensions: Record<string, string> = Object.create(null);
      names.dimensions.forEach((n, i) => {
        if (values[i + 1] !== null) dimensions[n] = values[i + 1] as string;
      });
      entries.push({ k: pointKey({ time: values[0] as number, dimensions }, names), d: line, t: values[0] as number, names });
    }
  }
  return entries;
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
