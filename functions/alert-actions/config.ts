import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const AlertActionsConfig = z.object({
  TABLE_NAME: name,
  /** SNS topic of `email` actions. */
  ALERT_TOPIC_ARN: name,
  /** The account's `iot:Data-ATS` endpoint (https://…); the SDK's regional default when absent. */
  IOT_DATA_ENDPOINT: z.url().optional(),
});
export const alertActionsConfig = (env: Record<string, string | undefined>) => loadConfig(AlertActionsConfig, env);
