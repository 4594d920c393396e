import { describe, expect, it } from 'vitest';
import { pointColumns } from '../../packages/cli/src/output';

describe('pointColumns (the CLI’s table and CSV rows)', () => {
  it('gives each downsampler a column, a trend one for its slope and one for its r², and a session its end and count', () => {
    const p = {
      time: '2026-01-01T00:00:00.000Z',
      end: '2026-01-01T00:09:50.000Z',
      count: 60,
      dimensions: { device: 'd1' },
      values: { y: { mean: 591, trend: { slope: 2, r2: 1 }, p95: 1131 } },
    };
    expect(pointColumns(p)).toEqual({ time: p.time, end: p.end, count: 60, device: 'd1', 'y.mean': 591, 'y.trend.slope': 2, 'y.trend.r2': 1, 'y.p95': 1131 });
    expect(pointColumns({ time: p.time, values: { y: { trend: null } } })).toEqual({ time: p.time, 'y.trend': null });
  });
});
