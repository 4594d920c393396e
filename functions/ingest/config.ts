import * as z from 'zod';
import { DEFAULT_IDEMPOTENCY_WINDOW_SECONDS } from '../../shared/aws/dynamodb-idempotency-table';
import { loadConfig, name } from '../commons/config';

export const IngestConfig = z.object({
  TABLE_NAME: name,
  QUEUE_URL: z.url(),
  /** Where `Idempotency-Key`s are kept (a table of its own, with TTL on `expiration`). */
  IDEMPOTENCY_TABLE_NAME: name,
  /** How long a key's answer is replayed: 1 minute to 7 days, 24 hours by default. */
  IDEMPOTENCY_WINDOW_SECONDS: z.coerce.number().int().min(60).max(7 * 86_400).default(DEFAULT_IDEMPOTENCY_WINDOW_SECONDS),
  /** Where the streams' webhook secrets (`${secret:NAME}`) live in Secrets Manager: `<prefix><NAME>`. */
  SECRET_PREFIX: name,
  /** Where file events' parts go (the events bucket, under parts/). */
  EVENTS_BUCKET: name,
});
export const ingestConfig = (env: Record<string, string | undefined>) => loadConfig(IngestConfig, env);
