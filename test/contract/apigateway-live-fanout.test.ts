import { ApiGatewayManagementApiClient, ForbiddenException, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ApiGatewayLiveFanout } from '../../shared/aws/apigateway-live-fanout';
import { MAX_MESSAGE_BYTES, type LiveFilter } from '../../shared/domain/live-messages';
import type { Stream } from '../../shared/domain/stream-definition';
import type { LiveConnection, LiveConnectionStore } from '../../shared/ports';

// Shapes from the API Gateway Management API reference: PostToConnection takes ConnectionId and Data (bytes)
// and answers 200 with no body; a closed connection answers 410 GoneException, a frame over 128 KB 413.
const T0 = Date.UTC(2026, 0, 1);
const stream = { id: 'freezers', state: 'active', dimensions: ['deviceId'], schema: { deviceId: { type: 'string' }, temperature: { type: 'number' }, humidity: { type: 'number' } } } as unknown as Stream;
const all: LiveFilter = { fields: [], filters: {}, granularity: 'raw', binMs: 0 };
const f1: LiveFilter = { fields: ['temperature'], filters: { deviceId: ['f1'] }, granularity: 'raw', binMs: 0 };
const points = [
  { time: T0, dimensions: { deviceId: 'f1' }, values: { temperature: -20, humidity: 40 } },
  { time: T0 + 1, dimensions: { deviceId: 'f2' }, values: { temperature: -21, humidity: 41 } },
];

class MemoryConnections implements LiveConnectionStore {
  readonly removed: string[] = [];
  constructor(private readonly open: LiveConnection[]) {}
  async put(c: LiveConnection) {
    this.open.push(c);
  }
  async remove(id: string) {
    this.removed.push(id);
  }
  async list(streamId: string) {
    return this.open.filter((c) => c.streamId === streamId);
  }
}

const conn = (connectionId: string, filter: LiveFilter): LiveConnection => ({ connectionId, streamId: 'freezers', filter, connectedAt: T0, expiresAt: T0 + 7_200_000 });
const decode = (data: unknown) => JSON.parse(new TextDecoder().decode(data as Uint8Array));

describe('ApiGatewayLiveFanout (PostToConnection shapes from the API reference)', () => {
  const client = new ApiGatewayManagementApiClient({ endpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com/live', region: 'eu-west-1' });
  const api = mockClient(client);
  beforeEach(() => api.reset());
  let now = T0;
  const clock = { now: () => now };

  it('posts each connection the data_update of its own filter, and metrics and status once per 5 s', async () => {
    api.on(PostToConnectionCommand).resolves({});
    const fanout = new ApiGatewayLiveFanout({ client, connections: new MemoryConnections([conn('a', all), conn('b', f1)]), clock });
    await fanout.publishPoints(stream, points);
    const posts = api.commandCalls(PostToConnectionCommand).map((c) => ({ id: c.args[0].input.ConnectionId, msg: decode(c.args[0].input.Data) }));
    const updates = posts.filter((p) => p.msg.type === 'data_update');
    expect(updates.find((p) => p.id === 'a')!.msg.points).toHaveLength(2);
    expect(updates.find((p) => p.id === 'b')!.msg.points).toEqual([{ time: new Date(T0).toISOString(), dimensions: { deviceId: 'f1' }, values: { temperature: -20 } }]);
    expect(posts.filter((p) => p.msg.type === 'metrics_update').map((p) => p.id).sort()).toEqual(['a', 'b']);
    expect(posts.find((p) => p.msg.type === 'stream_status')!.msg).toMatchObject({ status: 'active' });
    api.resetHistory();
    now += 1_000;
    await fanout.publishPoints(stream, points);
    expect(api.commandCalls(PostToConnectionCommand).map((c) => decode(c.args[0].input.Data).type)).toEqual(['data_update', 'data_update']);
  });

  it('removes a connection that answers 410 Gone, and only that one; other errors are reported, not thrown', async () => {
    const connections = new MemoryConnections([conn('gone', all), conn('denied', all), conn('ok', all)]);
    const errors: string[] = [];
    api.on(PostToConnectionCommand, { ConnectionId: 'gone' }).rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));
    api.on(PostToConnectionCommand, { ConnectionId: 'denied' }).rejects(new ForbiddenException({ message: 'Forbidden', $metadata: { httpStatusCode: 403 } }));
    api.on(PostToConnectionCommand, { ConnectionId: 'ok' }).resolves({});
    const fanout = new ApiGatewayLiveFanout({ client, connections, clock, onError: (reason) => errors.push(reason) });
    await expect(fanout.publish('freezers', { type: 'ping', at: new Date(T0).toISOString() })).resolves.toBeUndefined();
    expect(connections.removed).toEqual(['gone']);
    expect(errors).toContain('live post failed');
  });

  it('keeps every frame under 128 KB: a large batch goes in parts of whole points', async () => {
    api.on(PostToConnectionCommand).resolves({});
    const many = Array.from({ length: 5_000 }, (_, i) => ({ time: T0 + i, dimensions: { deviceId: `device-${i}` }, values: { temperature: i / 7, humidity: i / 3 } }));
    now += 60_000;
    const fanout = new ApiGatewayLiveFanout({ client, connections: new MemoryConnections([conn('a', all)]), clock });
    await fanout.publishPoints(stream, many);
    const frames = api.commandCalls(PostToConnectionCommand).map((c) => c.args[0].input.Data as Uint8Array);
    const updates = frames.map(decode).filter((m) => m.type === 'data_update');
    expect(updates.length).toBeGreaterThan(1);
    for (const f of frames) expect(f.byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(updates.flatMap((u) => u.points)).toHaveLength(5_000);
    expect(updates.map((u) => u.part)).toEqual(updates.map((_, index) => ({ index, count: updates.length })));
  });

  it('gives up on posts past its time budget instead of holding the writer', async () => {
    api.on(PostToConnectionCommand).callsFake(() => new Promise(() => {}));
    const fanout = new ApiGatewayLiveFanout({ client, connections: new MemoryConnections([conn('slow', all)]), clock, budgetMs: 50 });
    const started = performance.now();
    await fanout.publishPoints(stream, points);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('reports a connection table it cannot read and posts nothing', async () => {
    const errors: string[] = [];
    const broken: LiveConnectionStore = { put: async () => {}, remove: async () => {}, list: async () => Promise.reject(new Error('table down')) };
    const fanout = new ApiGatewayLiveFanout({ client, connections: broken, clock, onError: (r) => errors.push(r) });
    await fanout.publishPoints(stream, points);
    expect(errors).toEqual(['live connections not read']);
    expect(api.commandCalls(PostToConnectionCommand)).toHaveLength(0);
  });
});
