import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import { type DynamoDBClient, localDynamoDbClient } from '../aws/dynamodb-local-client';

export { ensureTable } from '../aws/dynamodb-ensure-table';

const OptionsSchema = z.strictObject({
  path: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65_535).default(0),
  host: z.string().min(1).default('127.0.0.1'),
});

/**
 * Where dynalite keeps its data (`path`, a LevelDB directory; in memory without) and where it listens
 * (`port`, 0 for a free one; `host`, 127.0.0.1 unless told).
 *
 * @example
 * const options: DynaliteOptions = { path: join(dataDir, 'dynamodb'), port: 0 };
 */
export type DynaliteOptions = z.input<typeof OptionsSchema>;

/**
 * A running dynalite and a client bound to it.
 *
 * @example
 * const dynamo: DynaliteServer = await startDynalite();
 * await dynamo.close();
 */
export interface DynaliteServer {
  /** `http://host:port`. */
  endpoint: string;
  client: DynamoDBClient;
  /** Destroys the client, drops its connections and closes the LevelDB store (releasing its lock). */
  close(): Promise<void>;
}

/**
 * Starts dynalite, DynamoDB's API served over HTTP: on a LevelDB directory (`path`, durable) or in memory,
 * on `port` (0 picks a free one) of `host` (127.0.0.1 unless told). Table state changes are instant
 * (dynalite keeps a new table CREATING for 500 ms by default). Throws on an invalid option.
 *
 * @example
 * const dynamo = await startDynalite({ path: '.tributary/dynamodb' });
 * await ensureTable(dynamo.client, 'tributary');
 * const registry = new DynamoDbRegistry({ client: dynamo.client, tableName: 'tributary' });
 * await dynamo.close();
 */
export async function startDynalite(options: DynaliteOptions = {}): Promise<DynaliteServer> {
  const parsed = OptionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`Invalid dynalite options: ${z.prettifyError(parsed.error)}`);
  const { path, port, host } = parsed.data;
  const server = dynalite({ ...(path !== undefined && { path }), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const endpoint = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const client = localDynamoDbClient(endpoint);
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    client,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        client.destroy();
        server.close((err) => (err ? reject(err) : resolve()));
        // idle keep-alive sockets would hold close() open until they time out
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
