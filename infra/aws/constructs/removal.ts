import { Aspects, CfnResource, type IAspect, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The CloudFormation types that hold data or state a deletion would lose: each gets the stack's removal
 * policy. The infra tests classify every type the template contains as stateful (this list) or not, so a new
 * kind of resource cannot slip past.
 */
export const STATEFUL_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::Timestream::Database',
  'AWS::Timestream::Table',
  'AWS::Timestream::InfluxDBInstance',
  'AWS::SQS::Queue',
  'AWS::KMS::Key',
  'AWS::S3::Bucket',
  'AWS::Logs::LogGroup',
  'AWS::SecretsManager::Secret',
]);

/** The `removalPolicy` setting's values. */
export type RemovalSetting = 'retain' | 'destroy';

/**
 * `retain` is `RETAIN_ON_UPDATE_OR_DELETE` (CloudFormation's `RetainExceptOnCreate`): kept on stack deletion
 * and on replacement, but deleted when the stack's first create fails and rolls back, so a failed first deploy
 * leaves no tables, buckets or keys behind to collide with the next attempt.
 */
export const REMOVAL_POLICIES: Readonly<Record<RemovalSetting, RemovalPolicy>> = {
  retain: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
  destroy: RemovalPolicy.DESTROY,
};

class StatefulRemovalPolicy implements IAspect {
  constructor(private readonly policy: RemovalPolicy) {}

  visit(node: IConstruct): void {
    if (CfnResource.isCfnResource(node) && STATEFUL_RESOURCE_TYPES.has(node.cfnResourceType)) node.applyRemovalPolicy(this.policy);
  }
}

/**
 * Applies the removal setting to every stateful resource of the stack, those of library constructs included
 * (an Aspect, so it also reaches resources added after this call).
 *
 * @example
 * applyRemovalSetting(this, config.removalPolicy);
 */
export function applyRemovalSetting(stack: Stack, setting: RemovalSetting): void {
  Aspects.of(stack).add(new StatefulRemovalPolicy(REMOVAL_POLICIES[setting]));
}
