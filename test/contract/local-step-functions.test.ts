import { describe, expect, it } from 'vitest';
import { loadAlertActionsDefinition } from '../../functions/alert-actions/definition';
import type { Alert } from '../../shared/domain/alert-evaluation';
import { LocalStepFunctions } from '../../shared/local/local-step-functions';

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:tributary-alert-actions';
const definition = loadAlertActionsDefinition({ RunActionFunctionArn: ARN, RecordOutcomesFunctionArn: ARN });
const alert = { id: 'freezers.0000000010000000001', streamId: 'freezers' } as Alert;

class PermanentError extends Error {
  override readonly name = 'ActionPermanentError';
}

describe('the alert ASL on aws-local-stepfunctions', () => {
  it('validates the bundled ASL (the runtime skips it at start) and refuses a broken one', () => {
    const tasks = { RunAction: async () => ({}), RecordOutcomes: async () => ({}) };
    expect(() => new LocalStepFunctions({ definition, tasks })).not.toThrow();
    const broken = { ...definition, StartAt: 'Nowhere' };
    expect(() => new LocalStepFunctions({ definition: broken, tasks })).toThrow();
    expect(() => new LocalStepFunctions({ definition: broken, tasks, validate: false })).not.toThrow();
  });

  it('retries a failing action, catches one that keeps failing, and hands every outcome to RecordOutcomes', async () => {
    const calls = new Map<number, number>();
    const recorded: unknown[] = [];
    const sfn = new LocalStepFunctions({
      definition,
      retryIntervalMs: { RunAction: 1, RecordOutcomes: 1 },
      tasks: {
        RunAction: async (input: { index: number; task: string }) => {
          expect(input.task).toBe('run-action');
          const n = (calls.get(input.index) ?? 0) + 1;
          calls.set(input.index, n);
          if (input.index === 0 && n < 3) throw new Error(`HTTP 500 (attempt ${n})`);
          if (input.index === 1) throw new Error('always down');
          if (input.index === 2) throw new PermanentError('HTTP 404');
          return { index: input.index, status: 'succeeded' };
        },
        RecordOutcomes: async (input: unknown) => {
          recorded.push(input);
          return {};
        },
      },
    });
    await sfn.start({
      alert,
      actions: [0, 1, 2].map((index) => ({ index, action: { type: 'webhook', url: `http://127.0.0.1/${index}` } })),
    });
    await sfn.idle();
    expect(Object.fromEntries(calls)).toEqual({ 0: 3, 1: 3, 2: 1 });
    expect(recorded).toHaveLength(1);
    const { alertId, results, task } = recorded[0] as { alertId: string; task: string; results: { index: number; status: string; error?: { Error: string; Cause: string } }[] };
    expect({ alertId, task }).toEqual({ alertId: alert.id, task: 'record-outcomes' });
    expect(results.map((r) => [r.index, r.status, r.error?.Error])).toEqual([
      [0, 'succeeded', undefined],
      [1, 'failed', 'Error'],
      [2, 'failed', 'ActionPermanentError'],
    ]);
    expect(JSON.stringify(results[1]!.error)).toContain('always down');
  });
});
