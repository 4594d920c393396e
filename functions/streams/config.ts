import * as z from 'zod';
import { loadConfig, name, ticketSystems } from '../commons/config';

export const StreamsConfig = z.object({
  TABLE_NAME: name,
  /** `false` lets webhook and ticket actions use plain http:// URLs; https is required unless set. */
  ALERT_ACTIONS_REQUIRE_HTTPS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** The named ticket systems (only their names are used here: a ticket action's `system` must be one). */
  TICKET_SYSTEMS: ticketSystems,
  /** The SES identity alert emails are sent from; email actions may name recipients only when it is set. */
  EMAIL_FROM: z.string().min(1).optional(),
  /** The WebSocket API of live subscriptions (`wss://…/live`): `GET …/live` over plain HTTP names it. */
  LIVE_WEBSOCKET_URL: z.url().optional(),
  /** The ingest queue, whose approximate depth the status shows (`processing.queueLength`); absent from it unless set. */
  INGEST_QUEUE_URL: z.url().optional(),
});
export const streamsConfig = (env: Record<string, string | undefined>) => loadConfig(StreamsConfig, env);
