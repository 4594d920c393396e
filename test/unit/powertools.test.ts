import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { powertools } from '../../functions/commons/powertools';

const context = {
  functionName: 'tributary-writer-fn',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:tributary-writer-fn',
  memoryLimitInMB: '512',
  awsRequestId: 'req-1234',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

let lines: string[] = [];

beforeEach(() => {
  lines = [];
  const capture = (chunk: unknown) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterEach(() => vi.restoreAllMocks());

const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
const emf = () => parsed().filter((l) => l._aws !== undefined);

describe('powertools()', () => {
  it('logs JSON lines with level, service, request id and cold start, never a token', async () => {
    const { log, observe } = powertools('writer');
    const handler = observe(async () => {
      log.info('batch written', { streamId: 's1', token: 'trb_leakleakleak', reason: 'with trb_leakleakleak inside' });
      return 'ok';
    });
    await handler({}, context);
    const line = parsed().find((l) => l.message === 'batch written');
    expect(line).toMatchObject({ level: 'INFO', service: 'tributary-writer', function_request_id: 'req-1234', cold_start: expect.any(Boolean), streamId: 's1' });
    expect(lines.join('\n')).not.toContain('leakleakleak');
  });

  it('publishes counts per stream as EMF in the Tributary namespace when the invocation ends', async () => {
    const { meter, observe } = powertools('ingest');
    const handler = observe(async () => {
      meter.count('AcceptedRecords', 3, 'temps');
      meter.count('AcceptedRecords', 2, 'temps');
      meter.count('RefusedRecords', 1, 'other');
      meter.milliseconds('IngestLatency', 42, 'temps');
      return 'ok';
    });
    await handler({}, context);
    const temps = emf().find((l) => l.streamId === 'temps');
    expect(temps).toMatchObject({ AcceptedRecords: 5, IngestLatency: 42, service: 'tributary-ingest' });
    const directive = (temps?._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] }).CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe('Tributary');
    expect(directive?.Dimensions[0]).toEqual(expect.arrayContaining(['service', 'streamId']));
    expect(emf().find((l) => l.streamId === 'other')).toMatchObject({ RefusedRecords: 1 });
  });

  it('publishes no record metric when nothing was counted, and flushes when the handler throws', async () => {
    const { meter, observe } = powertools('pull');
    await observe(async () => 'quiet')({}, context);
    expect(emf().filter((l) => l.streamId !== undefined || l.PullRuns !== undefined)).toEqual([]);
    const failing = observe(async () => {
      meter.count('PullFailures', 1, 's9');
      throw new Error('source down');
    });
    await expect(failing({}, context)).rejects.toThrow('source down');
    expect(emf().find((l) => l.streamId === 's9')).toMatchObject({ PullFailures: 1 });
  });
});
