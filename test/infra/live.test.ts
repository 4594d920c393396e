import { describe, expect, it } from 'vitest';
import { LIVE_CONNECTION_KEYS } from '../../shared/aws/dynamodb-live-connections';
import { LIVE_STAGE } from '../../infra/aws/constructs/live';
import { useSynthesizedTributary } from '../fixtures/synth';

const synth = useSynthesizedTributary();
const { getAtt, logicalId, props, ofType, grantsOf, actionsOf, resourcesFor } = synth;

describe('live subscriptions: the WebSocket API', () => {
  it('is a WebSocket API with $connect (behind the live authorizer), $disconnect and $default (which returns its response)', () => {
    const api = props(synth.stack.live.webSocketApi);
    expect(api).toMatchObject({ ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
    const routes = ofType('AWS::ApiGatewayV2::Route').filter((r) => r.ApiId?.Ref === logicalId(synth.stack.live.webSocketApi));
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(['$connect', '$default', '$disconnect']);
    const connect = routes.find((r) => r.RouteKey === '$connect')!;
    expect(connect.AuthorizationType).toBe('CUSTOM');
    expect(routes.filter((r) => r.RouteKey !== '$connect').every((r) => r.AuthorizationType === undefined || r.AuthorizationType === 'NONE')).toBe(true);
    expect(routes.find((r) => r.RouteKey === '$default')!.RouteResponseSelectionExpression).toBe('$default');
    const authorizer = ofType('AWS::ApiGatewayV2::Authorizer').find((a) => a.ApiId?.Ref === logicalId(synth.stack.live.webSocketApi))!;
    expect(authorizer).toMatchObject({ AuthorizerType: 'REQUEST', IdentitySource: ['route.request.querystring.stream'] });
    expect(JSON.stringify(authorizer.AuthorizerUri)).toContain(logicalId(synth.stack.live.authorizerFunction.fn));
  });

  it('deploys the live stage with throttling and access logs that hold no query string or header (tickets, tokens)', () => {
    const stage = props(synth.stack.live.stage);
    expect(stage).toMatchObject({ StageName: LIVE_STAGE, AutoDeploy: true });
    expect(stage.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: expect.any(Number), ThrottlingBurstLimit: expect.any(Number) });
    expect(stage.AccessLogSettings.DestinationArn).toEqual(getAtt(synth.stack.live.accessLogGroup));
    const format = stage.AccessLogSettings.Format as string;
    expect(format).toContain('$context.connectionId');
    expect(format).not.toMatch(/querystring|header|ticket|\$context\.identity\.user|requestOverride/i);
  });

  it('keeps connections in a table of their own with a TTL attribute', () => {
    const table = props(synth.stack.live.connectionTable);
    expect(table.KeySchema).toEqual([
      { AttributeName: LIVE_CONNECTION_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: LIVE_CONNECTION_KEYS.sortKey, KeyType: 'RANGE' },
    ]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: LIVE_CONNECTION_KEYS.ttlAttribute, Enabled: true });
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.SSESpecification).toMatchObject({ SSEEnabled: true });
  });
});

describe('live subscriptions: grants', () => {
  it('lets the writer manage the connections of this API’s live stage only, and read and delete connection items', () => {
    const writer = synth.stack.ingest.writerFunction;
    const manage = resourcesFor(writer, 'execute-api:ManageConnections');
    expect(manage).toHaveLength(1);
    const arn = JSON.stringify(manage[0]);
    expect(arn).toContain(logicalId(synth.stack.live.webSocketApi));
    expect(arn).toContain(`/${LIVE_STAGE}/*/@connections/*`);
    const connections = grantsOf(writer).filter((g) => JSON.stringify(g.resource).includes(logicalId(synth.stack.live.connectionTable)));
    expect(connections.map((g) => g.action).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query']);
    const env = props(writer.fn).Environment.Variables;
    expect(env.LIVE_CONNECTIONS_TABLE).toEqual({ Ref: logicalId(synth.stack.live.connectionTable) });
    expect(JSON.stringify(env.LIVE_CALLBACK_URL)).toContain(logicalId(synth.stack.live.webSocketApi));
  });

  it('lets no other function manage connections', () => {
    const others = [synth.stack.api.streamsFunction, synth.stack.api.queryFunction, synth.stack.ingest.ingestFunction, synth.stack.live.socketFunction, synth.stack.live.authorizerFunction];
    for (const f of others) expect(actionsOf(f)).not.toContain('execute-api:ManageConnections');
  });

  it('gives the authorizer token reads and ticket deletes on the main table, and the socket function its connection items', () => {
    expect(actionsOf(synth.stack.live.authorizerFunction).filter((a) => /^(dynamodb|secretsmanager):/.test(a))).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query', 'secretsmanager:GetSecretValue']);
    expect(resourcesFor(synth.stack.live.authorizerFunction, 'dynamodb:DeleteItem')).toEqual([getAtt(synth.stack.storage.table)]);
    expect(resourcesFor(synth.stack.live.socketFunction, 'dynamodb:PutItem')).toEqual([getAtt(synth.stack.live.connectionTable)]);
    expect(resourcesFor(synth.stack.live.socketFunction, 'dynamodb:GetItem')).toEqual(expect.arrayContaining([getAtt(synth.stack.storage.table), getAtt(synth.stack.live.connectionTable)]));
  });

  it('tells the streams function where the WebSocket API is', () => {
    expect(JSON.stringify(props(synth.stack.api.streamsFunction.fn).Environment.Variables.LIVE_WEBSOCKET_URL)).toContain(logicalId(synth.stack.live.webSocketApi));
  });
});

describe('cdk-nag AwsSolutions on live subscriptions', () => {
  it('has no unacknowledged finding', () => {
    expect(synth.nagReport.violations).toEqual([]);
  });
});
