import { describe, expect, it } from 'vitest';
import { DynamoDbLiveConnections } from '../../shared/aws/dynamodb-live-connections';
import { DynamoDbLiveTickets } from '../../shared/aws/dynamodb-live-tickets';
import type { LiveFilter } from '../../shared/domain/live-messages';
import { useDynalite } from '../fixtures/dynalite';

const T0 = Date.UTC(2026, 0, 1);
const filter: LiveFilter = { fields: ['temperature'], filters: { deviceId: ['f1'] }, granularity: 'raw', binMs: 0 };

describe('DynamoDbLiveTickets on dynalite', () => {
  const dynamo = useDynalite('live-tickets');
  const fresh = async () => new DynamoDbLiveTickets({ client: dynamo.client, tableName: await dynamo.freshTable() });

  it('redeems a ticket once: the second redeem finds nothing', async () => {
    const tickets = await fresh();
    await tickets.issue({ hash: 'h1', streamId: 'freezers', principal: 'token:ab', expiresAt: T0 + 60_000 });
    expect(await tickets.redeem('h1', T0 + 1_000)).toEqual({ hash: 'h1', streamId: 'freezers', principal: 'token:ab', expiresAt: T0 + 60_000 });
    expect(await tickets.redeem('h1', T0 + 2_000)).toBeUndefined();
  });

  it('refuses an expired ticket, and an unknown one', async () => {
    const tickets = await fresh();
    await tickets.issue({ hash: 'h2', streamId: 'freezers', principal: '', expiresAt: T0 + 60_000 });
    expect(await tickets.redeem('h2', T0 + 60_000)).toBeUndefined();
    expect(await tickets.redeem('nope', T0)).toBeUndefined();
  });

  it('of two concurrent redeems of one ticket, exactly one gets it', async () => {
    const tickets = await fresh();
    await tickets.issue({ hash: 'h3', streamId: 'freezers', principal: '', expiresAt: T0 + 60_000 });
    const results = await Promise.all([tickets.redeem('h3', T0), tickets.redeem('h3', T0), tickets.redeem('h3', T0)]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe('DynamoDbLiveConnections on dynalite', () => {
  const dynamo = useDynalite('live-connections');
  const fresh = async () => new DynamoDbLiveConnections({ client: dynamo.client, tableName: await dynamo.freshTable() });

  it('lists a stream’s connections with their filters, not another stream’s, and not an expired one', async () => {
    const connections = await fresh();
    await connections.put({ connectionId: 'c1', streamId: 'freezers', filter, connectedAt: T0, expiresAt: T0 + 7_200_000 });
    await connections.put({ connectionId: 'c2', streamId: 'freezers', filter: { ...filter, fields: [] }, connectedAt: T0, expiresAt: T0 + 1_000 });
    await connections.put({ connectionId: 'c3', streamId: 'doors', filter, connectedAt: T0, expiresAt: T0 + 7_200_000 });
    const open = await connections.list('freezers', T0 + 5_000);
    expect(open).toEqual([{ connectionId: 'c1', streamId: 'freezers', filter, connectedAt: T0, expiresAt: T0 + 7_200_000 }]);
  });

  it('removes a connection by its id alone, and removing it again is no error', async () => {
    const connections = await fresh();
    await connections.put({ connectionId: 'c1', streamId: 'freezers', filter, connectedAt: T0, expiresAt: T0 + 7_200_000 });
    await connections.remove('c1');
    expect(await connections.list('freezers', T0)).toEqual([]);
    await expect(connections.remove('c1')).resolves.toBeUndefined();
  });
});
