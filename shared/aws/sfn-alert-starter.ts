import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { StoreUnavailableError } from '../domain/errors';
import type { AlertExecutionInput, AlertStarter } from '../ports';

/**
 * What `SfnAlertStarter` is built from: a ready client and the alert state machine's ARN.
 *
 * @example
 * const options: SfnAlertStarterOptions = { client: new SFNClient({}), stateMachineArn: config.ALERT_STATE_MACHINE_ARN };
 */
export interface SfnAlertStarterOptions {
  client: SFNClient;
  stateMachineArn: string;
}

/**
 * `AlertStarter` on Step Functions: one `StartExecution` per fired alert, named after the alert, so a
 * writer that retries its batch cannot run an alert's actions twice (`ExecutionAlreadyExists` is success).
 * Any other failure becomes a `StoreUnavailableError` with the SDK error as `cause`.
 *
 * @example
 * const starter = new SfnAlertStarter({ client: new SFNClient({}), stateMachineArn });
 * await starter.start({ alert, actions: [{ index: 0, action }] });
 */
export class SfnAlertStarter implements AlertStarter {
  constructor(private readonly options: SfnAlertStarterOptions) {
    if (!options.client) throw new TypeError('SfnAlertStarter needs a Step Functions client.');
    if (!/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]{1,80}$/.test(options.stateMachineArn ?? '')) {
      throw new TypeError(`SfnAlertStarter needs a state machine ARN, got ${JSON.stringify(options.stateMachineArn)}.`);
    }
  }

  async start(input: AlertExecutionInput): Promise<void> {
    try {
      await this.options.client.send(
        new StartExecutionCommand({ stateMachineArn: this.options.stateMachineArn, name: executionName(input.alert.id), input: JSON.stringify(input) }),
      );
    } catch (err) {
      if (err instanceof ExecutionAlreadyExists) return;
      throw new StoreUnavailableError(`Step Functions StartExecution failed: ${(err as Error).name}.`, { cause: err });
    }
  }
}

/**
 * An execution name from an alert id: at most 80 of `A-Z a-z 0-9 - _`, the id's time-ordered suffix kept whole.
 *
 * @example
 * executionName('freezers.0mh5k2x1a3f9zq00'); // 'freezers_0mh5k2x1a3f9zq00'
 */
export function executionName(alertId: string): string {
  const dot = alertId.lastIndexOf('.');
  const suffix = alertId.slice(dot + 1);
  return `${alertId.slice(0, dot).slice(0, 79 - suffix.length)}_${suffix}`.replace(/[^A-Za-z0-9_-]/g, '-');
}
