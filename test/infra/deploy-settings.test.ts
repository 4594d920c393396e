import { describe, expect, it } from 'vitest';
import type { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { TributaryFunction } from '../../infra/aws/constructs/function';
import { STATEFUL_RESOURCE_TYPES } from '../../infra/aws/constructs/removal';
import { createTributaryApp } from '../../infra/aws/tributary-app';

/** Synthesizes with CLI-style context (every value a string), through the app's own code path. */
const synthWith = (context: Record<string, string>, env?: { account: string; region: string }) => {
  const built = createTributaryApp({ appProps: { context: { 'aws:cdk:bundling-stacks': [], ...context } }, ...(env && { stackProps: { env } }) });
  return { ...built, template: Template.fromStack(built.stack) };
};
const resources = (t: Template) => Object.values(t.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string; Properties: any }>);

describe('removal policy setting', () => {
  it.each([
    ['retain', 'RetainExceptOnCreate', 'Retain'],
    ['destroy', 'Delete', 'Delete'],
  ])('%s sets every stateful resource of the template', (setting, deletion, replace) => {
    const { template } = synthWith({ 'tributary:removalPolicy': setting });
    const stateful = resources(template).filter((r) => STATEFUL_RESOURCE_TYPES.has(r.Type));
    expect(new Set(stateful.map((r) => r.Type))).toEqual(new Set(['AWS::DynamoDB::Table', 'AWS::Timestream::Database', 'AWS::Timestream::Table', 'AWS::SQS::Queue', 'AWS::KMS::Key', 'AWS::S3::Bucket', 'AWS::Logs::LogGroup', 'AWS::SecretsManager::Secret']));
    for (const r of stateful) expect([r.Type, r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual([r.Type, deletion, replace]);
  });

  it('knows every resource type the stack makes as stateful or not, so a new data-holding type cannot escape the policy', () => {
    // what these hold is definitions CloudFormation recreates as they were: nothing a user wrote to them is lost
    const STATELESS = new Set([
      'AWS::ApiGatewayV2::Api', 'AWS::ApiGatewayV2::ApiMapping', 'AWS::ApiGatewayV2::Authorizer', 'AWS::ApiGatewayV2::DomainName', 'AWS::ApiGatewayV2::Integration',
      'AWS::ApiGatewayV2::Route', 'AWS::ApiGatewayV2::RouteResponse', 'AWS::ApiGatewayV2::Stage', 'AWS::CertificateManager::Certificate', 'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::Dashboard',
      'AWS::Events::Rule', 'AWS::IAM::Policy', 'AWS::IAM::Role', 'AWS::IoT::Authorizer', 'AWS::IoT::TopicRule', 'AWS::Lambda::EventSourceMapping', 'AWS::Lambda::Function',
      'AWS::Lambda::Permission', 'AWS::Route53::RecordSet', 'AWS::S3::BucketPolicy', 'AWS::SNS::Subscription', 'AWS::SNS::Topic', 'AWS::SNS::TopicPolicy', 'AWS::SQS::QueuePolicy',
      'AWS::StepFunctions::StateMachine', 'Custom::AWS',
      // the dashboard: the distribution, its OAC and headers are configuration; the deployment copies files the
      // repository holds (the site bucket itself is an AWS::S3::Bucket, stateful), the layer is CDK's AWS CLI
      'AWS::CloudFront::Distribution', 'AWS::CloudFront::OriginAccessControl', 'AWS::CloudFront::ResponseHeadersPolicy', 'Custom::CDKBucketDeployment', 'AWS::Lambda::LayerVersion',
    ]);
    // every optional part switched on, so its resources are in the template too
    const { template } = synthWith({
      'tributary:api.domain': '{"name":"api.example.com","hostedZoneId":"Z123ABC","hostedZoneName":"example.com"}',
      'tributary:pulls.vpc': '{"vpcId":"vpc-0123456789abcdef0","subnetIds":["subnet-0123456789abcdef0"],"securityGroupIds":["sg-0123456789abcdef0"]}',
      'tributary:alarmEmail': 'ops@example.com',
      'tributary:alertEmail': 'alerts@example.com',
    });
    const unclassified = [...new Set(resources(template).map((r) => r.Type))].filter((t) => !STATEFUL_RESOURCE_TYPES.has(t) && !STATELESS.has(t));
    expect(unclassified, 'add the type to STATEFUL_RESOURCE_TYPES (it holds data) or to STATELESS here (say why)').toEqual([]);
  });

  it('leaves the Timestream database name to CloudFormation unless set', () => {
    const db = (t: Template) => resources(t).find((r) => r.Type === 'AWS::Timestream::Database')!.Properties ?? {};
    expect(db(synthWith({}).template).DatabaseName).toBeUndefined();
    expect(db(synthWith({ 'tributary:timestream.databaseName': 'Tributary' }).template).DatabaseName).toBe('Tributary');
  });
});

describe('settings from context', () => {
  it('names every bad and unknown key in one error', () => {
    expect(() => synthWith({ 'tributary:logRetentionDays': '31', 'tributary:writer.batchSise': '3', 'tributary:runtime': 'nodejs18.x' })).toThrow(
      /Invalid Tributary settings \(3\):[\s\S]*tributary:logRetentionDays[\s\S]*tributary:writer\.batchSise: unknown setting[\s\S]*tributary:runtime/,
    );
  });

  it('names the authorizer, sets runtime, reserved concurrency, CORS and a domain', () => {
    const { template } = synthWith({
      'tributary:iot.authorizerName': 'fleet-auth',
      'tributary:runtime': 'nodejs24.x',
      'tributary:writer.reservedConcurrency': '20',
      'tributary:api.corsAllowedOrigins': '["https://app.example.com"]',
      'tributary:api.domain': '{"name":"api.example.com","hostedZoneId":"Z123ABC","hostedZoneName":"example.com"}',
    });
    template.hasResourceProperties('AWS::IoT::Authorizer', { AuthorizerName: 'fleet-auth' });
    const fns = resources(template).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler' && r.Properties.Runtime?.startsWith?.('nodejs24'));
    expect(fns.length).toBeGreaterThanOrEqual(11);
    expect(resources(template).filter((r) => r.Properties?.ReservedConcurrentExecutions === 20)).toHaveLength(1);
    // the setting's origins, then the dashboard's own (its CloudFront domain)
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: { AllowOrigins: ['https://app.example.com', Match.objectLike({ 'Fn::Join': Match.anyValue() })] } });
    // a browser may send an event stream's headers (metadata, times, type), not only the token and body
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: { AllowHeaders: Match.arrayWith(['authorization', 'idempotency-key', 'x-flowcore-metadata-json', 'x-flowcore-valid-time-key', 'x-tributary-event-type']) } });
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', { DomainName: 'api.example.com' });
    template.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1);
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'api.example.com.', Type: 'A' });
  });

  it('sets memory, log retention, Timestream retention, writer batching, the DLQ redrive count and a pull VPC as the README says', () => {
    const { stack, template } = synthWith({
      'tributary:memorySize.query': '1536',
      'tributary:writer.memorySize': '2048',
      'tributary:writer.batchSize': '50',
      'tributary:logRetentionDays': '90',
      'tributary:timestream.memoryRetentionHours': '12',
      'tributary:timestream.magneticRetentionDays': '30',
      'tributary:queue.maxReceiveCount': '7',
      'tributary:pulls.vpc': '{"vpcId":"vpc-0123456789abcdef0","subnetIds":["subnet-0123456789abcdef0"],"securityGroupIds":["sg-0123456789abcdef0"]}',
    });
    const fn = (f: TributaryFunction) => template.toJSON().Resources[stack.getLogicalId(f.fn.node.defaultChild as CfnElement)] as { Properties: Record<string, any> } | undefined;
    expect(fn(stack.api.queryFunction)?.Properties.MemorySize).toBe(1536);
    expect(fn(stack.ingest.writerFunction)?.Properties.MemorySize).toBe(2048);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 50 });
    const retentions = resources(template).filter((r) => r.Type === 'AWS::Logs::LogGroup').map((r) => r.Properties.RetentionInDays);
    expect(retentions.length).toBeGreaterThan(5);
    expect(new Set(retentions)).toEqual(new Set([90]));
    template.hasResourceProperties('AWS::Timestream::Table', { RetentionProperties: { MemoryStoreRetentionPeriodInHours: '12', MagneticStoreRetentionPeriodInDays: '30' } });
    template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: { maxReceiveCount: 7 } });
    expect(fn(stack.pulls.pullFunction)?.Properties.VpcConfig).toEqual({ SubnetIds: ['subnet-0123456789abcdef0'], SecurityGroupIds: ['sg-0123456789abcdef0'] });
  });

  it('reads the tributary object of cdk.json as it reads -c keys, the -c key winning', () => {
    const built = createTributaryApp({ appProps: { context: { 'aws:cdk:bundling-stacks': [], tributary: { logRetentionDays: 14, iot: { authorizerName: 'from-json' } }, 'tributary:iot.authorizerName': 'from-cli' } } });
    const template = Template.fromStack(built.stack);
    template.hasResourceProperties('AWS::IoT::Authorizer', { AuthorizerName: 'from-cli' });
    expect(new Set(resources(template).filter((r) => r.Type === 'AWS::Logs::LogGroup').map((r) => r.Properties.RetentionInDays))).toEqual(new Set([14]));
  });

  it('has no reserved concurrency, domain or CORS origin but the dashboard’s by default, and a stable authorizer name', () => {
    const { template } = synthWith({});
    template.hasResourceProperties('AWS::IoT::Authorizer', { AuthorizerName: 'Tributary-devices' });
    expect(resources(template).filter((r) => r.Properties?.ReservedConcurrentExecutions !== undefined)).toEqual([]);
    template.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
    const origins = resources(template).find((r) => r.Type === 'AWS::ApiGatewayV2::Api' && r.Properties.ProtocolType === 'HTTP')!.Properties.CorsConfiguration.AllowOrigins;
    expect(origins).toHaveLength(1);
    expect(JSON.stringify(origins)).toMatch(/^\[\{"Fn::Join":\["",\["https:\/\/",\{"Fn::GetAtt":\["SiteDistribution[0-9A-F]+","DomainName"\]\}\]\]\}\]$/);
  });
});

describe('partitions', () => {
  it.each(['cn-north-1', 'us-gov-west-1'])('synthesizes %s with no arn:aws: literal', (region) => {
    const { template } = synthWith({}, { account: '123456789012', region });
    expect(JSON.stringify(template.toJSON())).not.toContain('arn:aws:');
  });
});

describe('observability settings', () => {
  const tributaryFunctions = (t: Template) => resources(t).filter((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('Tributary '));

  it("writes every function's logs in Lambda's JSON format at the logLevel setting (INFO by default), with X-Ray active", () => {
    for (const [context, level] of [[{}, 'INFO'], [{ 'tributary:logLevel': 'DEBUG' }, 'DEBUG'], [{ 'tributary:logLevel': 'ERROR' }, 'ERROR']] as const) {
      const fns = tributaryFunctions(synthWith(context).template);
      expect(fns.length).toBeGreaterThanOrEqual(11);
      for (const fn of fns) {
        expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: level, SystemLogLevel: 'INFO' });
        expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      }
    }
  });

  it('passes adminTokenCacheSeconds to the authorizer, and refuses a bad level or cache time by name', () => {
    const authorizer = (t: Template) => tributaryFunctions(t).find((fn) => fn.Properties.Environment?.Variables?.ADMIN_TOKEN_SECRET_ARN !== undefined)!;
    expect(authorizer(synthWith({}).template).Properties.Environment.Variables.ADMIN_TOKEN_CACHE_SECONDS).toBe('60');
    expect(authorizer(synthWith({ 'tributary:api.adminTokenCacheSeconds': '5' }).template).Properties.Environment.Variables.ADMIN_TOKEN_CACHE_SECONDS).toBe('5');
    expect(() => synthWith({ 'tributary:logLevel': 'VERBOSE', 'tributary:api.adminTokenCacheSeconds': '-1' })).toThrow(/tributary:logLevel[\s\S]*tributary:api\.adminTokenCacheSeconds|tributary:api\.adminTokenCacheSeconds[\s\S]*tributary:logLevel/);
  });
});
