import * as z from 'zod';
import { loadConfig, name, ticketSystems } from '../commons/config';

export const AlertActionsConfig = z.object({
  TABLE_NAME: name,
  /** SNS topic of `email` actions. */
  ALERT_TOPIC_ARN: name,
  /** The SES identity (an address, or an address at a verified domain) emails with recipients are sent from. */
  EMAIL_FROM: z.string().min(1).optional(),
  /** Where each named ticket system takes new tickets. */
  TICKET_SYSTEMS: ticketSystems,
  /** The account's `iot:Data-ATS` endpoint (https://…); the SDK's regional default when absent. */
  IOT_DATA_ENDPOINT: z.url().optional(),
  /** `false` lets Slack actions post to plain http:// URLs (as the streams function lets rules hold them); https is required unless set. */
  ALERT_ACTIONS_REQUIRE_HTTPS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
});
export const alertActionsConfig = (env: Record<string, string | undefined>) => loadConfig(AlertActionsConfig, env);
