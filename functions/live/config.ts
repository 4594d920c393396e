import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const LiveConfig = z.object({
  /** The streams (`$connect` checks the stream and reads its schema for the filter). */
  TABLE_NAME: name,
  /** The WebSocket connections, by stream and by id. */
  LIVE_CONNECTIONS_TABLE: name,
});
export const liveConfig = (env: Record<string, string | undefined>) => loadConfig(LiveConfig, env);
