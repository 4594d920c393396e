import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The alert state machine's ASL, one file for both worlds: the CDK app loads it with
 * `DefinitionBody.fromString(readAlertActionsAsl())` and `definitionSubstitutions`, the local runtime with
 * `loadAlertActionsDefinition` and runs it in aws-local-stepfunctions.
 *
 * @example
 * new sfn.StateMachine(this, 'AlertActions', {
 *   definitionBody: sfn.DefinitionBody.fromString(readAlertActionsAsl()),
 *   definitionSubstitutions: { RunActionFunctionArn: fn.functionArn, RecordOutcomesFunctionArn: fn.functionArn },
 * });
 */
export const ALERT_ACTIONS_ASL_PATH = fileURLToPath(new URL('./alert-actions.asl.json', import.meta.url));

/**
 * The ASL file's text, placeholders left in: the CDK app inlines it (`DefinitionBody.fromString`, so the
 * template shows the definition) and lets CloudFormation substitute them.
 *
 * @example
 * sfn.DefinitionBody.fromString(readAlertActionsAsl());
 */
export function readAlertActionsAsl(): string {
  return readFileSync(ALERT_ACTIONS_ASL_PATH, 'utf8');
}

/** The `${…}` placeholders of the ASL file. */
export type AlertActionsSubstitutions = Record<'RunActionFunctionArn' | 'RecordOutcomesFunctionArn', string>;

/** The two task states, by name (aws-local-stepfunctions overrides tasks by state name). */
export const ALERT_TASK_STATES = { runAction: 'RunAction', recordOutcomes: 'RecordOutcomes' } as const;

/**
 * The ASL with its placeholders substituted, parsed. Throws if a placeholder is left.
 *
 * @example
 * const definition = loadAlertActionsDefinition({ RunActionFunctionArn: arn, RecordOutcomesFunctionArn: arn });
 */
export function loadAlertActionsDefinition(substitutions: AlertActionsSubstitutions): Record<string, unknown> {
  const text = readAlertActionsAsl().replace(/\$\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(substitutions, name) ? substitutions[name as keyof AlertActionsSubstitutions] : whole,
  );
  const left = /\$\{\w+\}/.exec(text);
  if (left) throw new TypeError(`The alert ASL still has a placeholder: ${left[0]}.`);
  return JSON.parse(text) as Record<string, unknown>;
}
