import './promise-with-resolvers';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { AlertExecutionInput, AlertStarter } from '../ports';

/** A task state's local code: what the Lambda behind its `Resource` would do. */
export type LocalTaskHandler = (input: never) => Promise<unknown>;

export interface LocalStepFunctionsOptions {
  /** The ASL, placeholders substituted (the CDK app deploys the same file). */
  definition: Record<string, unknown>;
  /** By task state name: the code each task runs instead of calling its `Resource`. */
  tasks: Record<string, LocalTaskHandler>;
  /**
   * Milliseconds between retries, by task state name, instead of the ASL's `IntervalSeconds` and
   * `BackoffRate` (tests pass a few ms); the ASL's timing when absent.
   */
  retryIntervalMs?: Record<string, number>;
  /** Called with an execution that failed as a whole (each action's failure is caught in the ASL). */
  onExecutionError?: (error: unknown, input: AlertExecutionInput) => void;
  /**
   * Validate the ASL on construction (default true). The runtime passes `false` for the ASL bundled with it,
   * which test/contract/local-step-functions.test.ts validates: validating costs more than half a second of
   * every start.
   */
  validate?: boolean;
}

/**
 * The alert state machine on one machine: the same ASL run by aws-local-stepfunctions, its task states
 * mapped to the same task code as the Lambda. `start` returns once the execution is under way, like
 * `StartExecution`; `idle` waits for every running one.
 *
 * @example
 * const starter = new LocalStepFunctions({ definition, tasks: { RunAction: tasks.runAction, RecordOutcomes: tasks.recordOutcomes } });
 * await starter.start({ alert, actions });
 */
export class LocalStepFunctions implements AlertStarter {
  private readonly machine: StateMachine;
  private readonly running = new Set<{ done: Promise<unknown>; abort: () => void }>();
  private closed = false;

  constructor(private readonly options: LocalStepFunctionsOptions) {
    // validated on construction (ARNs and JSONPaths included) unless told otherwise
    this.machine = new StateMachine(options.definition as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: options.validate === false },
    });
  }

  async start(input: AlertExecutionInput): Promise<void> {
    if (this.closed) throw new Error('The local state machine is closed.');
    const taskResourceLocalHandlers = Object.fromEntries(
      Object.entries(this.options.tasks).map(([name, fn]) => [name, async (value: unknown) => (await fn(value as never)) as never]),
    );
    const execution = this.machine.run(input as never, {
      overrides: { taskResourceLocalHandlers, ...(this.options.retryIntervalMs && { retryIntervalOverrides: this.options.retryIntervalMs }) },
      noThrowOnAbort: true,
    });
    const entry = {
      abort: execution.abort,
      done: execution.result.catch((err: unknown) => this.options.onExecutionError?.(err, input)).finally(() => this.running.delete(entry)),
    };
    this.running.add(entry);
  }

  /** Resolves once no execution is running. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running].map((r) => r.done));
  }

  /** Aborts the running executions; later starts throw. */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.running) r.abort();
    await this.idle();
  }
}
