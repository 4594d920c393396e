import * as z from 'zod';
import { loadConfig, name, withPointStore } from '../commons/config';

export const WriterConfig = withPointStore(z.object({
  TABLE_NAME: name,
  /** Where event streams' events are kept whole. */
  EVENTS_TABLE_NAME: name,
  /** Where archived events go cold (S3). */
  EVENTS_BUCKET: name,
  /** The stored rollups' bins (`DynamoDbRollupBins`). */
  ROLLUPS_TABLE_NAME: name,
  /** The asymmetric KMS key (ARN) each receipt's chain hash is signed with. */
  RECEIPT_KEY_ARN: name,
  WRITE_PARALLELISM: z.coerce.number().int().min(1).max(32).default(8),
  /** The alert state machine; alert rules are evaluated only when it is set. */
  ALERT_STATE_MACHINE_ARN: name.optional(),
  /** Live subscriptions: the connection table and the WebSocket stage's callback URL; no fan-out unless both are set. */
  LIVE_CONNECTIONS_TABLE: name.optional(),
  LIVE_CALLBACK_URL: z.url().optional(),
}));
export const writerConfig = (env: Record<string, string | undefined>) => loadConfig(WriterConfig, env);
