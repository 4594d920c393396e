import { parseDuration, type AlertRule, type Condition } from './alert-rules';
import { SESSION_LOOKBACK_MS } from './alert-window-conditions';

/**
 * What a rule costs per evaluation in AWS, and the cap rule validation holds it to. Every evaluation (one per
 * rule and written batch) runs the rule's Timestream queries; Timestream bills the bytes each query scans,
 * at least 10 MB a query, and a downsampled query scans the raw records of its range all the same. So a
 * rule's cost is its number of queries and the span of records they read:
 *
 *   bytes ≈ Σ over its queries of max(10 MB, span in seconds × records a second × bytes a record)
 *
 * estimated at a reference rate of one record a second per series and 64 bytes a record read (time, the
 * stream's dimensions and one measure), per series the batch touches:
 *
 * | rule | queries | span read |
 * |---|---|---|
 * | `temperature > 30`, `outside_range`, expression | 0 | – |
 * | `avg(x) over 5m`, `… sliding 1m` | 1 | the window |
 * | `count() over session 10m` | 1 | `SESSION_LOOKBACK_MS` (1 day) |
 * | `zscore(x) over 1h`, baseline `over 7d` | 1 | the history |
 * | `… over same hour of 7d` (z-score, baseline) | 1 | the 7 days |
 * | `mad(x) over 1h` | 1 | the history |
 * | `mad(x) over same hour of 7d` | 7 | one hour each |
 * | `avg(x) over 1h > 1.2 * avg(x) over 7d` | 2 | the window, and the history |
 *
 * @example
 * ruleScanEstimate({ field: 'x', op: '>', baseline: { agg: 'avg', over: '7d', factor: 1.2, offset: 0 } }); // { queries: 1, bytes: 38707200 }
 */

/** Timestream's least billed scan per query. */
export const MIN_BILLED_BYTES = 10_000_000;
/** The reference rate the estimate assumes: records a second per series. */
export const REFERENCE_RECORDS_PER_SECOND = 1;
/** Bytes a record read costs: its time, dimensions and one measure. */
export const BYTES_PER_RECORD = 64;
/** The most one rule's evaluation may scan, per series, at the reference rate (a 30-day baseline: 166 MB). */
export const MAX_RULE_SCAN_BYTES = 200_000_000;
/** The most a stream's rules together may scan per batch, per series, at the reference rate. */
export const MAX_STREAM_SCAN_BYTES = 1_000_000_000;

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const scan = (spanMs: number) => Math.max(MIN_BILLED_BYTES, Math.ceil((spanMs / 1000) * REFERENCE_RECORDS_PER_SECOND * BYTES_PER_RECORD));

/** The spans (ms) of the queries one evaluation of a condition runs. */
function querySpans(c: Condition): number[] {
  const ms = (d: string) => parseDuration(d) ?? 0;
  if ('baseline' in c) return [...(c.window ? [ms(c.window.over)] : []), ms(c.baseline.over)];
  if ('zscore' in c) return [ms(c.zscore.over)];
  if ('mad' in c) return c.mad.seasonal ? Array.from({ length: Math.round(ms(c.mad.over) / DAY_MS) }, () => HOUR_MS) : [ms(c.mad.over)];
  if ('session' in c) return [SESSION_LOOKBACK_MS];
  if ('window' in c && c.window) return [ms(c.window.over)];
  return [];
}

/**
 * A condition's queries per evaluation and the bytes they scan in Timestream per series at the reference rate.
 *
 * @example
 * ruleScanEstimate({ field: 'x', op: '>', value: 30, window: { agg: 'avg', over: '5m' } }); // { queries: 1, bytes: 10000000 }
 */
export function ruleScanEstimate(c: Condition): { queries: number; bytes: number } {
  const spans = querySpans(c);
  return { queries: spans.length, bytes: spans.reduce((sum, span) => sum + scan(span), 0) };
}

const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

/**
 * Holds each rule to `MAX_RULE_SCAN_BYTES` and a stream's rules together to `MAX_STREAM_SCAN_BYTES`,
 * reporting under `[...base, rule, 'when']` (the stream's total under `base`).
 *
 * @example
 * checkRuleCosts(stream.alerts, ['alerts'], (path, message) => issues.push({ path, message }));
 */
export function checkRuleCosts(rules: readonly AlertRule[], base: (string | number)[], report: (path: (string | number)[], message: string) => void): void {
  let total = 0;
  rules.forEach((rule, i) => {
    const { queries, bytes } = ruleScanEstimate(rule.when);
    total += bytes;
    if (bytes > MAX_RULE_SCAN_BYTES) {
      report([...base, i, 'when'], `would scan about ${mb(bytes)} in Timestream per evaluation (${queries} queries, at 1 record/s per series); a rule may scan at most ${mb(MAX_RULE_SCAN_BYTES)}: shorten its history or window`);
    }
  });
  if (total > MAX_STREAM_SCAN_BYTES) {
    report(base, `the rules would scan about ${mb(total)} in Timestream per batch (at 1 record/s per series); a stream's rules may scan at most ${mb(MAX_STREAM_SCAN_BYTES)} together: drop or shorten some`);
  }
}
