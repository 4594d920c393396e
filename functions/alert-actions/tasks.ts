import type { Alert } from '../../shared/domain/alert-evaluation';
import { EmailRefusedError } from '../../shared/domain/errors';
import { streamOfAlert } from '../../shared/domain/alert-id';
import type { AlertAction } from '../../shared/domain/alert-rules';
import { parseJsonTemplate, renderJsonTemplate, renderTemplate, renderTopicTemplate, TemplateError, templateKind } from '../../shared/domain/alert-template';
import type { TargetPolicy } from '../../shared/domain/pull-source';
import type { ActionResult, AlertEmailSender, AlertPublisher, AlertStore, Clock, SecretSource, SigningSecretStore } from '../../shared/ports';
import { noMeter, type Meter } from '../commons/meter';
import { addressKind, postChecked, type GuardErrors } from '../commons/guarded-target';
import { signWebhook, webhookId } from './signing';
import { slackMessage } from './slack';

/** An action that will fail the same way however often it is retried (a 4xx, no signing secret); the ASL does not retry it. */
export class ActionPermanentError extends Error {
  override readonly name = 'ActionPermanentError';
}

/** An action that failed this time (a 5xx, a timeout, a broker down); the ASL retries it with backoff. */
export class ActionFailedError extends Error {
  override readonly name = 'ActionFailedError';
}

export interface AlertTaskDeps {
  alerts: AlertStore;
  secrets: SigningSecretStore;
  email: AlertEmailSender;
  mqtt: AlertPublisher;
  clock: Clock;
  /** Counts AlertActionsSucceeded and AlertActionsFailed per stream, once each action's outcome is final. */
  meter?: Meter;
  /** Per webhook request, resolving the host included; 10 s unless given. */
  webhookTimeoutMs?: number;
  /**
   * Which addresses webhooks and tickets may reach besides public ones. Link-local (the metadata service),
   * unspecified and reserved addresses never; loopback and private ones only where the runtime says so
   * (the local runtime allows loopback). Nothing unless given.
   */
  targets?: TargetPolicy;
  /** How much of a webhook's answer is read (then dropped); 64 KiB unless given. */
  maxResponseBytes?: number;
  /** Where each named ticket system (`ticket {system}`) takes new tickets; none unless given. */
  ticketSystems?: Readonly<Record<string, string>>;
  /** Where a Slack action's `secret` is read (Secrets Manager `tributary/alert/NAME` in AWS); such actions fail for good without it. */
  slackSecrets?: SecretSource;
  /** Whether a Slack webhook URL must be https (true in AWS); a stored rule or secret with http:// then fails for good. */
  requireHttps?: boolean;
}

/** How a refused or unresolvable webhook host fails its action: refused for good, DNS retried. */
const ACTION_GUARD_ERRORS: GuardErrors = {
  forbidden: (host, address) =>
    new ActionPermanentError(`refused to POST to ${host}: it resolves to ${addressKind(address)}; alert actions may not reach loopback, link-local (metadata), private or reserved addresses`),
  unresolvable: (message, cause) => new ActionFailedError(message, { cause }),
};
const NO_INTERNAL_TARGETS: TargetPolicy = { allowPrivate: false, allowLoopback: false };

/** The input of the `RunAction` task: one action of one alert. */
export interface RunActionInput {
  task: 'run-action';
  alert: Alert;
  index: number;
  action: AlertAction;
}

/** The input of the `RecordOutcomes` task: the Map's results, one per action. */
export interface RecordOutcomesInput {
  task: 'record-outcomes';
  alertId: string;
  results: { index: number; status: 'succeeded' | 'failed'; error?: unknown }[];
}

export type AlertTaskInput = RunActionInput | RecordOutcomesInput;

/**
 * The two tasks of the alert state machine, the same code in the Lambda and in the local runtime:
 * `runAction` performs one action and counts the attempt on the alert (throwing lets the ASL retry or catch
 * it); `recordOutcomes` writes each action's final status.
 *
 * @example
 * const tasks = makeAlertTasks({ alerts, secrets: alerts, email, mqtt, clock: systemClock });
 * await tasks.runAction({ task: 'run-action', alert, index: 0, action: { type: 'webhook', url } });
 */
export function makeAlertTasks(deps: AlertTaskDeps) {
  const { alerts, clock } = deps;
  const timeoutMs = deps.webhookTimeoutMs ?? 10_000;
  const policy = deps.targets ?? NO_INTERNAL_TARGETS;
  const maxResponseBytes = deps.maxResponseBytes ?? 65_536;

  async function runAction(input: RunActionInput): Promise<ActionResult> {
    const { alert, index, action } = input;
    try {
      await perform(action, alert, index);
    } catch (err) {
      await alerts.recordAttempt(alert.id, index, clock.now(), (err as Error).message);
      throw err;
    }
    await alerts.recordAttempt(alert.id, index, clock.now());
    return { index, status: 'succeeded' };
  }

  async function recordOutcomes(input: RecordOutcomesInput): Promise<{ alertId: string; results: ActionResult[] }> {
    const results = input.results.map((r) => ({ index: r.index, status: r.status, ...(r.status === 'failed' && { error: errorText(r.error) }) }));
    await alerts.recordOutcomes(input.alertId, results, clock.now());
    const streamId = streamOfAlert(input.alertId);
    for (const r of results) (deps.meter ?? noMeter).count(r.status === 'failed' ? 'AlertActionsFailed' : 'AlertActionsSucceeded', 1, streamId);
    return { alertId: input.alertId, results };
  }

  async function perform(action: AlertAction, alert: Alert, index: number): Promise<void> {
    const context = templateContext(alert);
    switch (action.type) {
      case 'webhook':
        return post(action.url, alert, index, action.body === undefined ? JSON.stringify(alertPayload(alert)) : jsonBody('webhook body', action.body, context));
      case 'ticket':
        return post(ticketUrl(action), alert, index, JSON.stringify(ticketBody(alert, action, context)));
      case 'email':
        try {
          return await deps.email.send({
            subject: renderTemplate(action.subject ?? '[{{alert.severity}}] {{alert.rule}} on {{stream.id}}', context).slice(0, 100),
            message: action.message === undefined ? defaultMessage(alert) : renderTemplate(action.message, context),
            ...(action.to && { to: action.to }),
          });
        } catch (err) {
          if (err instanceof EmailRefusedError) throw new ActionPermanentError(err.message, { cause: err });
          throw err;
        }
      case 'slack':
        return postSlack(await slackUrl(action), JSON.stringify(slackMessage(alert, action.text === undefined ? undefined : renderTemplate(action.text, context))));
      case 'mqtt_publish': {
        const topic = alertTopic(alert.streamId, renderTopicTemplate(action.topic ?? 'alerts', context));
        const payload = action.payload === undefined ? JSON.stringify(alertPayload(alert)) : mqttPayload(action.payload, context);
        try {
          return await deps.mqtt.publish(topic, payload);
        } catch (err) {
          throw new ActionFailedError(`MQTT publish to ${topic} failed: ${(err as Error).message}`, { cause: err });
        }
      }
    }
  }

  /** A Slack action's webhook URL: its own, or its secret's value, read when the action runs (a rotated secret applies at once). */
  async function slackUrl(action: Extract<AlertAction, { type: 'slack' }>): Promise<URL> {
    let url = action.webhookUrl;
    if (url === undefined) {
      if (!deps.slackSecrets) throw new ActionPermanentError(`This deployment reads no secrets for Slack actions; give the action a webhookUrl.`);
      try {
        url = (await deps.slackSecrets.get([action.secret!]))[action.secret!];
      } catch (err) {
        throw new ActionFailedError(`The Slack webhook secret '${action.secret}' could not be read: ${(err as Error).message}`, { cause: err });
      }
    }
    let target: URL;
    try {
      target = actionUrl(url ?? '');
    } catch {
      throw new ActionPermanentError('The Slack webhook URL is not an http or https URL.');
    }
    if (deps.requireHttps && target.protocol !== 'https:') throw new ActionPermanentError('The Slack webhook URL must be https in this deployment.');
    return target;
  }

  /** POSTs a Slack message. The URL is the credential: errors and logs name its origin only. Slack answers 200 `ok`. */
  async function postSlack(target: URL, body: string): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    let status: number;
    try {
      ({ status } = await postChecked({ url: target, headers: { 'content-type': 'application/json', 'user-agent': 'Tributary-Alerts/1' }, body, policy, errors: ACTION_GUARD_ERRORS, signal, maxResponseBytes }));
    } catch (err) {
      if (err instanceof ActionPermanentError || err instanceof ActionFailedError) throw err;
      if (signal.aborted) throw new ActionFailedError(`POST ${target.origin} (Slack) gave no answer within ${timeoutMs} ms`, { cause: err });
      throw new ActionFailedError(`POST ${target.origin} (Slack) failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).name}`, { cause: err });
    }
    if (status >= 200 && status < 300) return;
    throw statusError(target.origin, status);
  }

  /** A ticket's URL: its own, or its system's as the deployment configures it now. */
  function ticketUrl(action: Extract<AlertAction, { type: 'ticket' }>): string {
    if (action.url !== undefined) return action.url;
    const url = action.system !== undefined && Object.hasOwn(deps.ticketSystems ?? {}, action.system) ? deps.ticketSystems![action.system] : undefined;
    if (url === undefined) throw new ActionPermanentError(`Ticket system '${action.system}' is not configured in this deployment; add it to the settings or give the action a url.`);
    return url;
  }

  /** POSTs a signed body; `webhook-id` comes from the alert and action, so every retry of this action carries the same. */
  async function post(url: string, alert: Alert, index: number, body: string): Promise<void> {
    const target = actionUrl(url);
    const now = clock.now();
    const secrets = await deps.secrets.getSigningSecrets(alert.streamId, now);
    if (secrets.length === 0) throw new ActionPermanentError(`Stream '${alert.streamId}' has no signing secret; patch its alerts to create one.`);
    const signature = signWebhook({ id: webhookId(alert.id, index), timestamp: Math.floor(now / 1000), body, secrets });
    const signal = AbortSignal.timeout(timeoutMs);
    let status: number;
    try {
      ({ status } = await postChecked({
        url: target,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Tributary-Alerts/1',
          ...signature,
          'x-tributary-alert-id': alert.id,
        },
        body,
        policy,
        errors: ACTION_GUARD_ERRORS,
        signal,
        maxResponseBytes,
      }));
    } catch (err) {
      if (err instanceof ActionPermanentError || err instanceof ActionFailedError) throw err;
      if (signal.aborted) throw new ActionFailedError(`POST ${target.origin} gave no answer within ${timeoutMs} ms`, { cause: err });
      throw new ActionFailedError(`POST ${target.origin} failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).name}`, { cause: err });
    }
    if (status >= 200 && status < 300) return;
    throw statusError(target.origin, status);
  }

  return { runAction, recordOutcomes };
}

/**
 * The MQTT topic of an action: always under `tributary/{streamId}/devices/`, the tree the stream's devices
 * may subscribe to (and the only one the action's IAM allows in AWS).
 *
 * @example
 * alertTopic('freezers', 'f1/alerts'); // 'tributary/freezers/devices/f1/alerts'
 */
export function alertTopic(streamId: string, relative: string): string {
  const clean = relative.replace(/[#+\u0000]/g, '_').replace(/^\/+/, '') || 'alerts';
  return `tributary/${streamId}/devices/${clean}`;
}

/**
 * What a webhook receives unless the action gives a body template.
 *
 * @example
 * JSON.stringify(alertPayload(alert)); // '{"type":"tributary.alert","alert":{"id":"freezers.…",…}}'
 */
export function alertPayload(alert: Alert): { type: 'tributary.alert'; alert: Omit<Alert, 'actions' | 'acknowledged'> } {
  const { actions: _actions, acknowledged: _ack, ...rest } = alert;
  return { type: 'tributary.alert', alert: rest };
}

/**
 * A JSON template rendered to a value and serialized once: record content becomes leaves, never keys or
 * nesting. A stored template that is not JSON (rules saved before templates were checked) fails for good.
 */
function jsonBody(what: string, template: string, context: Record<string, unknown>): string {
  try {
    return JSON.stringify(renderJsonTemplate(parseJsonTemplate(template), context));
  } catch (err) {
    if (err instanceof TemplateError) throw new ActionPermanentError(`The ${what} template ${err.message}; fix the rule.`, { cause: err });
    throw err;
  }
}

/** An MQTT payload: a JSON template when it starts as JSON does (`templateKind`), else text. */
function mqttPayload(template: string, context: Record<string, unknown>): string {
  return templateKind(template) === 'text' ? renderTemplate(template, context) : jsonBody('MQTT payload', template, context);
}

function templateContext(alert: Alert): Record<string, unknown> {
  const { actions: _actions, data, ...rest } = alert;
  return { alert: rest, data: data ?? {}, dimensions: alert.dimensions, stream: { id: alert.streamId } };
}

function ticketBody(alert: Alert, action: Extract<AlertAction, { type: 'ticket' }>, context: Record<string, unknown>) {
  return {
    title: renderTemplate(action.title ?? '[{{alert.severity}}] {{alert.rule}} on {{stream.id}} {{alert.series}}', context),
    description: action.description === undefined ? defaultMessage(alert) : renderTemplate(action.description, context),
    severity: alert.severity,
    ...(action.priority !== undefined && { priority: action.priority }),
    ...(action.assignee !== undefined && { assignee: action.assignee }),
    ...(action.system !== undefined && { system: action.system }),
    labels: ['tributary', `severity:${alert.severity}`, `stream:${alert.streamId}`],
    externalId: alert.id,
    source: 'tributary',
    alert: alertPayload(alert).alert,
  };
}

function defaultMessage(alert: Alert): string {
  const value = alert.value === null ? '' : ` value ${JSON.stringify(alert.value)}`;
  return `Alert '${alert.rule}' (${alert.severity}) fired on stream ${alert.streamId}, series ${alert.series}, at ${alert.time}:${value}. Alert id ${alert.id}.`;
}

/** The URL of a webhook or ticket action; one that is not http(s) fails for good (rules are checked on save too). */
function actionUrl(url: string): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') throw new ActionPermanentError('The action URL is not an http or https URL.');
  return parsed;
}

/**
 * A non-2xx answer: a 4xx other than 408/429 and a redirect (webhooks do not follow redirects, so one cannot
 * lead to an address the guard would refuse) fail for good, the rest is retried. Only the origin goes into
 * the message: a URL's path or query may hold a token.
 */
function statusError(origin: string, status: number): Error {
  if (status >= 300 && status < 400) return new ActionPermanentError(`POST ${origin} answered HTTP ${status}, a redirect; alert actions do not follow redirects: give the final URL`);
  const message = `POST ${origin} answered HTTP ${status}`;
  return status >= 400 && status < 500 && status !== 408 && status !== 429 ? new ActionPermanentError(message) : new ActionFailedError(message);
}

/** Step Functions catches `{Error, Cause}`; a Lambda's Cause is JSON with `errorMessage`. */
function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  const e = error as { Error?: unknown; Cause?: unknown } | undefined;
  if (typeof e?.Cause === 'string') {
    try {
      const parsed = JSON.parse(e.Cause) as { errorMessage?: unknown };
      if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
    } catch {
      return e.Cause;
    }
    return e.Cause;
  }
  return typeof e?.Error === 'string' ? e.Error : 'failed';
}
