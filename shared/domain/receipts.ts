/**
 * Receipts: every batch the writer stores gets one, chained to the stream's previous receipt, so that what a
 * store returns later can be checked against what was accepted. The hashing lives with the functions
 * (`functions/commons/receipt-hash.ts`); this module holds the shapes and the comparison, which are pure.
 */

/** The chain's start: the `prev` of a stream's first receipt. */
export const GENESIS = '0'.repeat(64);

/**
 * One record of a batch, as verification reads it from its receipt's kept text: its key (a point's series
 * and time, an event's id), its canonical form, its time (a point's time, an event's event time) and, for an
 * ephemeral event, when it is gone for good (epoch ms).
 */
export interface ReceiptEntry {
  k: string;
  d: string;
  t: number;
  x?: number;
}

/** A batch's records as its receipt keeps them: a canonical line each, their SHA-256, count and time range. */
export interface BatchContent {
  text: string;
  hash: string;
  count: number;
  /** Epoch ms, the least and greatest record time. */
  from: number;
  to: number;
}

/**
 * A stream's receipt for one stored batch. `chain` is the SHA-256 over the receipt's own fields and `prev`
 * (the chain of the receipt before): changing, dropping or inserting a receipt breaks every link after it.
 */
export interface Receipt {
  seq: number;
  /** Epoch ms: when the batch was stored. */
  at: number;
  hash: string;
  count: number;
  from: number;
  to: number;
  prev: string;
  chain: string;
  /** The key that signed `chain` (a KMS key ARN in AWS, `local:<fingerprint>` on one machine), and its signature. */
  keyId?: string;
  /** Base64 of the DER ECDSA P-256 signature over SHA-256 of `chain` (its 64 hex characters as ASCII). */
  signature?: string;
}

/** The public half of the key receipts are signed with, as `GET …/receipts` answers it. */
export interface ReceiptKey {
  keyId: string;
  /** KMS's name for ECDSA with P-256 and SHA-256. */
  algorithm: 'ECDSA_SHA_256';
  /** SubjectPublicKeyInfo, PEM. */
  publicKeyPem: string;
}

/** What verification found wrong, each naming the receipt (batch) it concerns when there is one. */
export type VerifyProblem =
  | { kind: 'chain'; seq: number; reason: string }
  | { kind: 'detail'; seq: number; reason: string }
  | { kind: 'signature'; seq: number; reason: string }
  | { kind: 'altered'; seq: number; key: string }
  | { kind: 'dropped'; seq: number; key: string }
  | { kind: 'inserted'; key: string };

/** How many problems an answer lists (the counts stay exact). */
export const MAX_PROBLEMS = 100;

/**
 * The chain's problems: receipts numbered 1, 2, 3… without a gap, each `prev` the `chain` before it and each
 * `chain` what `linkHash` recomputes from its fields.
 *
 * @example
 * checkChain(receipts, (r) => chainHash(r));
 */
export function checkChain(receipts: readonly Receipt[], linkHash: (r: Omit<Receipt, 'chain'>) => string, before?: Receipt): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  let prev = before;
  for (const r of receipts) {
    const seq = (prev?.seq ?? 0) + 1;
    if (r.seq !== seq) problems.push({ kind: 'chain', seq: r.seq, reason: `receipt ${r.seq} follows receipt ${prev?.seq ?? 0}: receipt ${seq} is missing` });
    else if (r.prev !== (prev?.chain ?? GENESIS)) problems.push({ kind: 'chain', seq: r.seq, reason: `receipt ${r.seq} does not link to receipt ${prev?.seq ?? 0} (prev is not its chain hash)` });
    const { chain, ...fields } = r;
    if (linkHash(fields) !== chain) problems.push({ kind: 'chain', seq: r.seq, reason: `receipt ${r.seq} was changed: its chain hash is not the hash of its fields` });
    prev = r;
  }
  return problems;
}

/** What a window's receipts say its records must be: each key's form as the first receipt naming it wrote it. */
export type Expected = Map<string, { d: string; seq: number; x?: number }>;

/**
 * Folds receipts' entries (in receipt order) into what the store must hold for `[start, end)`: the first
 * batch to write a key holds it, as the stores do (a later point of the same series and time is a duplicate
 * they drop, or with another value one Timestream rejects, and a rejected point is in no receipt; an event
 * id is written once).
 *
 * @example
 * const expected = expectedRecords([[receipt, entries]], start, end);
 */
export function expectedRecords(batches: readonly (readonly [Receipt, readonly ReceiptEntry[]])[], start: number, end: number): Expected {
  const expected: Expected = new Map();
  for (const [r, entries] of [...batches].sort((a, b) => a[0].seq - b[0].seq)) {
    for (const e of entries) {
      if (e.t < start || e.t >= end || expected.has(e.k)) continue;
      expected.set(e.k, { d: e.d, seq: r.seq, ...(e.x !== undefined && { x: e.x }) });
    }
  }
  return expected;
}

/**
 * Compares what the store returned for a window (key → canonical form) with what its receipts say: a record
 * whose form differs was altered, one missing was dropped (unless it was ephemeral and its time is past), one no
 * receipt names was inserted. Counts are exact; `problems` keeps the first `MAX_PROBLEMS`.
 *
 * @example
 * const { problems, altered } = compareRecords(expected, stored, Date.now());
 */
export function compareRecords(expected: Expected, stored: ReadonlyMap<string, string>, now: number) {
  const counts = { verified: 0, altered: 0, dropped: 0, inserted: 0, expired: 0 };
  const problems: VerifyProblem[] = [];
  const note = (p: VerifyProblem) => problems.length < MAX_PROBLEMS && problems.push(p);
  for (const [key, want] of expected) {
    const got = stored.get(key);
    if (got === undefined) {
      if (want.x !== undefined && want.x <= now) counts.expired++;
      else {
        counts.dropped++;
        note({ kind: 'dropped', seq: want.seq, key });
      }
    } else if (got !== want.d) {
      counts.altered++;
      note({ kind: 'altered', seq: want.seq, key });
    } else counts.verified++;
  }
  for (const key of stored.keys()) {
    if (expected.has(key)) continue;
    counts.inserted++;
    note({ kind: 'inserted', key });
  }
  return { ...counts, problems };
}
