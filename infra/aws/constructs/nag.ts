import { type App, type Stack, Token, Validations } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** The cdk-nag packs the app is checked by; any finding nobody acknowledged fails `cdk synth`. */
export interface NagPacks {
  readonly awsSolutions: AwsSolutionsChecks;
  readonly serverless: ServerlessChecks;
}

/**
 * Adds cdk-nag's AwsSolutions and Serverless packs to the app as policy-validation plugins (cdk-nag 3 runs
 * when the app synthesizes, not as an Aspect).
 *
 * @example
 * const packs = addNagPacks(app);
 * packs.serverless.validateScope(app).violations; // []
 */
export function addNagPacks(app: App): NagPacks {
  const packs = { awsSolutions: new AwsSolutionsChecks(app), serverless: new ServerlessChecks(app) };
  Validations.of(app).addPlugins(packs.awsSolutions, packs.serverless);
  return packs;
}

/**
 * How cdk-nag spells the stack's region and account in a finding id: the pseudo-parameter when the
 * environment is unresolved (`<AWS::Region>`), the value when the stack has a concrete `env`.
 *
 * @example
 * `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iot:${nagEnv(stack).region}:${nagEnv(stack).account}:topic/*]`
 */
export function nagEnv(stack: Stack): { region: string; account: string } {
  return {
    region: Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region,
    account: Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account,
  };
}

/**
 * Acknowledges cdk-nag findings on one construct, each with the reason it is accepted (required: an
 * acknowledgement without a reason is a finding hidden, not justified).
 *
 * @example
 * acknowledge(queue, { 'Serverless-SQSRedrivePolicy': 'This is the dead-letter queue: its messages have nowhere further to go.' });
 */
/**
 * Subscribes an email address to a topic. An email subscription has no redrive policy on purpose: SNS retries
 * email delivery itself, what fails is a page or an alert email whose state stays visible (the CloudWatch
 * alarm, the alert in the alerts API), and a dead-letter queue of emails nobody reads would hide nothing less.
 *
 * @example
 * subscribeEmail(alarmTopic, 'ops@example.com');
 */
export function subscribeEmail(topic: sns.ITopic, address: string): void {
  const subscription = topic.addSubscription(new EmailSubscription(address));
  acknowledge(subscription, {
    'Serverless::Serverless-SNSRedrivePolicy':
      'an email subscription: SNS retries delivery itself, and the alarm or alert it carries stays visible in CloudWatch and the alerts API; a DLQ of unread emails adds nothing',
  });
}

export function acknowledge(construct: IConstruct, findings: Readonly<Record<string, string>>): void {
  for (const [id, reason] of Object.entries(findings)) {
    if (reason.trim().length < 20) throw new Error(`cdk-nag acknowledgement ${id} needs a reason`);
    Validations.of(construct).acknowledge({ id, reason });
  }
}
