import { describe, expect, it } from 'vitest';
import type { TokenRecord, TokenStore } from '../../shared/ports';
import { hashToken } from '../../shared/tokens';

const createdAt = '2026-03-10T12:00:00.000Z';
const tokenFor = (name: string, streamId?: string, extra: Partial<TokenRecord> = {}): TokenRecord => ({
  hash: hashToken(`trb_${name}`),
  scopes: streamId ? [`ingest:${streamId}`] : ['admin'],
  createdAt,
  ...(streamId && { streamId }),
  ...extra,
});

/**
 * The behaviour every `TokenStore` owes its callers, run against a real engine.
 *
 * @example
 * tokenStoreContract(async () => new DynamoDbRegistry({ client, tableName: await freshTable() }));
 */
export function tokenStoreContract(makeTokens: () => Promise<TokenStore>): void {
  describe('TokenStore contract', () => {
    it('finds a token by its hash with every field it was put with', async () => {
      const tokens = await makeTokens();
      const token = tokenFor('a', 'freezers', { scopes: ['ingest:freezers', 'read:freezers'], label: 'gateway 7' });
      await tokens.put(token);
      expect(await tokens.find(token.hash)).toEqual(token);
    });

    it('finds a token that belongs to no stream (an admin token)', async () => {
      const tokens = await makeTokens();
      const admin = tokenFor('admin');
      await tokens.put(admin);
      expect(await tokens.find(admin.hash)).toEqual(admin);
    });

    it('finds nothing for a hash never put', async () => {
      const tokens = await makeTokens();
      expect(await tokens.find(hashToken('trb_unknown'))).toBeUndefined();
    });

    it('replaces a token put again under the same hash', async () => {
      const tokens = await makeTokens();
      await tokens.put(tokenFor('a', 'freezers'));
      const again = tokenFor('a', 'freezers', { scopes: ['read:freezers'], label: 'read only' });
      await tokens.put(again);
      expect(await tokens.find(again.hash)).toEqual(again);
    });

    it("deletes all 30 tokens of a stream and none of another stream's or an admin's", async () => {
      const tokens = await makeTokens();
      const doomed = Array.from({ length: 30 }, (_, i) => tokenFor(`d${i}`, 'doomed'));
      const kept = [tokenFor('k1', 'kept'), tokenFor('k2', 'kept'), tokenFor('admin')];
      for (const t of [...doomed, ...kept]) await tokens.put(t);

      await tokens.deleteForStream('doomed');

      for (const t of doomed) expect(await tokens.find(t.hash)).toBeUndefined();
      for (const t of kept) expect(await tokens.find(t.hash)).toEqual(t);
    });

    it('deletes nothing, and does not fail, for a stream without tokens', async () => {
      const tokens = await makeTokens();
      const kept = tokenFor('k', 'kept');
      await tokens.put(kept);
      await tokens.deleteForStream('nobody');
      expect(await tokens.find(kept.hash)).toEqual(kept);
    });
  });
}
