import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const StreamsConfig = z.object({
  TABLE_NAME: name,
  /** `false` lets webhook and ticket actions use plain http:// URLs; https is required unless set. */
  ALERT_ACTIONS_REQUIRE_HTTPS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
});
export const streamsConfig = (env: Record<string, string | undefined>) => loadConfig(StreamsConfig, env);
