import middy from '@middy/core';
import { randomBytes } from 'node:crypto';
import { checkActions, withActionTargetsHidden, type ActionPolicy } from '../../shared/domain/alert-rules';
import { BadRequestError, StreamConflictError, StreamNotFoundError, type Issue } from '../../shared/domain/errors';
import { parseDefinition, parseDefinitionPatch, writtenPathOf } from '../../shared/domain/seed-dialect';
import { parseProcessor } from '../../shared/domain/processor-dialect';
import { applyPatch, newStream, TAG_KEY, type Stream } from '../../shared/domain/stream-definition';
import { parseTagQuery } from '../../shared/domain/stream-tags';
import { tagFilters } from '../commons/tag-filters';
import { findUnsafeJson } from '../../shared/domain/json-safety';
import { currentFailures } from '../../shared/domain/alert-evaluation';
import { VaultIdSchema } from '../../shared/domain/stream-sections';
import { hashPassword } from '../../shared/passwords';
import { checkScript } from '../commons/js-sandbox';
import { asPublished, createAnswer, statusAliases, webhookUrls } from './answers';
import { makeTagRoutes } from './tags';
import { makeEnsure } from './ensure';
import { makeDeleteStreams } from './delete-streams';
import { makeLiveRoutes } from './live';
import { makeDerivedStreams } from './derived';
import { windowOf, windowStream } from '../../shared/domain/window-streams';
import { makeBackprocessRoute, type Backprocessor } from './backprocess';
import type { AlertStore, Clock, DeviceClaims, DeviceDirectory, LiveTicketStore, PointEraser, PullStateStore, QueueDepthReader, Scope, SigningSecretStore, StreamRegistry, TokenStore } from '../../shared/ports';
import { healthStatus } from './health';
import { streamProto } from '../../shared/domain/stream-proto';
import { pullStatus } from '../pull/status';
import { newSigningSecret } from '../alert-actions/signing';
import { hashToken, newToken } from '../../shared/tokens';
import { callerScopes, requireScope, requiredScope } from '../commons/auth';
import { MAX_BODY_BYTES, parseJsonBody, requireJson } from '../commons/body';
import { decodedBodyText } from '../commons/formats/decode-records';
import { header, pathId, problemErrors, type HttpEvent, type HttpResult, type Logger } from '../commons/http';
import { jsonResponse } from '../commons/problem';
import { findRoute } from '../commons/routes';
import { OPENAPI_PATH, openApiDocument } from '../commons/openapi';

export interface StreamsDeps {
  registry: StreamRegistry;
  tokens: TokenStore;
  clock: Clock;
  log: Logger;
  /** Where webhook signing secrets live; a stream with alert rules gets one, returned once as `alertSigningSecret`. */
  signingSecrets?: SigningSecretStore;
  /** Pull state, for the `pull` section of a pull stream's status. */
  pullState?: Pick<PullStateStore, 'get'>;
  /** Failed alert rules, for the `alerts` section of the status of a stream with rules. */
  ruleFailures?: Pick<AlertStore, 'listRuleFailures'>;
  /** What actions must be beyond their shape: https URLs in AWS (`ALERT_ACTIONS_REQUIRE_HTTPS`), known ticket systems, recipients only with a sender; nothing more unless given. */
  actions?: ActionPolicy;
  /** The scheme of the ingest URL the create answer gives: `https` (API Gateway) unless told (the local runtime's `http`). */
  scheme?: 'https' | 'http';
  /** Who holds each MQTT username and device topic: a stream's device claims its own before the stream is written. */
  devices?: DeviceDirectory;
  /** Where a deleted stream's points go (`PointEraser`): DuckDB erases them, Timestream keeps them until retention. */
  points?: PointEraser;
  /**
   * Recomputes derived streams from their sources' history (the writer's deriver): a new derived stream is filled
   * when it is created (unless `deriveBackprocess: false`), and `POST /v1/streams/backprocess` runs it on request.
   * Without it, a derived stream only gets the points of records appended after it was created.
   */
  backprocess?: Backprocessor;
  /** Whether this deployment holds subscriptions to other brokers (`subscription.ts`): the local runtime does, AWS does not. */
  subscriptions?: boolean;
  /** Live tickets (`POST …/live-ticket`): single-use, 60 s, kept hashed. */
  liveTickets?: LiveTicketStore;
  /** The WebSocket API's URL in AWS, named by `GET …/live` reached over plain HTTP. */
  websocketUrl?: string;
  /** The ingest queue's depth, for the status's `processing.queueLength` (absent from it unless given). */
  queueDepth?: QueueDepthReader;
}

/** Why AWS refuses a stream that subscribes to another broker. */
export const SUBSCRIPTIONS_UNAVAILABLE =
  'this deployment cannot subscribe to another broker (a Lambda function holds no connection): bridge that broker to AWS IoT Core and publish to the stream\'s topic, as the README shows, or run the local runtime beside the broker';

/** The MQTT username and topic a stream's device holds. */
const claimsOf = (stream: Stream | undefined): DeviceClaims => ({
  ...(stream?.device?.credentials && { username: stream.device.credentials.username }),
  ...(stream?.device?.topic !== undefined && { topic: stream.device.topic }),
});

/** The claims of `a` that `b` does not hold. */
const claimsNotIn = (a: DeviceClaims, b: DeviceClaims): DeviceClaims => ({
  ...(a.username !== undefined && a.username !== b.username && { username: a.username }),
  ...(a.topic !== undefined && a.topic !== b.topic && { topic: a.topic }),
});

const suffix = () => randomBytes(4).readUInt32BE(0).toString(36).padStart(6, '0').slice(-6);

/**
 * Stream management: create (returning the ingest token once), list, get, patch, delete, pause, resume,
 * status and new tokens.
 *
 * @example
 * export const handler = makeStreamsHandler({ registry, tokens, clock: systemClock, log: jsonLogger });
 */
export function makeStreamsHandler(deps: StreamsDeps) {
  const { registry, tokens, clock } = deps;

  async function load(id: string): Promise<Stream> {
    const stream = await registry.get(id);
    if (!stream) throw new StreamNotFoundError(id);
    return stream;
  }

  const tagRoutes = makeTagRoutes({ registry, clock, load });
  const derived = makeDerivedStreams({ registry, clock });

  async function mint(streamId: string, scopes: Scope[], label?: string): Promise<string> {
    const token = newToken();
    await tokens.put({ hash: hashToken(token), scopes, streamId, createdAt: new Date(clock.now()).toISOString(), ...(label && { label }) });
    return token;
  }

  /** The JSON body, its `Content-Encoding` (gzip, deflate, br) undone under the size limit first. */
  async function body(event: HttpEvent): Promise<unknown> {
    requireJson(header(event, 'content-type'));
    return parseJsonBody(await decodedBodyText(event, MAX_BODY_BYTES));
  }

  /** The body's alert rules against `actions`: a 400 listing each refused action key with its path. */
  function checkUrls<T extends { alerts?: Stream['alerts']; subscription?: Stream['subscription'] }>(input: T, raw: unknown, what: string, current?: Stream): T {
    const issues: Issue[] = [];
    if (deps.actions && input.alerts) checkActions(input.alerts, deps.actions, ['alerts'], (path, message) => issues.push({ path: writtenPathOf(raw, path, current), message }));
    if (input.subscription !== undefined && deps.subscriptions !== true) {
      // the documents write it as the source
      const written = (raw as { subscription?: unknown } | null)?.subscription !== undefined ? 'subscription' : 'source';
      issues.push({ path: [written], message: SUBSCRIPTIONS_UNAVAILABLE });
    }
    if (issues.length > 0) throw new BadRequestError(`Invalid ${what}.`, issues);
    return input;
  }

  /** A JavaScript transform is compiled in the sandbox before it is stored: a 400 at the path the client wrote it. */
  async function checkScriptOf<T extends { source?: Stream['source']; pipeline?: Stream['pipeline'] }>(input: T, raw: unknown, what: string): Promise<T> {
    const written = (raw as { processing?: { transform?: unknown } } | null)?.processing?.transform !== undefined;
    const scripts: { script: string; path: (string | number)[] }[] = [];
    if (input.source?.script !== undefined) scripts.push({ script: input.source.script, path: written ? ['processing', 'transform'] : ['source', 'script'] });
    input.pipeline?.forEach((stage, i) => {
      if (stage.type === 'transform' && 'script' in stage.config) {
        const fromTransform = written && stage.name === 'transform' && !input.source;
        scripts.push({ script: stage.config.script, path: fromTransform ? ['processing', 'transform'] : ['pipeline', i, 'config', 'script'] });
      }
    });
    const issues = [];
    for (const { script, path } of scripts) {
      const problem = await checkScript(script);
      if (problem !== undefined) issues.push({ path, message: problem });
    }
    if (issues.length) throw new BadRequestError(`Invalid ${what}.`, issues);
    return input;
  }

  /** `{alertSigningSecret}` the first time a stream has alert rules, else nothing: the secret is shown once. */
  async function signingSecretFor(stream: Stream): Promise<{ alertSigningSecret?: string }> {
    if (!deps.signingSecrets || !stream.alerts?.length) return {};
    const created = await deps.signingSecrets.ensureSigningSecret(stream.id, newSigningSecret());
    return created ? { alertSigningSecret: created } : {};
  }

  /** Admins see the whole definition; a read token sees alert action targets only up to their origin. No one sees a password hash. */
  function asSeenBy(event: HttpEvent, stream: Stream): Stream {
    const published = asPublished(stream);
    if (callerScopes(event)?.includes('admin') || !published.alerts) return published;
    return { ...published, alerts: withActionTargetsHidden(published.alerts) };
  }

  /** The stream with its device password (if the body gave one) as a hash. */
  async function withPasswordHash(stream: Stream, credentials: { username: string; password: string } | undefined): Promise<Stream> {
    if (!credentials || !stream.device) return stream;
    return { ...stream, device: { ...stream.device, credentials: { username: credentials.username, passwordHash: await hashPassword(credentials.password) } } };
  }

  /**
   * Claims the device's new username and topic for `stream.id`, runs `write`, and releases them if it fails.
   * A claim another stream holds is a 409 at the path the client wrote it (`source.…` in the documents' dialect).
   */
  async function withClaims(stream: Stream, claims: DeviceClaims, raw: unknown, write: () => Promise<void>): Promise<void> {
    if (!deps.devices || (claims.username === undefined && claims.topic === undefined)) return write();
    const conflict = await deps.devices.claim(stream.id, claims);
    if (conflict) {
      const section = (raw as { device?: unknown } | null)?.device !== undefined ? 'device' : 'source';
      const path = conflict.taken === 'username' ? [section, 'credentials', 'username'] : [section, 'topic'];
      const what = conflict.taken === 'username' ? `MQTT username '${claims.username}'` : `topic '${claims.topic}'`;
      throw new StreamConflictError(`The ${what} belongs to stream '${conflict.heldBy}'.`, { issues: [{ path, message: `is taken by stream '${conflict.heldBy}'` }] });
    }
    try {
      await write();
    } catch (err) {
      await deps.devices.release(stream.id, claims).catch(() => {}); // a claim left behind goes stale: another stream can take it over
      throw err;
    }
  }

  /**
   * Deletes the stream (its registry tombstone makes it unreadable at once), its tokens, its device's claims,
   * then its points. A stream deleted already is a 404, but its points are erased again: a delete that
   * stopped half-way is finished by its retry.
   */
  async function deleteStream(id: string, withSource = false): Promise<'erased' | 'retained' | undefined> {
    const gone = await registry.get(id);
    if (gone && windowOf(gone) && !withSource) {
      throw new StreamConflictError(`Stream '${id}' is a window of stream '${gone.deriveFrom![0]!.stream}': it is deleted with its source.`);
    }
    // a source's window streams go first, then it has no dependents of its own making
    for (const w of gone?.windows ?? []) {
      const ws = await registry.get(w.streamId);
      if (ws && windowOf(ws) && ws.deriveFrom?.[0]?.stream === id) await deleteStream(w.streamId, true);
    }
    if (gone) await derived.checkDeletable((await registry.get(id)) ?? gone);
    try {
      await registry.delete(id);
    } catch (err) {
      if (err instanceof StreamNotFoundError) await deps.points?.eraseStream(id);
      throw err;
    }
    await tokens.deleteForStream(id);
    if (gone && deps.devices) await deps.devices.release(id, claimsOf(gone));
    if (gone?.deriveFrom) await derived.unlink(gone);
    return deps.points?.eraseStream(id);
  }

  /** A definition parsed and checked as `POST /v1/streams` takes it, into the stream it creates. */
  async function prepare(raw: unknown): Promise<{ stream: Stream; idGiven: boolean }> {
    const input = await derived.resolve(await checkScriptOf(checkUrls(parseDefinition(raw), raw, 'stream definition'), raw, 'stream definition'));
    const stream = await withPasswordHash(newStream(input, new Date(clock.now()), suffix), input.device?.credentials);
    return { stream, idGiven: input.id !== undefined };
  }

  /** Stores a prepared stream and answers 201 with its ingest token, shown once. */
  async function create(event: HttpEvent, raw: unknown, given: Stream): Promise<HttpResult> {
    const windows = (given.windows ?? []).map((w) => windowStream(given, w, new Date(clock.now())));
    const stream: Stream = windows.length ? { ...given, derivedBy: windows.map((w) => w.id) } : given;
    for (const [i, w] of windows.entries()) {
      if (await registry.get(w.id)) {
        throw new StreamConflictError(`Stream '${w.id}', where window '${stream.windows![i]!.name}' would be written, exists already.`, { issues: [{ path: writtenPathOf(raw, ['windows', i, 'name']), message: `stream '${w.id}' exists: name the window otherwise` }] });
      }
    }
    if (stream.deriveFrom) await derived.link(stream);
    await withClaims(stream, claimsOf(stream), raw, () => registry.create(stream));
    // the source first: a window stream names it; a window left by a create that failed half-way is refused again as existing
    for (const w of windows) await registry.create(w);
    const ingestToken = await mint(stream.id, [`ingest:${stream.id}`], 'created with the stream');
    const base = `${deps.scheme ?? 'https'}://${event.requestContext.domainName}`;
    const filled = stream.deriveFrom && deps.backprocess && (raw as { deriveBackprocess?: unknown }).deriveBackprocess !== false ? await deps.backprocess.backprocess(stream) : undefined;
    return jsonResponse(201, { ...createAnswer(stream, base), ingestToken, ...(await signingSecretFor(stream)), ...(filled && { backprocessed: filled }) });
  }

  async function setState(id: string, state: Stream['state']): Promise<HttpResult> {
    const stream = await load(id);
    if (stream.state === state) return jsonResponse(200, asPublished(stream));
    const next = { ...stream, state, updatedAt: new Date(clock.now()).toISOString(), version: stream.version + 1 };
    await registry.update(next);
    return jsonResponse(200, asPublished(next));
  }

  const liveRoutes = makeLiveRoutes({ clock, ...(deps.liveTickets && { tickets: deps.liveTickets }), ...(deps.websocketUrl !== undefined && { websocketUrl: deps.websocketUrl }) });

  async function app(event: HttpEvent): Promise<HttpResult> {
    const route = findRoute(event.routeKey);
    if (!route) throw new BadRequestError(`No route ${event.routeKey}.`);
    if (route.path === OPENAPI_PATH) return { ...jsonResponse(200, openApiDocument()), headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' } };
    const id = route.path.includes('{id}') ? pathId(event) : undefined;
    requireScope(event, requiredScope(route, id));
    switch (route.path.replace('/v1/streams', '') || '/') {
      case '/':
        if (route.method === 'POST') {
          const raw = await body(event);
          return create(event, raw, (await prepare(raw)).stream);
        } else if (route.method === 'DELETE') {
          const params = event.queryStringParameters ?? {};
          return makeDeleteStreams({ registry, deleteStream, ownerOf: async (sid) => { const s = await registry.get(sid); return s && windowOf(s) ? s.deriveFrom?.[0]?.stream : undefined; } })({ tags: tagFilters(params), ...(params.tags !== undefined && { tagQuery: parseTagQuery(params.tags, ['tags']) }) });
        } else {
          const params = event.queryStringParameters ?? {};
          const tags = tagFilters(params);
          const tagQuery = params.tags === undefined ? undefined : parseTagQuery(params.tags, ['tags']);
          const limit = params.limit === undefined ? 100 : Number(params.limit);
          if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
            throw new BadRequestError('Invalid query parameters.', [{ path: ['limit'], message: 'must be an integer from 1 to 1000' }]);
          }
          const vault = params.vaultId === undefined ? undefined : VaultIdSchema.safeParse(params.vaultId);
          if (vault && !vault.success) throw new BadRequestError('Invalid query parameters.', [{ path: ['vaultId'], message: vault.error.issues[0]!.message }]);
          const page = await registry.list({ tags, limit, ...(tagQuery && { tagQuery }), ...(vault && { vaultId: vault.data }), ...(params.cursor && { cursor: params.cursor }) });
          return jsonResponse(200, { ...page, streams: page.streams.map(asPublished) });
        }
      case '/ensure': {
        const raw = await body(event);
        return makeEnsure({ registry, clock, prepare, create: (def, stream) => create(event, def, stream) })(raw);
      }
      case '/backprocess':
      {
        const params = event.queryStringParameters ?? {};
        return makeBackprocessRoute({ registry, ...(deps.backprocess && { backprocess: deps.backprocess }) })({
          tags: tagFilters(params),
          ...(params.tags !== undefined && { tagQuery: parseTagQuery(params.tags, ['tags']) }),
          ...(params.ids !== undefined && { ids: params.ids }),
        });
      }
      case '/{id}':
        if (route.method === 'GET') {
          const stream = await load(id!);
          return jsonResponse(200, { ...asSeenBy(event, stream), ...webhookUrls(stream, `${deps.scheme ?? 'https'}://${event.requestContext.domainName}`) });
        }
        if (route.method === 'DELETE') {
          await deleteStream(id!);
          return { statusCode: 204 };
        } else {
          const current = await load(id!);
          const raw = await body(event);
          const patch = await checkScriptOf(checkUrls(parseDefinitionPatch(raw, current), raw, 'stream patch', current), raw, 'stream patch');
          const next = await withPasswordHash(applyPatch(current, patch, new Date(clock.now())), patch.device?.credentials);
          await withClaims(next, claimsNotIn(claimsOf(next), claimsOf(current)), raw, () => registry.update(next));
          await deps.devices?.release(next.id, claimsNotIn(claimsOf(current), claimsOf(next)));
          return jsonResponse(200, { ...asPublished(next), ...(await signingSecretFor(next)) });
        }
      case '/{id}/schema.proto':
        return { statusCode: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: streamProto(await load(id!)) };
      case '/{id}/processor': {
        // the document's streams.setProcessor: its transformations and aggregations replace the stream's
        const current = await load(id!);
        const patch = parseProcessor(await body(event), current);
        await checkScriptOf(patch, {}, 'stream processor').catch((err: unknown) => {
          if (!(err instanceof BadRequestError)) throw err;
          throw new BadRequestError(err.message, err.issues.map((i) => (i.path[0] === 'pipeline' ? { ...i, path: ['transformations', i.path[1]!, 'function'] } : i)));
        });
        const next = applyPatch(current, { pipeline: patch.pipeline ?? current.pipeline ?? [], aggregations: patch.aggregations ?? current.aggregations ?? [] }, new Date(clock.now()));
        await registry.update(next);
        return jsonResponse(200, asPublished(next));
      }
      case '/{id}/tags':
        if (route.method === 'GET') return tagRoutes.get(id!);
        if (route.method === 'PATCH') return tagRoutes.update(id!, await body(event));
        return tagRoutes.remove(id!, event.queryStringParameters ?? {});
      case '/{id}/live':
        await load(id!);
        return liveRoutes.live(id!);
      case '/{id}/live-ticket':
        await load(id!);
        return liveRoutes.ticket(event, id!);
      case '/{id}/pause':
        return setState(id!, 'paused');
      case '/{id}/resume':
        return setState(id!, 'active');
      case '/{id}/status': {
        const stream = await load(id!);
        const now = clock.now();
        const [{ healthBuckets, ...stats }, queue] = await Promise.all([registry.getStats(id!, now), deps.queueDepth ? healthStatus.queue(deps.queueDepth, deps.log) : undefined]);
        const pull = stream.source && deps.pullState ? pullStatus({ source: stream.source, createdAt: stream.createdAt, updatedAt: stream.updatedAt }, await deps.pullState.get(stream.id)) : undefined;
        const failedRules = stream.alerts?.length && deps.ruleFailures ? currentFailures(stream, await deps.ruleFailures.listRuleFailures(stream.id)) : [];
        const health = healthStatus.of(stream, { ...stats, healthBuckets }, queue, now);
        return jsonResponse(200, { streamId: stream.id, state: stream.state, ...stats, ...statusAliases(stream, stats), ...health, ...(pull && { pull }), ...(failedRules.length > 0 && { alerts: { failedRules } }) });
      }
      case '/{id}/tokens': {
        await load(id!);
        const input = event.body ? await body(event) : {};
        if (typeof input !== 'object' || input === null || Array.isArray(input)) {
          throw new BadRequestError('Invalid token request.', [{ path: [], message: 'the body must be a JSON object such as {"scope":"read"}' }]);
        }
        const unsafe = findUnsafeJson(input);
        if (unsafe) throw new BadRequestError('Invalid token request.', [unsafe]);
        const scope = (input as { scope?: unknown }).scope ?? 'read';
        if (scope !== 'read' && scope !== 'ingest') {
          throw new BadRequestError('Invalid token request.', [{ path: ['scope'], message: "must be 'read' or 'ingest'" }]);
        }
        const label = (input as { label?: unknown }).label;
        const token = await mint(id!, [`${scope}:${id!}`], typeof label === 'string' ? label.slice(0, 128) : undefined);
        return jsonResponse(201, { streamId: id, scope: `${scope}:${id!}`, token });
      }
    }
    throw new BadRequestError(`No route ${event.routeKey}.`);
  }

  return middy<HttpEvent, HttpResult>().use(problemErrors(deps.log)).handler(app);
}
