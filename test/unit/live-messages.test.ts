import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../shared/domain/errors';
import { byteLength, dataUpdate, filterKey, framesOf, parseLiveFilter, subprotocolToken } from '../../shared/domain/live-messages';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import { InProcessLiveFanout, type LiveSubscriber } from '../../shared/local/in-process-live-fanout';

const T0 = Date.UTC(2026, 0, 1);
const stream = { id: 'freezers', state: 'active', dimensions: ['deviceId'], schema: { deviceId: { type: 'string' }, temperature: { type: 'number' }, door: { type: 'string' } } } as unknown as Stream;

describe('parseLiveFilter', () => {
  it('reads fields, dim.NAME and a granularity as the query API names them', () => {
    expect(parseLiveFilter(stream, { fields: 'temperature', 'dim.deviceId': 'f1,f2', granularity: '10s', ticket: 'tkt_x' })).toEqual({
      fields: ['temperature'],
      filters: { deviceId: ['f1', 'f2'] },
      granularity: '10s',
      binMs: 10_000,
    });
    expect(parseLiveFilter(stream, {})).toEqual({ fields: [], filters: {}, granularity: 'raw', binMs: 0 });
  });

  it('names each bad parameter by its path', () => {
    try {
      parseLiveFilter(stream, { fields: 'nope', 'dim.site': 'x', granularity: '7s' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).issues.map((i) => i.path)).toEqual([['granularity'], ['fields'], ['dim.site']]);
    }
  });

  it('gives equal filters equal keys whatever their order', () => {
    const a = parseLiveFilter(stream, { fields: 'temperature,door', 'dim.deviceId': 'f2,f1' });
    const b = parseLiveFilter(stream, { fields: 'door,temperature', 'dim.deviceId': 'f1,f2' });
    expect(filterKey(a)).toBe(filterKey(b));
  });
});

describe('dataUpdate', () => {
  const points: Datapoint[] = [
    { time: T0 + 1_000, dimensions: { deviceId: 'f1' }, values: { temperature: -20, door: 'closed' } },
    { time: T0 + 2_000, dimensions: { deviceId: 'f1' }, values: { temperature: -24, door: 'open' } },
    { time: T0 + 3_000, dimensions: { deviceId: 'f2' }, values: { temperature: -30 } },
  ];

  it('keeps the subscription’s series and fields, and nothing when none of the batch is for it', () => {
    const u = dataUpdate(stream, points, parseLiveFilter(stream, { 'dim.deviceId': 'f2' }));
    expect(u).toEqual({ type: 'data_update', streamId: 'freezers', granularity: 'raw', points: [{ time: new Date(T0 + 3_000).toISOString(), dimensions: { deviceId: 'f2' }, values: { temperature: -30 } }] });
    expect(dataUpdate(stream, points, parseLiveFilter(stream, { 'dim.deviceId': 'f9' }))).toBeUndefined();
    expect(dataUpdate(stream, points.slice(2), parseLiveFilter(stream, { fields: 'door' }))).toBeUndefined();
  });

  it('bins per series: mean, min and max of numbers, count and last of every field', () => {
    const u = dataUpdate(stream, points, parseLiveFilter(stream, { granularity: '1m' }))!;
    expect(u.points).toEqual([
      { time: new Date(T0).toISOString(), dimensions: { deviceId: 'f1' }, values: { temperature: { count: 2, last: -24, min: -24, max: -20, mean: -22 }, door: { count: 2, last: 'open' } } },
      { time: new Date(T0).toISOString(), dimensions: { deviceId: 'f2' }, values: { temperature: { count: 1, last: -30, min: -30, max: -30, mean: -30 } } },
    ]);
  });
});

describe('framesOf', () => {
  it('cuts a data_update over the cap into parts of whole points, each under it', () => {
    const many = Array.from({ length: 2_000 }, (_, i) => ({ time: T0 + i, dimensions: { deviceId: `d${i}` }, values: { temperature: i } }));
    const u = dataUpdate(stream, many, parseLiveFilter(stream, {}))!;
    const frames = framesOf(u, 16 * 1024);
    expect(frames.length).toBeGreaterThan(3);
    for (const f of frames) expect(byteLength(f)).toBeLessThanOrEqual(16 * 1024);
    const parts = frames.map((f) => JSON.parse(f));
    expect(parts.flatMap((p) => p.points)).toEqual(u.points);
    expect(parts.map((p) => p.part.index)).toEqual(parts.map((_, i) => i));
  });

  it('leaves a small message whole', () => {
    expect(framesOf({ type: 'ping', at: 'x' })).toEqual(['{"type":"ping","at":"x"}']);
  });
});

describe('subprotocolToken', () => {
  it('finds the bearer token beside tributary.v1, and nothing without one', () => {
    expect(subprotocolToken('tributary.v1, bearer.trb_abc')).toBe('trb_abc');
    expect(subprotocolToken('tributary.v1')).toBeUndefined();
    expect(subprotocolToken('bearer.')).toBeUndefined();
    expect(subprotocolToken(undefined)).toBeUndefined();
  });
});

describe('InProcessLiveFanout', () => {
  const sub = (buffered: () => number) => {
    const got: string[] = [];
    const dropped: unknown[] = [];
    const s: LiveSubscriber = { streamId: 'freezers', filter: parseLiveFilter(stream, {}), buffered, write: (f) => got.push(f), drop: (n) => dropped.push(n), close: () => {} };
    return { s, got, dropped };
  };
  const points = [{ time: T0, dimensions: { deviceId: 'f1' }, values: { temperature: -20 } }];

  it('drops a subscriber whose unsent bytes are past the bound, with a notice, and keeps serving the others', async () => {
    const fanout = new InProcessLiveFanout({ clock: { now: () => T0 }, limitBytes: 1_000 });
    const stuck = sub(() => 1_001);
    const quick = sub(() => 0);
    fanout.subscribe(stuck.s);
    fanout.subscribe(quick.s);
    await fanout.publishPoints(stream, points);
    expect(stuck.got).toEqual([]);
    expect(stuck.dropped).toEqual([expect.objectContaining({ type: 'dropped', streamId: 'freezers', limitBytes: 1_000, dropped: 1 })]);
    expect(quick.got).toHaveLength(1);
    expect(fanout.count('freezers')).toBe(1);
    await fanout.publishPoints(stream, points);
    expect(stuck.dropped).toHaveLength(1);
    expect(quick.got).toHaveLength(2);
  });

  it('lets a subscriber that keeps up take a batch larger than the bound', async () => {
    const fanout = new InProcessLiveFanout({ clock: { now: () => T0 }, limitBytes: 100 });
    const reader = sub(() => 0);
    fanout.subscribe(reader.s);
    const many = Array.from({ length: 50 }, (_, i) => ({ time: T0 + i, dimensions: { deviceId: 'f1' }, values: { temperature: i } }));
    await fanout.publishPoints(stream, many);
    expect(reader.dropped).toEqual([]);
    expect(JSON.parse(reader.got[0]!).points).toHaveLength(50);
  });

  it('counts the points of the last window for metrics_update', async () => {
    let now = T0;
    const fanout = new InProcessLiveFanout({ clock: { now: () => now } });
    fanout.subscribe(sub(() => 0).s);
    await fanout.publishPoints(stream, [...points, ...points]);
    now += 1_000;
    expect(fanout.metrics('freezers')).toMatchObject({ type: 'metrics_update', points: 2, pointsPerSecond: 0.2, lastProcessed: new Date(T0).toISOString() });
    now += 20_000;
    expect(fanout.metrics('freezers')).toMatchObject({ points: 0, pointsPerSecond: 0 });
  });
});
