/**
 * The live subscription's routes (README, "Live subscriptions"): `GET …/live` is a WebSocket or Server-Sent
 * Events, `POST …/live-ticket` a single-use ticket that opens one. Kept apart from the handlers so the
 * authorizers and the local gateway name them without bundling the ticket issuer.
 *
 * @example
 * await decide(authorization, LIVE_ROUTE_KEY, streamId);
 */
export const LIVE_PATH = '/v1/streams/{id}/live';
export const LIVE_ROUTE_KEY = `GET ${LIVE_PATH}`;
export const LIVE_TICKET_PATH = '/v1/streams/{id}/live-ticket';
