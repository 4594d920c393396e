import type { Context } from 'aws-lambda';
import { BadRequestError, StreamNotFoundError, UnauthenticatedError } from '../../shared/domain/errors';
import { SecretUnavailableError } from '../../shared/domain/pull-errors';
import { WEBHOOK_SECRET_REF } from '../../shared/domain/stream-sections';
import type { Stream } from '../../shared/domain/stream-definition';
import type { IdempotencyStore, SecretSource, StreamRegistry, TokenStore } from '../../shared/ports';
import { hashToken, sameHash } from '../../shared/tokens';
import { allows, bearerToken } from '../commons/auth';
import { bodyText, header, pathId, type HttpEvent, type HttpResult, type Logger } from '../commons/http';
import { bodyFingerprint } from './idempotency-key';
import { unsigned, verifySignature } from './webhook-auth';

export interface WebhookDeps {
  registry: StreamRegistry;
  /** Where the streams' ingest tokens are looked up (the gateway lets these routes through unauthenticated). */
  tokens?: TokenStore;
  /** Where a stream's `webhook.secret` (`${secret:NAME}`) is read. */
  secrets?: SecretSource;
  /** Remembers the Standard Webhooks delivery ids already stored, for as long as it keeps keys (24 h). */
  idempotency: IdempotencyStore;
  log: Logger;
  /** What `POST …/data` does with the body once the caller is known (given the stream read here). */
  accept(event: HttpEvent, stream: Stream): Promise<HttpResult>;
}

/** The routes' suffixes: one event, or an array of them. */
export const WEBHOOK_PATH = '/webhook';
export const WEBHOOK_BATCH_PATH = '/webhook/batch';

/**
 * `POST /v1/streams/{id}/webhook` (one event) and `…/webhook/batch` (an array): the URLs a webhook sender is
 * given. API Gateway lets them through without its authorizer (it never sees the body a signature covers);
 * this checks, before anything is parsed, either a bearer token with the stream's `ingest:` scope or a
 * signature of the stream's `webhook.secret` over the raw body (`webhook-auth.ts`). A Standard Webhooks
 * delivery is stored once per `webhook-id`: the same delivery again is refused with 401, while a retry of a
 * delivery that failed (a 503, a refused record) runs again. Every failed check answers the same 401, so an
 * unauthenticated caller learns nothing, not even whether the stream exists.
 *
 * @example
 * const webhook = makeWebhookIngest({ registry, tokens, secrets, idempotency, log, accept });
 * await webhook(event, context); // 202 { accepted: 1 }
 */
export function makeWebhookIngest(deps: WebhookDeps) {
  async function tokenAllows(authorization: string, streamId: string): Promise<boolean> {
    const token = bearerToken(authorization);
    if (!token || !deps.tokens) return false;
    const hash = hashToken(token);
    const found = await deps.tokens.find(hash);
    return found !== undefined && sameHash(found.hash, hash) && allows(found.scopes, `ingest:${streamId}`);
  }

  async function secretOf(name: string, streamId: string): Promise<string | undefined> {
    try {
      return (await deps.secrets?.get([name]))?.[name];
    } catch (err) {
      if (!(err instanceof SecretUnavailableError)) throw err;
      // the stream's operator has to fix it; the sender only learns that the signature does not hold
      deps.log.error('webhook secret unavailable', { streamId, secretName: name, reason: err.message });
      return undefined;
    }
  }

  return async function webhook(event: HttpEvent, context: Context): Promise<HttpResult> {
    const id = pathId(event);
    const stream = await deps.registry.get(id);
    // a file (multipart) is bytes: its signature covers them as sent, never a UTF-8 reading of them
    const multipart = /^multipart\/form-data\b/i.test(header(event, 'content-type') ?? '');
    const raw: string | Buffer = multipart ? Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8') : bodyText(event);
    const authorization = header(event, 'authorization');
    let deliveryId: string | undefined;
    let found: Stream;
    if (authorization !== undefined) {
      if (!(await tokenAllows(authorization, id))) throw unsigned();
      if (!stream) throw new StreamNotFoundError(id);
      found = stream;
    } else {
      const name = stream?.webhook ? WEBHOOK_SECRET_REF.exec(stream.webhook.secret)?.[1] : undefined;
      const secret = name === undefined ? undefined : await secretOf(name, id);
      if (!stream || secret === undefined) throw unsigned();
      found = stream;
      const proof = verifySignature(secret, raw, {
        'webhook-id': header(event, 'webhook-id'),
        'webhook-timestamp': header(event, 'webhook-timestamp'),
        'webhook-signature': header(event, 'webhook-signature'),
        'x-signature': header(event, 'x-signature'),
        'x-hub-signature-256': header(event, 'x-hub-signature-256'),
      });
      if (proof.scheme === 'standard-webhooks') deliveryId = proof.deliveryId;
    }
    const batch = event.routeKey.endsWith(WEBHOOK_BATCH_PATH);
    if (multipart && !batch) throw new BadRequestError(`A file goes to the batch URL, /v1/streams/${id}${WEBHOOK_BATCH_PATH}, as the document's multipart file events do.`);
    const first = typeof raw === 'string' ? raw.trimStart()[0] : '[';
    if (batch && first !== '[') throw new BadRequestError(`The batch URL takes a JSON array of events; send a single event to /v1/streams/${id}${WEBHOOK_PATH}.`);
    if (!batch && first === '[') throw new BadRequestError(`The event URL takes one JSON object; send arrays to /v1/streams/${id}${WEBHOOK_BATCH_PATH}.`);
    if (deliveryId === undefined) return deps.accept(event, found);
    const holdMs = Math.max(1_000, context.getRemainingTimeInMillis());
    const outcome = await deps.idempotency.once({ scope: `webhook:${id}`, key: deliveryId, fingerprint: bodyFingerprint(event) }, () => deps.accept(event, found), { holdMs });
    if (outcome.replayed) throw new UnauthenticatedError(`The delivery webhook-id '${deliveryId.slice(0, 64)}' was stored already; a replayed delivery is refused.`);
    return outcome.value;
  };
}
