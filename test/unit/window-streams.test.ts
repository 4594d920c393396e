import { describe, expect, it } from 'vitest';
import { checkWindows, windowColumns, windowStreamId, WindowsSchema } from '../../shared/domain/window-streams';

const source = { schema: { sensor_id: { type: 'string' as const }, location: { type: 'string' as const }, temperature: { type: 'number' as const }, humidity: { type: 'number' as const }, label: { type: 'string' as const } }, timeField: 'timestamp', dimensions: ['sensor_id', 'location'] };
const check = (windows: unknown) => {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const defs = checkWindows(WindowsSchema.parse(windows), source, (path, message) => issues.push({ path, message }));
  return { defs, issues };
};

describe('checkWindows', () => {
  it('reads the Live Data Handler’s windows as written, with the document’s default slide for a sliding window without one', () => {
    const { defs, issues } = check([
      { type: 'tumbling', size: '1m', metrics: ['avg', 'max', 'min'] },
      { type: 'sliding', size: '5m', slide: '1m', metrics: ['trend'] },
      { type: 'sliding', size: '5m', metrics: ['avg', 'trend'] },
      { type: 'sliding', size: '1m', metrics: ['percentile', 'stddev'], groupBy: ['location'] },
    ].map((w, i) => (i >= 2 ? { ...w, name: `w${i}` } : w)));
    expect(issues).toEqual([]);
    expect(defs.map((d) => [d.name, d.type, d.size, d.step, d.aggregations, d.fields, d.groupBy])).toEqual([
      ['tumbling-1m', 'tumbling', '1m', undefined, ['mean', 'max', 'min'], ['temperature', 'humidity'], ['sensor_id', 'location']],
      ['sliding-5m-1m', 'sliding', '5m', '1m', ['trend'], ['temperature', 'humidity'], ['sensor_id', 'location']],
      ['w2', 'sliding', '5m', '1m', ['mean', 'trend'], ['temperature', 'humidity'], ['sensor_id', 'location']],
      ['w3', 'sliding', '1m', '30s', ['p50', 'p95', 'p99', 'stddev'], ['temperature', 'humidity'], ['location']],
    ]);
    expect(windowColumns({ type: 'session', fields: ['temperature'], aggregations: ['mean', 'trend', 'count'] })).toEqual([
      ['temperature_avg', 'number'], ['temperature_trend', 'number'], ['temperature_trend_r2', 'number'], ['temperature_count', 'integer'], ['window_end', 'integer'], ['window_points', 'integer'],
    ]);
  });

  it('reports each bad window at its path, and names a window stream within a stream id’s 64 characters', () => {
    const { defs, issues } = check([
      { type: 'tumbling', size: '1m', slide: '30s' },
      { type: 'sliding', size: '5m', slide: '2m' },
      { type: 'session', gap: '10m', metrics: ['mode'] },
      { type: 'tumbling', size: '1m', fields: ['label', 'nope'] },
      { type: 'tumbling', size: '1m' },
    ]);
    expect(defs.map((d) => d.name)).toEqual([]);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['windows.0.slide', 'windows.1.slide', 'windows.2.metrics.0', 'windows.3.fields.0', 'windows.3.fields.1', 'windows.3.name', 'windows.4.name']);
    expect(windowStreamId('a'.repeat(64), 'sliding-5m-1m')).toBe(`${'a'.repeat(50)}-sliding-5m-1m`);
    expect(windowStreamId('a'.repeat(64), 'sliding-5m-1m')).toHaveLength(64);
  });
});
