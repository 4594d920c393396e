import { describe, expect, it } from 'vitest';
import { hasScheduledRules, ingestRules } from '../../shared/domain/alert-evaluation';
import { healthBreaches, healthRules } from '../../shared/domain/alert-health-checks';
import { AlertRuleSchema, type HealthCondition } from '../../shared/domain/alert-rules';
import { bucketStart, errorRateOver, HEALTH_BUCKET_MS, latencyBins, latencyOver, rateOver, streamHealth, uptimeOver, type HealthBucket } from '../../shared/domain/stream-health';

const NOW = Date.UTC(2026, 0, 1, 12, 30, 30); // 30 s into a minute
const active = { state: 'active' as const };

/** A bucket `minutesAgo` whole minutes before NOW's, whose points waited `waits` ms (one point each). */
function bucket(minutesAgo: number, counts: { points?: number; invalid?: number; rejected?: number }, waits: number[] = []): HealthBucket {
  const { latency, latencySumMs } = latencyBins(waits.map((ms) => ({ ms, points: 1 })));
  return { start: bucketStart(NOW) - minutesAgo * HEALTH_BUCKET_MS, points: counts.points ?? waits.length, invalid: counts.invalid ?? 0, rejected: counts.rejected ?? 0, latency, latencySumMs };
}

describe('latencyOver', () => {
  it('reports p50, p95 and p99 within the sketch accuracy of the exact percentiles, merged across minutes', () => {
    const waits = Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000 ms
    const buckets = [bucket(2, {}, waits.slice(0, 500)), bucket(1, {}, waits.slice(500, 900)), bucket(0, {}, waits.slice(900))];
    const p = latencyOver(buckets, NOW, 3_600_000)!;
    expect(p.points).toBe(1000);
    expect(Math.abs(p.p50 - 500) / 500).toBeLessThanOrEqual(0.03);
    expect(Math.abs(p.p95 - 950) / 950).toBeLessThanOrEqual(0.03);
    expect(Math.abs(p.p99 - 990) / 990).toBeLessThanOrEqual(0.03);
    expect(p.avg).toBe(501);
  });

  it('leaves out buckets older than the window and says nothing without points', () => {
    const buckets = [bucket(90, {}, [60_000]), bucket(0, {}, [100])];
    expect(latencyOver(buckets, NOW, 3_600_000)!.p99).toBeLessThan(110);
    expect(latencyOver([], NOW, 3_600_000)).toBeUndefined();
  });

  it('counts a wait under a millisecond as one', () => {
    expect(latencyOver([bucket(0, {}, [0, 0])], NOW, 60_000)!.p50).toBe(1);
  });
});

describe('rateOver', () => {
  it('counts the current minute whole and the previous one for the share of it inside the last 60 s', () => {
    // 30 s into the minute: half of the previous minute lies inside the window
    const buckets = [bucket(1, { points: 120 }), bucket(0, { points: 60 })];
    expect(rateOver(buckets, NOW, 60_000)).toBe((60 + 60) / 60);
    expect(rateOver(buckets, NOW, 3_600_000)).toBe(180 / 3600);
  });
});

describe('errorRateOver', () => {
  it('divides invalid and refused records by every record of the last five minutes', () => {
    const buckets = [bucket(10, { points: 0, invalid: 100 }), bucket(1, { points: 90, invalid: 6, rejected: 4 })];
    expect(errorRateOver(buckets, NOW, 300_000)).toEqual({ ratio: 0.1, invalid: 10, total: 100, window: '5m' });
    expect(errorRateOver([], NOW, 300_000).ratio).toBe(0);
  });
});

describe('streamHealth', () => {
  const lastDataAt = (msAgo: number) => new Date(NOW - msAgo).toISOString();

  it('is healthy while data arrives with few errors and short waits', () => {
    const h = streamHealth({ stream: active, buckets: [bucket(0, {}, [50, 60, 70])], lastDataAt: lastDataAt(1000), now: NOW });
    expect(h).toMatchObject({ status: 'healthy', lastProcessed: lastDataAt(1000), dataAgeMs: 1000, errorRate: { ratio: 0 } });
    expect(h.latencyMs!.p50).toBeGreaterThanOrEqual(58);
  });

  it('is degraded over 5 % errors and names the rate', () => {
    const h = streamHealth({ stream: active, buckets: [bucket(0, { points: 90, invalid: 10 })], lastDataAt: lastDataAt(1000), now: NOW });
    expect(h.status).toBe('degraded');
    expect(h.reason).toContain('10 %');
  });

  it('is degraded when the p95 wait of the last five minutes passes 30 s', () => {
    const h = streamHealth({ stream: active, buckets: [bucket(0, {}, [45_000, 45_000])], lastDataAt: lastDataAt(1000), now: NOW });
    expect(h.status).toBe('degraded');
    expect(h.processingLagMs).toBeGreaterThan(30_000);
  });

  it('is degraded after ten silent minutes and down after an hour, or when paused', () => {
    expect(streamHealth({ stream: active, buckets: [], lastDataAt: lastDataAt(11 * 60_000), now: NOW }).status).toBe('degraded');
    expect(streamHealth({ stream: active, buckets: [], lastDataAt: lastDataAt(61 * 60_000), now: NOW })).toMatchObject({ status: 'down', reason: 'nothing stored for 61 min' });
    expect(streamHealth({ stream: { state: 'paused' }, buckets: [], now: NOW }).status).toBe('down');
  });

  it('is down when half the records are refused', () => {
    expect(streamHealth({ stream: active, buckets: [bucket(0, { points: 5, rejected: 5 })], lastDataAt: lastDataAt(0), now: NOW }).status).toBe('down');
  });

  it('gives the document\'s uptime and avgLatency: minutes down by errors or an hour of silence count against it, quiet minutes do not', () => {
    // 20 minutes since the first point (NOW is 30 s into its minute: 21 minutes started), 3 of them with half refused
    const buckets = [bucket(20, { points: 10 }), bucket(15, { points: 5, rejected: 5 }), bucket(10, { points: 1, invalid: 3 }), bucket(5, { points: 2, rejected: 2 }), bucket(0, {}, [100, 150])];
    const h = streamHealth({ stream: active, buckets, lastDataAt: lastDataAt(1000), now: NOW });
    expect(h.uptime).toBe(`${Math.round((18 / 21) * 1000) / 10}%`);
    expect(h.avgLatency).toBe(`${h.latencyMs!.avg}ms`);
    expect(h.avgLatency).toBe('125ms');
    // an hour and a half of silence: the last half hour of the window was down
    expect(uptimeOver([], NOW, NOW - 90 * 60_000)).toBe(`${Math.round((31 / 61) * 1000) / 10}%`);
    expect(uptimeOver([bucket(3, { points: 1 })], NOW, NOW - 3 * 60_000)).toBe('100%');
    expect(streamHealth({ stream: active, buckets: [], now: NOW })).toMatchObject({ uptime: '100%' });
    expect(streamHealth({ stream: active, buckets: [], now: NOW }).avgLatency).toBeUndefined();
  });

  it('calls a stream that never had data healthy, with that reason', () => {
    expect(streamHealth({ stream: active, buckets: [], now: NOW })).toMatchObject({ status: 'healthy', reason: 'no data yet', pointsPerSecond: { lastMinute: 0, lastHour: 0 } });
  });
});

describe('health-check rules', () => {
  const parse = (when: unknown) => AlertRuleSchema.safeParse({ name: 'h', when });

  it('reads the three texts into their objects', () => {
    expect(parse('error_rate > 5%').data?.when).toEqual({ health: 'error_rate', above: '5%' });
    expect(parse('processing_lag > 30s').data?.when).toEqual({ health: 'processing_lag', above: '30s' });
    expect(parse('data_freshness > 10m').data?.when).toEqual({ health: 'data_freshness', above: '10m' });
  });

  it('refuses a limit that is not a percentage below 100 or a duration up to a day, at when.above', () => {
    for (const when of ['error_rate > 100%', 'error_rate > 5', 'processing_lag > 5%', 'data_freshness > 2d']) {
      expect(parse(when).error?.issues[0]?.path, when).toEqual(['when', 'above']);
    }
  });

  it('runs on the schedule, not on ingest', () => {
    const stream = { alerts: [parse('data_freshness > 10m').data!, parse('no data for 5m').data!] };
    expect(ingestRules(stream)).toEqual([]);
    expect(hasScheduledRules(stream)).toBe(true);
  });

  it('breaches above the limit only, and never on a figure that cannot be measured', () => {
    const rules = healthRules([parse('error_rate > 5%').data!, parse('data_freshness > 10m').data!, parse('processing_lag > 30s').data!].map((r) => ({ ...r, name: (r.when as HealthCondition).health })));
    const health = streamHealth({ stream: active, buckets: [bucket(0, { points: 90, invalid: 10 })], lastDataAt: new Date(NOW - 11 * 60_000).toISOString(), now: NOW });
    expect(healthBreaches(rules, health).map((b) => [b.rule.name, b.breached, b.value])).toEqual([
      ['error_rate', true, 0.1],
      ['data_freshness', true, 11 * 60_000],
      ['processing_lag', false, undefined],
    ]);
    const fresh = streamHealth({ stream: active, buckets: [], now: NOW });
    expect(healthBreaches(rules, fresh).every((b) => !b.breached)).toBe(true);
  });
});
