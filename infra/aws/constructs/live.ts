import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEFAULT_ADMIN_TOKEN_CACHE_SECONDS } from '../../../shared/aws/admin-token-secret';
import { LIVE_CONNECTION_KEYS } from '../../../shared/aws/dynamodb-live-connections';
import { TributaryFunction } from './function';
import { acknowledge, nagEnv } from './nag';
import { grantTableItems, TABLE_READ_ACTIONS } from './storage';

export interface LiveProps {
  /** The main table: streams and tokens (read), live tickets (redeemed: deleted). */
  readonly table: dynamodb.ITable;
  readonly adminTokenSecret: secretsmanager.ISecret;
  /** The writer: it posts each stored batch to the connections and removes gone ones. */
  readonly writerFunction: TributaryFunction;
  /** The streams function: it issues tickets and names the WebSocket URL in `GET …/live`'s 426. */
  readonly streamsFunction: TributaryFunction;
  /**
   * Whether the writer posts each stored batch to the connections (default true). `false` with the InfluxDB store: the
   * writer runs in a VPC without NAT, and the @connections API of a public WebSocket API cannot be reached through a VPC endpoint.
   */
  readonly fanOutFromWriter?: boolean;
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** How long the authorizer keeps the admin token it read (60 s unless given), as the HTTP API's does. */
  readonly adminTokenCache?: Duration;
  readonly logRetention: logs.RetentionDays;
}

/** The WebSocket stage's name: clients connect to `wss://<api>.execute-api.<region>.amazonaws.com/live`. */
export const LIVE_STAGE = 'live';

/**
 * Live subscriptions in AWS: an API Gateway WebSocket API whose `$connect` runs the live authorizer (a ticket,
 * `Authorization` or the subprotocol `bearer.<token>`) and then the live function, which keeps the connection
 * in its own table (TTL: API Gateway's 2 h connection limit); `$disconnect` drops it; `$default` answers pings
 * (route response). The writer may post to this API's connections only (`execute-api:ManageConnections` on
 * its stage's `@connections`), and reads and deletes connection items.
 *
 * @example
 * const live = new Live(this, 'Live', { table, adminTokenSecret, writerFunction, streamsFunction, throttle, logRetention });
 * new CfnOutput(this, 'LiveUrl', { value: live.url });
 */
export class Live extends Construct {
  readonly connectionTable: dynamodb.Table;
  readonly webSocketApi: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly socketFunction: TributaryFunction;
  readonly authorizerFunction: TributaryFunction;
  readonly accessLogGroup: logs.LogGroup;
  /** `wss://<api>.execute-api.<region>.amazonaws.com/live`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: LiveProps) {
    super(scope, id);
    this.connectionTable = new dynamodb.Table(this, 'Connections', {
      partitionKey: { name: LIVE_CONNECTION_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LIVE_CONNECTION_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: LIVE_CONNECTION_KEYS.ttlAttribute,
    });
    acknowledge(this.connectionTable, {
      'AwsSolutions-DDB3':
        'holds only open WebSocket connection ids, each for at most 2 h: nothing to recover, since a restored item would name a connection API Gateway has closed; clients reconnect.',
    });

    this.authorizerFunction = new TributaryFunction(this, 'AuthorizerFunction', {
      handler: 'live-authorizer',
      description: 'Tributary live WebSocket $connect authorizer: ticket, bearer token or subprotocol token to the stream read scope',
      memorySize: 256,
      timeout: Duration.seconds(5),
      environment: {
        TABLE_NAME: props.table.tableName,
        ADMIN_TOKEN_SECRET_ARN: props.adminTokenSecret.secretArn,
        ADMIN_TOKEN_CACHE_SECONDS: String((props.adminTokenCache ?? Duration.seconds(DEFAULT_ADMIN_TOKEN_CACHE_SECONDS)).toSeconds()),
      },
      logRetention: props.logRetention,
    });
    // tokens are read; a ticket is redeemed by one conditional DeleteItem
    grantTableItems(props.table, this.authorizerFunction.role, [...TABLE_READ_ACTIONS, 'dynamodb:DeleteItem']);
    this.authorizerFunction.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [props.adminTokenSecret.secretArn] }));

    this.socketFunction = new TributaryFunction(this, 'SocketFunction', {
      handler: 'live',
      description: 'Tributary live WebSocket routes: $connect keeps the connection and its filter, $disconnect drops it, $default answers pings',
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: { TABLE_NAME: props.table.tableName, LIVE_CONNECTIONS_TABLE: this.connectionTable.tableName },
      logRetention: props.logRetention,
    });
    grantTableItems(props.table, this.socketFunction.role, ['dynamodb:GetItem']);
    grantTableItems(this.connectionTable, this.socketFunction.role, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']);

    const integration = new WebSocketLambdaIntegration('SocketIntegration', this.socketFunction.fn);
    this.webSocketApi = new apigwv2.WebSocketApi(this, 'WebSocketApi', {
      description: 'Tributary live subscriptions (GET /v1/streams/{id}/live in the local runtime): wss://…/live?stream=ID',
      connectRouteOptions: {
        integration,
        // every connect names its stream; the token may come in a header, the subprotocol or a ticket
        authorizer: new WebSocketLambdaAuthorizer('LiveAuthorizer', this.authorizerFunction.fn, { identitySource: ['route.request.querystring.stream'] }),
      },
      disconnectRouteOptions: { integration },
      defaultRouteOptions: { integration, returnResponse: true },
    });
    for (const route of ['$disconnect', '$default']) {
      const child = this.webSocketApi.node.tryFindChild(`${route}-Route`);
      if (child) {
        acknowledge(child, {
          'AwsSolutions-APIG4':
            'API Gateway allows an authorizer on $connect only; this route runs on a connection $connect authorized, and acts on that connection alone (drops it, or answers its ping).',
        });
      }
    }

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName: LIVE_STAGE,
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        // no query string (the ticket) and no headers (the token, the subprotocol): only ids, route and status
        format: accessLogFormat(),
      },
    });
    this.url = this.stage.url;

    if (props.fanOutFromWriter !== false) {
      // the writer posts to this stage's connections only, and removes gone ones
      this.stage.grantManagementApiAccess(props.writerFunction.role);
      Validations.of(props.writerFunction.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:${nagEnv(Stack.of(this)).region}:${nagEnv(Stack.of(this)).account}:<${Stack.of(this).getLogicalId(this.webSocketApi.node.defaultChild as CfnElement)}>/${LIVE_STAGE}/*/@connections/*]`,
        reason: 'Connection ids are made by API Gateway at each connect: the grant names this API and its live stage, and only the @connections management routes.',
      });
      grantTableItems(this.connectionTable, props.writerFunction.role, ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:DeleteItem']);
      props.writerFunction.fn.addEnvironment('LIVE_CONNECTIONS_TABLE', this.connectionTable.tableName);
      props.writerFunction.fn.addEnvironment('LIVE_CALLBACK_URL', this.stage.callbackUrl);
    }
    props.streamsFunction.fn.addEnvironment('LIVE_WEBSOCKET_URL', this.url);
  }
}

function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      requestTime: '$context.requestTime',
      ip: '$context.identity.sourceIp',
      routeKey: '$context.routeKey',
      eventType: '$context.eventType',
      connectionId: '$context.connectionId',
      status: '$context.status',
      principal: '$context.authorizer.principalId',
      authorizerError: '$context.authorizer.error',
      integrationError: '$context.integrationErrorMessage',
    }),
  );
}
