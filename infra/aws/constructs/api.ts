import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEFAULT_ADMIN_TOKEN_CACHE_SECONDS } from '../../../shared/aws/admin-token-secret';
import { EVENT_HEADERS } from '../../../shared/domain/events';
import { ALL_ROUTES, type FunctionName } from '../../../functions/commons/routes';
import { grantInfluxAccess, pointStoreEnvironment, pointStoreNetwork, type PointStoreTarget } from './point-store-access';
import { TributaryFunction } from './function';
import { acknowledge } from './nag';
import { EVENTS_PREFIX } from '../../../shared/aws/s3-event-archive';
import { PARTS_PREFIX } from '../../../shared/aws/s3-part-store';
import { EXPORTS_PREFIX } from '../../../shared/aws/s3-export-store';
import { RECEIPTS_PREFIX } from '../../../shared/aws/receipt-ledger';
import { grantEventsQuery, grantIndexQuery, grantObjects, grantTableItems, grantTimestreamEndpoints, TABLE_READ_ACTIONS, TIMESTREAM_READ_ACTIONS } from './storage';

/**
 * What API Gateway caches an authorizer decision by. HTTP API Lambda authorizers accept only headers
 * (`$request.header.*`), query strings (`$request.querystring.*`), context variables (`$context.*`) and stage
 * variables (`$stageVariables.*`) as identity sources; path parameters (`$request.path.id`) are not among them.
 * The decision depends on the token, the route (its scope: admin, ingest or read) and the stream in the path,
 * so the key is the token plus `$context.routeKey` plus `$context.path` (the concrete path, which carries the
 * stream id): an allow cached for stream A can never answer a request for stream B.
 */
export const AUTHORIZER_IDENTITY_SOURCES = ['$request.header.Authorization', '$context.routeKey', '$context.path'] as const;

export interface ApiProps {
  readonly table: dynamodb.ITable;
  /** Event streams' events, read by `GET …/events`: hot, with the cold tier's manifests, and the cold bucket. */
  readonly eventsTable: dynamodb.ITable;
  /** The stored rollups' bins: queries at a stored granularity read them, downsample moves their close mark. */
  readonly rollupsTable: dynamodb.ITable;
  readonly eventsBucket: s3.IBucket;
  /** The key receipts are signed with: the query function reads its public half. */
  readonly receiptKey: kms.IKey;
  /** Where the query function reads points. */
  readonly pointStore: PointStoreTarget;
  /** The function behind `POST /v1/streams/{id}/data`, built by the `Ingest` construct. */
  readonly ingestFunction: TributaryFunction;
  /** The ingest queue: the status reads its approximate depth (`sqs:GetQueueAttributes` on it alone). */
  readonly ingestQueue?: sqs.IQueue;
  /** The function behind `POST /v1/streams/{id}/pull`, built by the `Pulls` construct. */
  readonly pullFunction: TributaryFunction;
  /** The Secrets Manager secret that holds the admin token. */
  readonly adminTokenSecret: secretsmanager.ISecret;
  readonly authorizerCacheTtl: Duration;
  /** How long the authorizer keeps the admin token it read before reading it again (60 s unless given). */
  readonly adminTokenCache?: Duration;
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** What the streams function checks alert actions against (`alertActionSettings`). */
  readonly alertActionSettings?: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  /** Origins browsers may call the API from; none: no CORS configuration at all. */
  readonly corsAllowedOrigins: readonly string[];
  /** A custom domain for the API, in a Route 53 hosted zone of the account. */
  readonly domain?: ApiDomain | undefined;
}

/** A custom domain name of the API and the public hosted zone it is in. */
export interface ApiDomain {
  readonly name: string;
  readonly hostedZoneId: string;
  readonly hostedZoneName: string;
}

/** The headers a browser may send to the API on a cross-origin request. */
/** The request headers a browser may send: the bearer token and body, and an event stream's event headers. */
export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', 'content-encoding', 'idempotency-key', ...Object.values(EVENT_HEADERS)] as const;

/**
 * The HTTP API of contract v1: every route of `functions/commons/routes.ts` (`POST /v1/streams/{id}/data` to
 * the ingest function, `GET …/data` and `GET …/latest` to the query function, the rest to the streams
 * function), all behind one Lambda authorizer (payload 2.0, simple responses) whose cached decisions are
 * keyed by token, route and path. The `$default` stage auto-deploys, logs every request as JSON and throttles.
 *
 * @example
 * const api = new Api(this, 'Api', {
 *   table, pointStore, ingestFunction: ingest.ingestFunction, pullFunction: pulls.pullFunction, adminTokenSecret,
 *   authorizerCacheTtl: Duration.minutes(1), throttle: { rateLimit: 100, burstLimit: 200 }, logRetention: RetentionDays.ONE_MONTH,
 * });
 * new CfnOutput(this, 'ApiUrl', { value: api.url });
 */
export class Api extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly streamsFunction: TributaryFunction;
  readonly queryFunction: TributaryFunction;
  /** `GET /v1/streams/{id}/alerts`, `GET /v1/alerts`, `POST /v1/alerts/{id}/ack`. */
  readonly alertsFunction: TributaryFunction;
  readonly authorizerFunction: TributaryFunction;
  readonly accessLogGroup: logs.LogGroup;
  /** The base URL clients call: `https://<api-id>.execute-api.<region>.amazonaws.com/`, or `https://<domain>/`. */
  readonly url: string;
  /** The custom domain, when one is set. */
  readonly domainName?: apigwv2.DomainName;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { table, pointStore } = props;

    this.streamsFunction = new TributaryFunction(this, 'StreamsFunction', {
      handler: 'streams',
      description: 'Tributary /v1/streams: create, list, read, update, delete, pause, resume, status, tokens',
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: { TABLE_NAME: table.tableName, ...(props.ingestQueue && { INGEST_QUEUE_URL: props.ingestQueue.queueUrl }), ...props.alertActionSettings },
      logRetention: props.logRetention,
    });
    table.grantReadWriteData(this.streamsFunction.role);
    // the status's queue length: the queue's attributes only, never its messages
    if (props.ingestQueue) props.ingestQueue.grant(this.streamsFunction.role, 'sqs:GetQueueAttributes');
    Validations.of(this.streamsFunction.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(table.node.defaultChild as CfnElement)}.Arn>/index/*]`,
      reason:
        "Covers only this table's own indexes (gsi1, through which the streams function lists streams and finds a stream's tokens); " +
        'no other table and no other account is reachable through it.',
    });

    this.queryFunction = new TributaryFunction(this, 'QueryFunction', {
      handler: 'query',
      description: 'Tributary GET /v1/streams/{id}/data, /latest, /export, /events, /receipts and /verify: Timestream and event queries',
      memorySize: 512,
      // Below the HTTP API's 30 s integration limit, so the client gets the function's own error.
      timeout: Duration.seconds(25),
      environment: {
        TABLE_NAME: table.tableName,
        ...pointStoreEnvironment(pointStore),
        EVENTS_TABLE_NAME: props.eventsTable.tableName,
        EVENTS_BUCKET: props.eventsBucket.bucketName,
        RECEIPT_KEY_ARN: props.receiptKey.keyArn,
        ROLLUPS_TABLE_NAME: props.rollupsTable.tableName,
      },
      logRetention: props.logRetention,
      ...pointStoreNetwork(pointStore),
    });
    grantInfluxAccess(this.queryFunction, pointStore);
    grantEventsQuery(props.eventsTable, this.queryFunction.role);
    // reads bins by key range; moves a stream's close mark (a conditional UpdateItem, read back with GetItem when it did not move)
    grantTableItems(props.rollupsTable, this.queryFunction.role, ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
    // reads the receipt key's public half to check receipts' signatures; may not sign
    props.receiptKey.grant(this.queryFunction.role, 'kms:GetPublicKey');
    grantObjects(
      this.queryFunction.role,
      props.eventsBucket,
      's3:GetObject',
      [EVENTS_PREFIX, PARTS_PREFIX, RECEIPTS_PREFIX],
      'A query reads the archived-event objects the events table names for its range (events/<stream>/<day>/<batch>.ndjson.gz), the parts of the ' +
        'file events it answers (parts/<stream>/<request>/<n>) and, to verify a stream, its receipts\' records (receipts/<stream>/<batch hash>.ndjson.gz); ' +
        'the function may only get objects under those prefixes of the events bucket, never list, write or delete them.',
    );
    grantObjects(
      this.queryFunction.role,
      props.eventsBucket,
      ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'],
      [EXPORTS_PREFIX],
      'An export too large for a Lambda answer is written as a multipart upload under exports/<stream>/<random id>.<ext> (s3:PutObject covers ' +
        'CreateMultipartUpload, UploadPart and CompleteMultipartUpload; AbortMultipartUpload drops a failed one) and answered as a presigned GET URL, ' +
        'which the role must be allowed to get; only that prefix, where objects expire after a day.',
    );
    if (pointStore.kind === 'liveanalytics') {
      this.queryFunction.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: [...TIMESTREAM_READ_ACTIONS], resources: [pointStore.timestream.tableArn] }),
      );
      grantTimestreamEndpoints(this.queryFunction.role);
    }
    grantTableItems(table, this.queryFunction.role, TABLE_READ_ACTIONS);

    this.alertsFunction = new TributaryFunction(this, 'AlertsFunction', {
      handler: 'alerts',
      description: 'Tributary alerts API: list by stream and by state, acknowledge',
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: { TABLE_NAME: table.tableName },
      logRetention: props.logRetention,
    });
    grantTableItems(table, this.alertsFunction.role, [...TABLE_READ_ACTIONS, 'dynamodb:UpdateItem']);
    grantIndexQuery(table, this.alertsFunction.role); // lists alerts by state through gsi1

    this.authorizerFunction = new TributaryFunction(this, 'AuthorizerFunction', {
      handler: 'authorizer',
      description: 'Tributary HTTP API authorizer: bearer token to admin / ingest:<id> / read:<id> scopes',
      memorySize: 256,
      timeout: Duration.seconds(5),
      environment: {
        TABLE_NAME: table.tableName,
        ADMIN_TOKEN_SECRET_ARN: props.adminTokenSecret.secretArn,
        ADMIN_TOKEN_CACHE_SECONDS: String((props.adminTokenCache ?? Duration.seconds(DEFAULT_ADMIN_TOKEN_CACHE_SECONDS)).toSeconds()),
      },
      logRetention: props.logRetention,
    });
    grantTableItems(table, this.authorizerFunction.role, TABLE_READ_ACTIONS);
    this.authorizerFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [props.adminTokenSecret.secretArn] }),
    );

    const authorizer = new HttpLambdaAuthorizer('TokenAuthorizer', this.authorizerFunction.fn, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: [...AUTHORIZER_IDENTITY_SOURCES],
      resultsCacheTtl: props.authorizerCacheTtl,
    });

    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'Tributary API, contract v1',
      createDefaultStage: false,
      // API Gateway answers preflights itself (OPTIONS routes are not needed) and adds the headers to responses
      ...(props.corsAllowedOrigins.length > 0 && {
        corsPreflight: {
          allowOrigins: [...props.corsAllowedOrigins],
          allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST, apigwv2.CorsHttpMethod.PUT, apigwv2.CorsHttpMethod.PATCH, apigwv2.CorsHttpMethod.DELETE],
          allowHeaders: [...CORS_ALLOWED_HEADERS],
          exposeHeaders: ['location', 'retry-after', 'next-cursor', 'content-disposition'],
          maxAge: Duration.hours(1),
        },
      }),
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        // No headers, query strings or bodies: tokens never reach the logs.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            principal: '$context.authorizer.principal',
            authorizerError: '$context.authorizer.error',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    this.url = this.stage.url;
    if (props.domain) {
      this.domainName = this.addDomain(props.domain);
      this.url = `https://${props.domain.name}/`;
    }

    const integrations: Record<FunctionName, HttpLambdaIntegration> = {
      streams: new HttpLambdaIntegration('StreamsIntegration', this.streamsFunction.fn),
      ingest: new HttpLambdaIntegration('IngestIntegration', props.ingestFunction.fn),
      pull: new HttpLambdaIntegration('PullIntegration', props.pullFunction.fn),
      query: new HttpLambdaIntegration('QueryIntegration', this.queryFunction.fn),
      alerts: new HttpLambdaIntegration('AlertsIntegration', this.alertsFunction.fn),
    };
    // contract v1's routes and their unversioned twins, the documents' paths
    for (const route of ALL_ROUTES) {
      const added = this.httpApi.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration: integrations[route.fn],
        ...(route.scope !== 'public' && { authorizer }),
      });
      if (route.scope === 'public') {
        for (const r of added) {
          acknowledge(r, {
            'AwsSolutions-APIG4':
              'serves only the OpenAPI document, built from code in the streams function: it reads no table and names no stream or record, and clients and generators fetch it before they hold a token',
          });
        }
      }
    }
  }

  /** The custom domain: a DNS-validated certificate, the API Gateway domain mapped to the stage, and an alias record. */
  private addDomain(domain: ApiDomain): apigwv2.DomainName {
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'HostedZone', { hostedZoneId: domain.hostedZoneId, zoneName: domain.hostedZoneName });
    const certificate = new acm.Certificate(this, 'Certificate', { domainName: domain.name, validation: acm.CertificateValidation.fromDns(zone) });
    const domainName = new apigwv2.DomainName(this, 'DomainName', { domainName: domain.name, certificate });
    new apigwv2.ApiMapping(this, 'ApiMapping', { api: this.httpApi, domainName, stage: this.stage });
    new route53.ARecord(this, 'AliasRecord', {
      zone,
      recordName: domain.name,
      target: route53.RecordTarget.fromAlias(new route53Targets.ApiGatewayv2DomainProperties(domainName.regionalDomainName, domainName.regionalHostedZoneId)),
    });
    return domainName;
  }
}
