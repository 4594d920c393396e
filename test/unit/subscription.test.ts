import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { HttpEvent } from '../../functions/commons/http';
import { makeStreamsHandler, SUBSCRIPTIONS_UNAVAILABLE } from '../../functions/streams/app';
import { SubscriptionSchema, topicFilterProblem } from '../../shared/domain/subscription';
import { documentDefinition } from '../fixtures/data-streams';

describe('a subscription to another broker', () => {
  it.each(['a/b', 'a/+/c', 'a/#', '#', '+', '+/+', 'a//b'])('takes the MQTT topic filter %s', (filter) => {
    expect(topicFilterProblem(filter)).toBeUndefined();
  });
  it.each([
    ['a/#/b', "'#' must be a whole level"],
    ['a#', "'#' must be a whole level"],
    ['a+/b', "'+' must be a whole level"],
    ['$SYS/#', "broker's own"],
    ['', '1-256'],
    ['a\u0000b', 'NUL'],
  ])('refuses the topic filter %j', (filter, problem) => {
    expect(topicFilterProblem(filter)).toContain(problem);
  });

  it('refuses a URL that is not mqtt(s)://, credentials in the URL and a password in clear', () => {
    const paths = (value: unknown) => SubscriptionSchema.safeParse(value).error?.issues.map((i) => i.path);
    expect(paths({ url: 'http://broker.example', topics: ['a'], password: 'hunter22' })).toEqual([['url'], ['password']]);
    expect(paths({ url: 'mqtt://u:p@broker.example', topics: ['a'] })).toEqual([['url']]);
    expect(paths({ url: 'mqtt://broker.example', topics: ['ok', 'a/#/b'] })).toEqual([['topics', 1]]);
    expect(SubscriptionSchema.parse({ url: 'mqtts://broker.example:8883', topics: ['a/#'], username: 'tributary', password: '${secret:BROKER}' })).toMatchObject({ qos: 1 });
  });

  it('is refused in AWS (where no function holds a connection) with the way to do it there', async () => {
    const handler = makeStreamsHandler({
      registry: {} as never,
      tokens: {} as never,
      clock: { now: () => Date.parse('2026-12-01T00:00:00Z') },
      log: { error: () => {}, info: () => {} },
    });
    const event = {
      version: '2.0',
      routeKey: 'POST /v1/streams',
      rawPath: '/v1/streams',
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(documentDefinition('occupancy-monitoring')),
      isBase64Encoded: false,
      requestContext: { requestId: 'r', authorizer: { lambda: { scopes: 'admin', principal: 'p' } } },
    } as unknown as HttpEvent;
    const res = await handler(event, { awsRequestId: 't' } as Context);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body!).errors).toEqual([{ path: ['source'], message: SUBSCRIPTIONS_UNAVAILABLE }]);
  });
});
