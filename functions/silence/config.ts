import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const SilenceConfig = z.object({
  TABLE_NAME: name,
  TIMESTREAM_DATABASE: name,
  TIMESTREAM_TABLE: name,
  ALERT_STATE_MACHINE_ARN: name,
});
export const silenceConfig = (env: Record<string, string | undefined>) => loadConfig(SilenceConfig, env);
