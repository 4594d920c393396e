import * as z from 'zod';
import { loadConfig, name, withPointStore } from '../commons/config';

export const SilenceConfig = withPointStore(
  z.object({
    TABLE_NAME: name,
    ALERT_STATE_MACHINE_ARN: name,
  }),
);
export const silenceConfig = (env: Record<string, string | undefined>) => loadConfig(SilenceConfig, env);
