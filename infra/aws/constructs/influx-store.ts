import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as timestream from 'aws-cdk-lib/aws-timestream';
import { Construct } from 'constructs';
import type { FunctionNetwork } from './function';
import { acknowledge } from './nag';
import { pagingAlarm } from './observability';

/** The InfluxDB HTTP API's port, the only one the functions may reach. */
export const INFLUX_PORT = 8086;

/** The organization and bucket the instance is created with; the functions write to the bucket through its v1 database name. */
export const INFLUX_ORGANIZATION = 'tributary';
export const INFLUX_BUCKET = 'tributary';

/** The interface endpoints the functions in the VPC reach AWS through (no NAT): every service their SDK clients call. */
export const INFLUX_INTERFACE_ENDPOINTS = {
  Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Sts: ec2.InterfaceVpcEndpointAwsService.STS,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  StepFunctions: ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
  Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
  XRay: ec2.InterfaceVpcEndpointAwsService.XRAY,
} as const;

export interface InfluxStoreProps {
  /** `db.influx.medium` (the smallest) and up. */
  readonly instanceType: string;
  /** GiB, 20 to 16 384. */
  readonly allocatedStorageGiB: number;
  readonly storageType: 'InfluxIOIncludedT1' | 'InfluxIOIncludedT2' | 'InfluxIOIncludedT3';
  readonly deploymentType: 'SINGLE_AZ' | 'WITH_MULTIAZ_STANDBY';
  /** A DB parameter group made beforehand (`aws timestream-influxdb create-db-parameter-group`); CloudFormation has no resource for one. */
  readonly parameterGroupIdentifier?: string | undefined;
  /** Alarm thresholds, in percent. */
  readonly cpuAlarmPercent: number;
  readonly diskAlarmPercent: number;
}

/**
 * Timestream for InfluxDB as the point store: an `AWS::Timestream::InfluxDBInstance` in a VPC of its own with
 * private isolated subnets only (no internet gateway, no NAT), reached by the functions that read or write
 * points through a security group the database admits on its port alone; the AWS services those
 * functions call are reached through VPC endpoints (interface endpoints, and gateway endpoints for DynamoDB and
 * S3). The admin credentials are generated into a Secrets Manager secret (`{engine, username, password}`, the
 * shape Timestream for InfluxDB documents) that the functions read. Alarms page on the instance's CPU and disk.
 *
 * @example
 * const influx = new InfluxStore(this, 'Influx', { instanceType: 'db.influx.medium', allocatedStorageGiB: 20, storageType: 'InfluxIOIncludedT1', deploymentType: 'SINGLE_AZ', cpuAlarmPercent: 80, diskAlarmPercent: 80 });
 * influx.addAlarms(new SnsAction(alarmTopic));
 * influx.grantRead(queryFunction.role);
 */
export class InfluxStore extends Construct {
  readonly vpc: ec2.Vpc;
  readonly instance: timestream.CfnInfluxDBInstance;
  readonly secret: secretsmanager.Secret;
  /** The functions' security group: out to the database port and the endpoints' HTTPS only. */
  readonly functionsSecurityGroup: ec2.SecurityGroup;
  readonly databaseSecurityGroup: ec2.SecurityGroup;
  readonly endpointsSecurityGroup: ec2.SecurityGroup;
  readonly alarms: cloudwatch.Alarm[] = [];
  private readonly alarmThresholds: { cpu: number; disk: number };
  /** `https://<endpoint>:8086`, as the functions receive it in `INFLUX_URL`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: InfluxStoreProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      flowLogs: { rejected: { trafficType: ec2.FlowLogTrafficType.REJECT, destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH })) } },
    });

    this.functionsSecurityGroup = new ec2.SecurityGroup(this, 'FunctionsSecurityGroup', {
      vpc: this.vpc,
      description: 'Tributary functions that read or write points: out to InfluxDB (8086) and to AWS APIs (443, routed only to the VPC endpoints)',
      allowAllOutbound: false,
    });
    this.databaseSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc: this.vpc,
      description: 'Tributary InfluxDB: in from the functions on 8086 only',
      allowAllOutbound: false,
    });
    this.endpointsSecurityGroup = new ec2.SecurityGroup(this, 'EndpointsSecurityGroup', {
      vpc: this.vpc,
      description: 'Tributary VPC interface endpoints: in from the functions on 443 only',
      allowAllOutbound: false,
    });
    this.databaseSecurityGroup.addIngressRule(this.functionsSecurityGroup, ec2.Port.tcp(INFLUX_PORT), 'the functions reach the InfluxDB HTTP API');
    this.functionsSecurityGroup.addEgressRule(this.databaseSecurityGroup, ec2.Port.tcp(INFLUX_PORT), 'to the InfluxDB HTTP API');
    this.endpointsSecurityGroup.addIngressRule(this.functionsSecurityGroup, ec2.Port.tcp(443), 'the functions call AWS through the interface endpoints');
    // HTTPS out goes nowhere but to the endpoints: the subnets have no internet gateway and no NAT, only the
    // interface endpoints' addresses and the DynamoDB and S3 gateway endpoints' routes (whose prefix lists CDK
    // can only look up with a concrete account and region)
    this.functionsSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs, which the isolated subnets route only to the VPC endpoints');

    const subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    for (const [name, service] of Object.entries(INFLUX_INTERFACE_ENDPOINTS)) {
      this.vpc.addInterfaceEndpoint(`${name}Endpoint`, { service, subnets, securityGroups: [this.endpointsSecurityGroup], open: false, privateDnsEnabled: true });
    }
    this.vpc.addGatewayEndpoint('DynamoDbEndpoint', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [subnets] });
    this.vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [subnets] });

    this.secret = new secretsmanager.Secret(this, 'Credentials', {
      description: 'Tributary InfluxDB admin user (Timestream for InfluxDB user secret: engine, username, password), read by the functions that read or write points',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ engine: 'timestream-influxdb', username: 'tributary' }),
        generateStringKey: 'password',
        passwordLength: 40,
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    acknowledge(this.secret, {
      'AwsSolutions-SMG4':
        'Timestream for InfluxDB rotates users only through its multi-user rotation function (a Serverless Application Repository app that must run in this VPC ' +
        'with the admin secret), which CloudFormation cannot declare for an instance it is creating; the README says how to rotate by hand and to attach that function.',
    });

    this.instance = new timestream.CfnInfluxDBInstance(this, 'Instance', {
      dbInstanceType: props.instanceType,
      allocatedStorage: props.allocatedStorageGiB,
      dbStorageType: props.storageType,
      deploymentType: props.deploymentType,
      ...(props.parameterGroupIdentifier !== undefined && { dbParameterGroupIdentifier: props.parameterGroupIdentifier }),
      username: 'tributary',
      password: this.secret.secretValueFromJson('password').unsafeUnwrap(),
      organization: INFLUX_ORGANIZATION,
      bucket: INFLUX_BUCKET,
      publiclyAccessible: false,
      port: INFLUX_PORT,
      vpcSubnetIds: this.vpc.selectSubnets(subnets).subnetIds,
      vpcSecurityGroupIds: [this.databaseSecurityGroup.securityGroupId],
    });
    this.url = `https://${this.instance.attrEndpoint}:${INFLUX_PORT}`;

    this.alarmThresholds = { cpu: props.cpuAlarmPercent, disk: props.diskAlarmPercent };
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-TS3',
      reason: 'Encrypted at rest with the AWS managed key; who reaches it is decided by its security group (the functions group only, on 8086) and its admin secret.',
    });
  }

  /** Pages on the instance's CPU and disk (`AWS/Timestream/InfluxDB`, by `DbInstanceName`) through `action`. */
  addAlarms(action: cloudwatch.IAlarmAction): void {
    const metric = (metricName: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/Timestream/InfluxDB', metricName, dimensionsMap: { DbInstanceName: this.instance.ref }, period: Duration.minutes(5), statistic: cloudwatch.Stats.AVERAGE });
    const above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    const { cpu, disk } = this.alarmThresholds;
    this.alarms.push(
      pagingAlarm(this, 'CpuAlarm', { metric: metric('CPUUtilization'), threshold: cpu, comparison: above, action, description: `InfluxDB CPU above ${cpu}% over 5 minutes: queries and writes slow down; a larger influxdb.instanceType helps.` }),
      pagingAlarm(this, 'DiskAlarm', { metric: metric('DiskUtilization'), threshold: disk, comparison: above, action, description: `InfluxDB disk above ${disk}% used: raise influxdb.allocatedStorageGiB or delete old points before writes fail.` }),
    );
  }

  /** Where the functions that read or write points run. */
  get network(): FunctionNetwork {
    return { vpc: this.vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, securityGroups: [this.functionsSecurityGroup] };
  }

  /** The variables `pointStoreOf` reads (`POINT_STORE=influxdb`). */
  get environment(): Record<string, string> {
    return { POINT_STORE: 'influxdb', INFLUX_URL: this.url, INFLUX_DATABASE: INFLUX_BUCKET, INFLUX_SECRET_ARN: this.secret.secretArn };
  }

  /** Lets a function read the credentials (`secretsmanager:GetSecretValue` and `DescribeSecret` on this secret). */
  grantRead(grantee: iam.IGrantable): void {
    this.secret.grantRead(grantee);
  }
}
