import { describe, expect, it } from 'vitest';
import { alertLanes, MAX_COALESCED_POINTS } from '../../infra/local/alerts';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';

const stream = (version = 1) => ({ id: 's', version }) as Stream;
const points = (n: number, from = 0): Datapoint[] => Array.from({ length: n }, (_, i) => ({ time: from + i, dimensions: {}, values: { v: i } }));

describe('alertLanes', () => {
  it('evaluates batches that wait behind a running evaluation as one, in order, and keeps versions apart', async () => {
    const calls: { version: number; times: number[] }[] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const lanes = alertLanes(
      {
        async evaluate(s, p) {
          calls.push({ version: s.version, times: p.map((x) => x.time) });
          if (calls.length === 1) await first;
        },
      },
      { error: () => {}, info: () => {} },
    );
    await lanes.evaluate(stream(), points(2, 0));
    await new Promise((r) => setTimeout(r, 0));
    await lanes.evaluate(stream(), points(2, 10));
    await lanes.evaluate(stream(), points(2, 20));
    await lanes.evaluate(stream(2), points(1, 30));
    release();
    await lanes.idle();
    expect(calls).toEqual([
      { version: 1, times: [0, 1] },
      { version: 1, times: [10, 11, 20, 21] },
      { version: 2, times: [30] },
    ]);
  });

  it('starts another evaluation once the waiting points would pass MAX_COALESCED_POINTS', async () => {
    const sizes: number[] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const lanes = alertLanes({ async evaluate(_s, p) { sizes.push(p.length); if (sizes.length === 1) await first; } }, { error: () => {}, info: () => {} });
    await lanes.evaluate(stream(), points(1));
    await new Promise((r) => setTimeout(r, 0));
    await lanes.evaluate(stream(), points(MAX_COALESCED_POINTS - 1));
    await lanes.evaluate(stream(), points(1));
    await lanes.evaluate(stream(), points(1));
    release();
    await lanes.idle();
    expect(sizes).toEqual([1, MAX_COALESCED_POINTS, 1]);
  });
});
