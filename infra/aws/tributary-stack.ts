import { CfnOutput, Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { type FunctionNetwork, setFunctionDefaults } from './constructs/function';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { parseTributaryConfig, type TributaryConfigInput, type TributaryConfigValues } from './config';
import { alertActionSettings, Alerts } from './constructs/alerts';
import { Api } from './constructs/api';
import { Ingest } from './constructs/ingest';
import { IotIngest } from './constructs/iot';
import { Live } from './constructs/live';
import { OperationsDashboard } from './constructs/dashboard';
import { Observability } from './constructs/observability';
import { Pulls } from './constructs/pulls';
import { DashboardSite } from './constructs/site';
import { applyRemovalSetting } from './constructs/removal';
import { Storage } from './constructs/storage';
import { InfluxStore } from './constructs/influx-store';
import type { PointStoreTarget } from './constructs/point-store-access';
import { settingsFromContext } from './context';

export interface TributaryStackProps extends StackProps {
  /**
   * Tributary's own settings, under the CDK context's (`cdk.json`'s `tributary` object, then `-c tributary:<key>=<value>`);
   * validated at synth (see `config.ts`), every field has a default.
   */
  readonly config?: TributaryConfigInput;
  /**
   * Puts the pull function in a VPC (to reach a private database); built in the stack, e.g. with `Vpc.fromLookup`.
   * The `pulls.vpc` setting does the same from ids, without code.
   */
  readonly pullNetwork?: (stack: Stack) => FunctionNetwork;
}

/**
 * Tributary in one stack: storage (DynamoDB, Timestream), the buffered ingest path (SQS, ingest and writer
 * functions), the HTTP API with its authorizer, MQTT ingest through IoT Core, and alarms.
 *
 * @example
 * const app = new App();
 * new TributaryStack(app, 'Tributary', { config: { writer: { batchSize: 50 }, alarmEmail: 'ops@example.com' } });
 */
export class TributaryStack extends Stack {
  readonly config: Readonly<TributaryConfigValues>;
  readonly storage: Storage;
  readonly ingest: Ingest;
  readonly api: Api;
  readonly iot: IotIngest;
  readonly observability: Observability;
  readonly dashboard: OperationsDashboard;
  readonly alerts: Alerts;
  readonly pulls: Pulls;
  readonly live: Live;
  /** The web dashboard: S3 behind CloudFront (Origin Access Control), configured with this stack's API. */
  readonly site: DashboardSite;
  readonly adminTokenSecret: secretsmanager.Secret;
  /** Timestream for InfluxDB and its VPC, with `store: influxdb`. */
  readonly influx?: InfluxStore;

  constructor(scope: Construct, id: string, props: TributaryStackProps = {}) {
    super(scope, id, props);
    const config = parseTributaryConfig(settingsFromContext(this.node, props.config as Record<string, unknown> | undefined));
    this.config = config;
    const logRetention = config.logRetentionDays;
    setFunctionDefaults(this, { runtime: config.runtime, memorySize: config.memorySize, logLevel: config.logLevel });
    applyRemovalSetting(this, config.removalPolicy);

    this.storage = new Storage(this, 'Storage', {
      ...(config.timestream.databaseName !== undefined && { timestreamDatabaseName: config.timestream.databaseName }),
      memoryRetentionHours: config.timestream.memoryRetentionHours,
      magneticRetentionDays: config.timestream.magneticRetentionDays,
      rejectedReportExpirationDays: config.timestream.rejectedReportExpirationDays,
      liveAnalytics: config.store !== 'influxdb',
    });
    if (config.store === 'influxdb') this.influx = new InfluxStore(this, 'Influx', config.influxdb);
    const pointStore: PointStoreTarget = this.influx
      ? { kind: 'influxdb', influx: this.influx }
      : { kind: 'liveanalytics', timestream: { databaseName: this.storage.timestream!.databaseName, tableName: this.storage.timestream!.tableName, tableArn: this.storage.timestream!.tableArn } };

    this.adminTokenSecret = new secretsmanager.Secret(this, 'AdminToken', {
      description: 'Tributary admin bearer token (scope admin). Read it with: aws secretsmanager get-secret-value --secret-id <name>',
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(this.adminTokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A bearer token handed to an operator, not a credential of another service: nothing could rotate it on the client side. ' +
        'It is replaced by updating the secret; the authorizer reads it at cold start and only keeps its SHA-256 hash.',
    });

    this.ingest = new Ingest(this, 'Ingest', {
      table: this.storage.table,
      eventsTable: this.storage.eventsTable,
      rollupsTable: this.storage.rollupsTable,
      eventsBucket: this.storage.eventsBucket,
      receiptKey: this.storage.receiptKey,
      pointStore,
      writer: config.writer,
      maxReceiveCount: config.queue.maxReceiveCount,
      logRetention,
    });

    this.pulls = new Pulls(this, 'Pulls', {
      table: this.storage.table,
      ingestQueue: this.ingest.queue,
      maxReceiveCount: config.queue.maxReceiveCount,
      maxConcurrency: config.pulls.maxConcurrency,
      reservedConcurrency: config.pulls.reservedConcurrency,
      logRetention,
      network: props.pullNetwork?.(this) ?? this.networkFromSettings(config.pulls.vpc),
    });

    // before the API, whose CORS must let the page's origin in; its files are deployed once the API exists
    this.site = new DashboardSite(this, 'Site', { ...(config.api.domain && { apiDomainName: config.api.domain.name }) });

    this.api = new Api(this, 'Api', {
      table: this.storage.table,
      eventsTable: this.storage.eventsTable,
      rollupsTable: this.storage.rollupsTable,
      eventsBucket: this.storage.eventsBucket,
      receiptKey: this.storage.receiptKey,
      pointStore,
      ingestFunction: this.ingest.ingestFunction,
      ingestQueue: this.ingest.queue,
      pullFunction: this.pulls.pullFunction,
      adminTokenSecret: this.adminTokenSecret,
      authorizerCacheTtl: Duration.seconds(config.api.authorizerCacheTtlSeconds),
      adminTokenCache: Duration.seconds(config.api.adminTokenCacheSeconds),
      throttle: { rateLimit: config.api.throttleRateLimit, burstLimit: config.api.throttleBurstLimit },
      alertActionSettings: alertActionSettings(config),
      logRetention,
      corsAllowedOrigins: [...config.api.corsAllowedOrigins, this.site.origin],
      domain: config.api.domain,
    });

    this.live = new Live(this, 'Live', {
      table: this.storage.table,
      adminTokenSecret: this.adminTokenSecret,
      writerFunction: this.ingest.writerFunction,
      streamsFunction: this.api.streamsFunction,
      fanOutFromWriter: !this.influx,
      throttle: { rateLimit: config.api.throttleRateLimit, burstLimit: config.api.throttleBurstLimit },
      adminTokenCache: Duration.seconds(config.api.adminTokenCacheSeconds),
      logRetention,
    });

    this.site.deploy({ apiUrl: this.api.url, liveUrl: this.live.url });

    this.iot = new IotIngest(this, 'Iot', {
      table: this.storage.table,
      queue: this.ingest.queue,
      logRetention,
      authorizerName: config.iot.authorizerName ?? `${this.stackName}-devices`,
    });

    this.observability = new Observability(this, 'Observability', {
      queue: this.ingest.queue,
      deadLetterQueue: this.ingest.deadLetterQueue,
      functions: {
        Streams: this.api.streamsFunction,
        Ingest: this.ingest.ingestFunction,
        Query: this.api.queryFunction,
        Alerts: this.api.alertsFunction,
        Writer: this.ingest.writerFunction,
        Authorizer: this.api.authorizerFunction,
        IotAuthorizer: this.iot.authorizerFunction,
        Pull: this.pulls.pullFunction,
        PullDispatcher: this.pulls.dispatcherFunction,
        Live: this.live.socketFunction,
        LiveAuthorizer: this.live.authorizerFunction,
      },
      topicRuleErrorLogGroup: this.iot.ruleErrorLogGroup,
      maxQueueAge: Duration.seconds(config.queue.maxAgeAlarmSeconds),
      httpApi: this.api.httpApi,
      table: this.storage.table,
      ...(config.alarmEmail !== undefined && { alarmEmail: config.alarmEmail }),
    });
    this.pulls.addAlarms(new SnsAction(this.observability.alarmTopic));
    this.influx?.addAlarms(new SnsAction(this.observability.alarmTopic));

    this.alerts = new Alerts(this, 'Alerts', {
      table: this.storage.table,
      pointStore,
      writerFunction: this.ingest.writerFunction,
      alarmTopic: this.observability.alarmTopic,
      logRetention,
      ...(config.alertEmail !== undefined && { alertEmail: config.alertEmail }),
      ...(config.alertEmailFrom !== undefined && { alertEmailFrom: config.alertEmailFrom }),
      ticketSystems: config.ticketSystems,
    });

    this.dashboard = new OperationsDashboard(this, 'Dashboard', {
      httpApi: this.api.httpApi,
      queue: this.ingest.queue,
      deadLetterQueue: this.ingest.deadLetterQueue,
      ingestFunction: this.ingest.ingestFunction,
      writerFunction: this.ingest.writerFunction,
      table: this.storage.table,
      ...(this.storage.timestream && { timestream: { databaseName: this.storage.timestream.databaseName, tableName: this.storage.timestream.tableName } }),
      ...(this.influx && { influxInstanceName: this.influx.instance.ref }),
      alertStateMachine: this.alerts.stateMachine,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the HTTP API (contract v1 under /v1)' });
    new CfnOutput(this, 'IotDataEndpoint', {
      value: this.iot.dataEndpoint,
      description: 'The MQTT endpoint of this account and region (IoT DescribeEndpoint, iot:Data-ATS): devices connect to it on port 443, ALPN mqtt',
    });
    new CfnOutput(this, 'IotAuthorizerName', {
      value: this.iot.authorizer.ref,
      description: 'Custom authorizer for MQTT: connect with username <deviceId>?x-amz-customauthorizer-name=<this>',
    });
    new CfnOutput(this, 'LiveUrl', { value: this.live.url, description: 'Live subscriptions (WebSocket): wss://…/live?stream=ID with &ticket=… or the subprotocols tributary.v1, bearer.<token>' });
    new CfnOutput(this, 'SiteUrl', { value: `${this.site.origin}/`, description: 'The web dashboard (CloudFront): sign in with the admin token or a stream\'s read token' });
    new CfnOutput(this, 'TableName', { value: this.storage.table.tableName });
    new CfnOutput(this, 'QueueUrl', { value: this.ingest.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.ingest.deadLetterQueue.queueUrl });
    if (this.storage.timestream) {
      new CfnOutput(this, 'TimestreamDatabase', { value: this.storage.timestream.databaseName });
      new CfnOutput(this, 'TimestreamTable', { value: this.storage.timestream.tableName });
    }
    if (this.influx) {
      new CfnOutput(this, 'InfluxDbUrl', { value: this.influx.url, description: 'The InfluxDB HTTP API, reachable only from the functions\' security group in the stack\'s VPC' });
      new CfnOutput(this, 'InfluxDbSecretArn', { value: this.influx.secret.secretArn, description: 'The InfluxDB admin user: aws secretsmanager get-secret-value --secret-id <this>' });
    }
    new CfnOutput(this, 'AdminTokenSecretName', {
      value: this.adminTokenSecret.secretName,
      description: 'aws secretsmanager get-secret-value --secret-id <this> --query SecretString --output text',
    });
    new CfnOutput(this, 'PullQueueUrl', { value: this.pulls.queue.queueUrl });
    new CfnOutput(this, 'PullDeadLetterQueueUrl', { value: this.pulls.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName, description: 'CloudWatch dashboard: ingest, rejections, queue, writer, Timestream and DynamoDB throttles, alert actions' });
    new CfnOutput(this, 'AlertEmailTopicArn', {
      value: this.alerts.emailTopic.topicArn,
      description: 'email alert actions publish here: subscribe addresses with aws sns subscribe --protocol email',
    });
    new CfnOutput(this, 'AlertStateMachineArn', { value: this.alerts.stateMachine.stateMachineArn });
  }

  /** The pull function's network from the `pulls.vpc` setting: an existing VPC, its subnets and security groups, by id. */
  private networkFromSettings(vpc: TributaryConfigValues['pulls']['vpc']): FunctionNetwork | undefined {
    if (!vpc) return undefined;
    return {
      vpc: ec2.Vpc.fromVpcAttributes(this, 'PullVpc', { vpcId: vpc.vpcId, availabilityZones: ['(from the subnets)'] }),
      vpcSubnets: { subnets: vpc.subnetIds.map((id, i) => ec2.Subnet.fromSubnetId(this, `PullSubnet${i}`, id)) },
      ...(vpc.securityGroupIds && {
        securityGroups: vpc.securityGroupIds.map((id, i) => ec2.SecurityGroup.fromSecurityGroupId(this, `PullSecurityGroup${i}`, id)),
      }),
    };
  }
}
