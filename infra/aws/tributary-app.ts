import { App, type AppProps } from 'aws-cdk-lib';
import { addNagPacks, type NagPacks } from './constructs/nag';
import { TributaryStack, type TributaryStackProps } from './tributary-stack';

export interface TributaryAppOptions {
  /** The app's props; `context` is where tests put what `cdk synth -c tributary:<key>=<value>` passes. */
  readonly appProps?: AppProps;
  /** The stack's id, which is also its CloudFormation name. */
  readonly stackId?: string;
  readonly stackProps?: TributaryStackProps;
}

/**
 * Builds the CDK app: one `TributaryStack`, its settings from the CDK context (`cdk.json`'s `tributary`
 * object and `-c tributary:<key>=<value>`), checked by cdk-nag's AwsSolutions and Serverless packs.
 *
 * cdk-nag 3 is a CDK policy-validation plugin, not an Aspect: it runs when the app synthesizes and any
 * unacknowledged finding fails `cdk synth`. Findings are acknowledged beside their resource with
 * `acknowledge(construct, { id: reason })` (`constructs/nag.ts`).
 *
 * @example
 * const { app, stack } = createTributaryApp({ appProps: { context: { 'tributary:logRetentionDays': '90' } } });
 * app.synth();
 */
export function createTributaryApp(options: TributaryAppOptions = {}): { app: App; stack: TributaryStack; nag: NagPacks['awsSolutions']; packs: NagPacks } {
  const app = new App(options.appProps);
  const stack = new TributaryStack(app, options.stackId ?? 'Tributary', {
    description: 'Tributary: serverless data streams (ingest over HTTPS and MQTT, Timestream storage, queries)',
    ...options.stackProps,
  });
  const packs = addNagPacks(app);
  return { app, stack, nag: packs.awsSolutions, packs };
}
