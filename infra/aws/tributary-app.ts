import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TributaryStack, type TributaryStackProps } from './tributary-stack';

export interface TributaryAppOptions {
  readonly appProps?: AppProps;
  /** The stack's id, which is also its CloudFormation name. */
  readonly stackId?: string;
  readonly stackProps?: TributaryStackProps;
}

/**
 * Builds the CDK app: one `TributaryStack`, checked by cdk-nag's AwsSolutions pack.
 *
 * cdk-nag 3 is a CDK policy-validation plugin, not an Aspect: it runs when the app synthesizes and any
 * unacknowledged finding fails `cdk synth`. Findings are acknowledged beside their resource with
 * `Validations.of(construct).acknowledge(...)`.
 *
 * @example
 * const { app, stack } = createTributaryApp({ stackProps: { config: { logRetentionDays: 90 } } });
 * app.synth();
 */
export function createTributaryApp(options: TributaryAppOptions = {}): { app: App; stack: TributaryStack; nag: AwsSolutionsChecks } {
  const app = new App(options.appProps);
  const stack = new TributaryStack(app, options.stackId ?? 'Tributary', {
    description: 'Tributary: serverless data streams (ingest over HTTPS and MQTT, Timestream storage, queries)',
    ...options.stackProps,
  });
  const nag = new AwsSolutionsChecks(app);
  Validations.of(app).addPlugins(nag);
  return { app, stack, nag };
}
