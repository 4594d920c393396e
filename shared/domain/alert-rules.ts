import jsonata from 'jsonata';
import * as z from 'zod';
import { jsonTemplateProblem, templateKind } from './alert-template';
import { COMPARISONS, durationUpTo, FieldRef, finite, WINDOW_AGGREGATES, type Comparison, type WindowAggregate } from './alert-condition-parts';
import { parseDuration } from './durations';
import {
  historySpanProblem,
  MadConditionSchema,
  parseWindowConditionText,
  SeasonalSchema,
  SessionConditionSchema,
  WindowSchema,
  type MadCondition,
  type SessionCondition,
} from './alert-window-conditions';
import { TICKET_SYSTEM_NAME } from './stream-names';
import { HealthConditionSchema, parseHealthConditionText, type HealthCondition } from './alert-health-conditions';

/**
 * Alert rules as a stream carries them (`alerts: [...]` on the stream definition), and the legacy
 * `alertThresholds: {field: {min, max}}` shorthand mapped onto them.
 *
 * A condition is written as a string or as the object it stands for (the stored form is always the object):
 *
 * | string | object |
 * |---|---|
 * | `temperature > -15` (`<`, `>=`, `<=`, `==`, `!=`) | `{field, op, value}` |
 * | `temperature outside_range [-25, -15]` | `{field, outside: [min, max]}` |
 * | `avg(temperature) over 5m > 30` (`avg`, `min`, `max`, `count`) | `{field, op, value, window: {agg, over}}` |
 * | `no data for 10m` (checked on a schedule, not on ingest) | `{noDataFor}` |
 * | `error_rate > 5%`, `processing_lag > 30s`, `data_freshness > 10m` (on the schedule) | see `alert-health-conditions.ts` |
 * | sliding, session, robust (`mad`), seasonal and ratio forms | see `alert-window-conditions.ts` |
 * | (objects only) a JSONata expression over the record, true = breach | `{expression}` |
 *
 * @example
 * const rules = AlertRulesSchema.parse([
 *   { name: 'freezer warm', severity: 'critical', when: 'temperature > -15', cooldown: '10m',
 *     actions: [{ type: 'webhook', url: 'https://ops.example.com/hooks/tributary' }] },
 * ]);
 */

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export { COMPARISONS, WINDOW_AGGREGATES, type Comparison, type WindowAggregate } from './alert-condition-parts';

/** At most this many rules per stream and actions per rule. */
export const MAX_RULES = 50;
export const MAX_ACTIONS = 10;
/** Windows and silences span at most a day; cooldowns at most a week. */
const MAX_WINDOW_MS = 86_400_000;
const MAX_COOLDOWN_MS = 7 * 86_400_000;
export const DEFAULT_COOLDOWN = '5m';

export { parseDuration } from './durations';

const ThresholdSchema = z.strictObject({ field: FieldRef, op: z.enum(COMPARISONS), value: finite, window: WindowSchema.optional() });
const RangeSchema = z.strictObject({
  field: FieldRef,
  outside: z.tuple([finite, finite]).refine(([min, max]) => min <= max, 'min must not exceed max'),
  window: WindowSchema.optional(),
});
/** A baseline's history spans at most 30 days; 7 unless given. */
const MAX_BASELINE_MS = 30 * 86_400_000;
export const DEFAULT_BASELINE_OVER = '7d';
/**
 * A threshold made from the field's own history: `factor × avg(field) + offset` over the `over` before the
 * batch, per series (the documents' `baseline: "historical_average * 1.2"`). A series without history has
 * no baseline yet and does not fire.
 */
const BaselineSchema = z.strictObject({
  agg: z.literal('avg').default('avg'),
  over: durationUpTo(MAX_BASELINE_MS).default(DEFAULT_BASELINE_OVER),
  factor: finite.default(1),
  offset: finite.default(0),
  seasonal: SeasonalSchema.optional(),
});
/** With a `window`, the window's aggregate is compared instead of each point (`avg(x) over 1h > 1.2 * avg(x) over 7d`). */
const BaselineThresholdSchema = z.strictObject({ field: FieldRef, op: z.enum(COMPARISONS), window: WindowSchema.optional(), baseline: BaselineSchema });
export const DEFAULT_ZSCORE_OVER = '1h';
/**
 * An anomaly: a point whose absolute z-score against its series' history (mean and sample standard deviation
 * over the `over` before the batch) passes `value`, `zscore(field) over 1h > 3`. A series with fewer than two
 * points of history, or with no spread in them, has no z-score yet and does not fire.
 */
const ZScoreSchema = z.strictObject({
  field: FieldRef,
  op: z.literal('>'),
  value: finite.refine((v) => v > 0, 'must be above 0 (a number of standard deviations)'),
  zscore: z.strictObject({ over: durationUpTo(MAX_BASELINE_MS).default(DEFAULT_ZSCORE_OVER), seasonal: SeasonalSchema.optional() }),
});
const ExpressionSchema = z.strictObject({ expression: z.string().min(1).max(2048) });
const SilenceSchema = z.strictObject({ noDataFor: durationUpTo(MAX_WINDOW_MS) });

const ConditionObject = z.union([ThresholdSchema, RangeSchema, BaselineThresholdSchema, ZScoreSchema, MadConditionSchema, SessionConditionSchema, ExpressionSchema, SilenceSchema, HealthConditionSchema]);
export type Condition = z.output<typeof ConditionObject>;
export type ThresholdCondition = z.output<typeof ThresholdSchema>;
export type BaselineCondition = z.output<typeof BaselineThresholdSchema>;
export type ZScoreCondition = z.output<typeof ZScoreSchema>;
export type RangeCondition = z.output<typeof RangeSchema>;
export type ExpressionCondition = z.output<typeof ExpressionSchema>;
export type SilenceCondition = z.output<typeof SilenceSchema>;
export type { MadCondition, SessionCondition } from './alert-window-conditions';
export type { HealthCondition };

const NUM = '(-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?)';
const SUBJECT = `(?:(avg|min|max|count)\\(\\s*(\\w+)\\s*\\)\\s+over\\s+(\\d+[smhd])|(\\w+))`;
const THRESHOLD_TEXT = new RegExp(`^\\s*${SUBJECT}\\s*(>=|<=|==|!=|>|<)\\s*${NUM}\\s*$`);
const RANGE_TEXT = new RegExp(`^\\s*${SUBJECT}\\s+outside(?:_range)?\\s*\\[\\s*${NUM}\\s*,\\s*${NUM}\\s*\\]\\s*$`);
const SILENCE_TEXT = /^\s*no\s+data\s+for\s+(\d+[smhd])\s*$/i;
const ZSCORE_TEXT = new RegExp(`^\\s*zscore\\(\\s*(\\w+)\\s*\\)\\s+over\\s+(\\d+[smhd])\\s*>\\s*${NUM}\\s*$`);

/**
 * The object a condition string stands for, or `undefined` if the text is not one of the forms.
 *
 * @example
 * parseConditionText('avg(temperature) over 5m > 30');
 * // { field: 'temperature', op: '>', value: 30, window: { agg: 'avg', over: '5m' } }
 */
export function parseConditionText(text: string): Condition | undefined {
  const silence = SILENCE_TEXT.exec(text);
  if (silence) return { noDataFor: silence[1]! };
  const health = parseHealthConditionText(text);
  if (health) return health;
  const z = ZSCORE_TEXT.exec(text);
  if (z) return { field: z[1]!, op: '>', value: Number(z[3]), zscore: { over: z[2]! } };
  const subject = (m: RegExpExecArray) => ({
    field: (m[4] ?? m[2])!,
    ...(m[1] && { window: { agg: m[1] as WindowAggregate, over: m[3]! } }),
  });
  const t = THRESHOLD_TEXT.exec(text);
  if (t) return { ...subject(t), op: t[5] as Comparison, value: Number(t[6]) };
  const r = RANGE_TEXT.exec(text);
  if (r) return { ...subject(r), outside: [Number(r[5]), Number(r[6])] };
  return parseWindowConditionText(text);
}

const ConditionSchema = z.union([
  z.string().transform((text, ctx) => {
    const parsed = parseConditionText(text);
    if (!parsed) {
      ctx.addIssue({
        code: 'custom',
        message:
          "must read 'field > value' (< >= <= == !=), 'field outside_range [min, max]', 'avg(field) over 5m > value', 'avg(field) over 5m sliding 1m > value', 'count() over session 10m > value', 'zscore(field) over 1h > 3', 'mad(field) over 1h > 3.5', 'zscore(field) over same hour of 7d > 3', 'field > 1.2 * avg(field) over 7d', 'avg(field) over 1h > 1.2 * avg(field) over 7d', 'no data for 10m', 'error_rate > 5%', 'processing_lag > 30s' or 'data_freshness > 10m'",
      });
      return z.NEVER;
    }
    // the text's object is then held to the object forms' checks (a slide dividing its window, a positive z)
    const input: z.input<typeof ConditionObject> = parsed;
    return input;
  }).pipe(ConditionObject),
  ConditionObject,
]);

const Template = z.string().max(4096);
const HttpUrl = z.string().max(2048).refine(isHttpUrl, 'must be an http or https URL');

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && /^https?:\/\//i.test(text);
  } catch {
    return false;
  }
}
/** Topics are relative to `tributary/{streamId}/devices/`, the tree a stream's devices may subscribe to. */
const RelativeTopic = z
  .string()
  .min(1)
  .max(200)
  .refine((t) => !/[#+]/.test(t) && !t.startsWith('/') && !t.includes('//'), 'must be a topic path without wildcards (it goes under tributary/{streamId}/devices/)');

/** A webhook body is sent as JSON: its template must be JSON (values fill leaves; see alert-template.ts). */
const JsonBodyTemplate = Template.superRefine((t, ctx) => {
  const problem = jsonTemplateProblem(t);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
/** An MQTT payload is text, or JSON when it starts as JSON does; then it must be a JSON template. */
const PayloadTemplate = Template.superRefine((t, ctx) => {
  const problem = templateKind(t) === 'json' ? jsonTemplateProblem(t) : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem} (a payload starting with { [ or " is sent as JSON)` });
});

const WebhookAction = z.strictObject({ type: z.literal('webhook'), url: HttpUrl, body: JsonBodyTemplate.optional() });
/**
 * A ticket goes to `url`, or to the URL the deployment configures for `system` (looked up when the action
 * runs, so moving the ticket system needs no rule edit): exactly one of the two.
 */
const TicketAction = z
  .strictObject({
    type: z.literal('ticket'),
    url: HttpUrl.optional(),
    system: z.string().regex(TICKET_SYSTEM_NAME, 'must be 1-64 of a-z 0-9 _ starting with a letter (a ticket system named in the settings)').optional(),
    title: Template.optional(),
    description: Template.optional(),
    priority: z.string().min(1).max(64).optional(),
    assignee: z.string().min(1).max(128).optional(),
  })
  .refine((a) => (a.url === undefined) !== (a.system === undefined), { message: 'give url (where the ticket system takes new tickets) or system (one the deployment names), not both', path: ['url'] });
/** At most this many addresses per email action. */
export const MAX_EMAIL_RECIPIENTS = 50;
/**
 * An email goes to `to` when given (SES in AWS, SMTP on one machine), else to the deployment's alert
 * subscribers (the SNS topic in AWS; `TRIBUTARY_ALERT_EMAIL_TO` on one machine).
 */
const EmailAction = z.strictObject({
  type: z.literal('email'),
  to: z.array(z.email().max(254)).min(1).max(MAX_EMAIL_RECIPIENTS).optional(),
  subject: z.string().max(100).optional(),
  message: Template.optional(),
});
/** A secret's name (`[A-Za-z0-9_]`, 1-64): Secrets Manager's `tributary/alert/NAME` in AWS, `TRIBUTARY_SECRET_NAME` or the data dir's secrets.json on one machine. */
const SecretName = z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'must be a secret name: 1-64 of A-Z a-z 0-9 _');
/**
 * A Slack incoming webhook: its URL (a credential: never shown to non-admins, never logged) or the name of
 * the secret that holds it, exactly one. `text` is a template of the message (a default names the rule,
 * severity, stream, series, value and time).
 */
const SlackAction = z
  .strictObject({ type: z.literal('slack'), webhookUrl: HttpUrl.optional(), secret: SecretName.optional(), text: Template.optional() })
  .refine((a) => (a.webhookUrl === undefined) !== (a.secret === undefined), { message: 'give webhookUrl (the Slack incoming webhook) or secret (the name of a secret that holds it), not both', path: ['webhookUrl'] });
const MqttAction = z.strictObject({ type: z.literal('mqtt_publish'), topic: RelativeTopic.optional(), payload: PayloadTemplate.optional() });

export const AlertActionSchema = z.discriminatedUnion('type', [WebhookAction, TicketAction, EmailAction, MqttAction, SlackAction]);
export type AlertAction = z.output<typeof AlertActionSchema>;
export type AlertActionType = AlertAction['type'];

const RuleName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/, 'must be 1-64 of letters, digits, space _ . : - and start with a letter or digit');

export const AlertRuleSchema = z.strictObject({
  name: RuleName,
  severity: z.enum(SEVERITIES).default('warning'),
  when: ConditionSchema,
  cooldown: durationUpTo(MAX_COOLDOWN_MS).default(DEFAULT_COOLDOWN),
  actions: z.array(AlertActionSchema).max(MAX_ACTIONS).default([]),
});
export type AlertRule = z.output<typeof AlertRuleSchema>;
export type AlertRuleInput = z.input<typeof AlertRuleSchema>;

export const AlertRulesSchema = z.array(AlertRuleSchema).max(MAX_RULES);

/** The legacy shorthand: `{temperature: {min: -25, max: -15}}`. */
export const AlertThresholdsSchema = z.record(
  z.string().min(1).max(60),
  z
    .strictObject({ min: finite.optional(), max: finite.optional() })
    .refine((t) => t.min !== undefined || t.max !== undefined, 'give min, max or both')
    .refine((t) => t.min === undefined || t.max === undefined || t.min <= t.max, 'min must not exceed max'),
);
export type AlertThresholds = z.output<typeof AlertThresholdsSchema>;

/**
 * Maps the legacy `alertThresholds` onto rules: both bounds become `outside_range`, one bound a threshold.
 * Each rule is named `<field> out of range`, severity `warning`, the default cooldown and no actions.
 *
 * @example
 * legacyThresholdRules({ temperature: { max: -15 } });
 * // [{ name: 'temperature out of range', severity: 'warning', when: { field: 'temperature', op: '>', value: -15 }, cooldown: '5m', actions: [] }]
 */
export function legacyThresholdRules(thresholds: AlertThresholds): AlertRule[] {
  return Object.entries(thresholds).map(([field, { min, max }]) => {
    const when: Condition =
      min !== undefined && max !== undefined
        ? { field, outside: [min, max] }
        : min !== undefined
          ? { field, op: '<', value: min }
          : { field, op: '>', value: max! };
    return { name: `${field} out of range`, severity: 'warning', when, cooldown: DEFAULT_COOLDOWN, actions: [] };
  });
}

/**
 * Which kind a condition is.
 *
 * @example
 * conditionKind({ noDataFor: '10m' }); // 'silence'
 */
export function conditionKind(c: Condition): 'threshold' | 'outside_range' | 'baseline' | 'zscore' | 'mad' | 'session' | 'expression' | 'silence' | 'health' {
  if ('noDataFor' in c) return 'silence';
  if ('health' in c) return 'health';
  if ('mad' in c) return 'mad';
  if ('session' in c) return 'session';
  if ('expression' in c) return 'expression';
  if ('baseline' in c) return 'baseline';
  if ('zscore' in c) return 'zscore';
  return 'outside' in c ? 'outside_range' : 'threshold';
}

/**
 * The condition's window in ms, if it has one.
 *
 * @example
 * windowMs({ field: 't', op: '>', value: 30, window: { agg: 'avg', over: '5m' } }); // 300000
 */
export function windowMs(c: Condition): number | undefined {
  return 'window' in c && c.window ? parseDuration(c.window.over) : undefined;
}

/**
 * The rules whose threshold comes from history (`baseline`).
 *
 * @example
 * baselineRules(stream.alerts ?? []); // the rules the evaluator reads a baseline for
 */
export function baselineRules(rules: readonly AlertRule[]): (AlertRule & { when: BaselineCondition })[] {
  return rules.filter((r): r is AlertRule & { when: BaselineCondition } => 'baseline' in r.when);
}

/**
 * The rules that flag anomalies by z-score (`zscore`).
 *
 * @example
 * zscoreRules(stream.alerts ?? []); // the rules the evaluator reads a mean and spread for
 */
export function zscoreRules(rules: readonly AlertRule[]): (AlertRule & { when: ZScoreCondition })[] {
  return rules.filter((r): r is AlertRule & { when: ZScoreCondition } => 'zscore' in r.when);
}

/**
 * The rules that flag anomalies by robust z-score (`mad`).
 *
 * @example
 * madRules(stream.alerts ?? []); // the rules the evaluator reads raw history for
 */
export function madRules(rules: readonly AlertRule[]): (AlertRule & { when: MadCondition })[] {
  return rules.filter((r): r is AlertRule & { when: MadCondition } => 'mad' in r.when);
}

/**
 * The rules over session windows.
 *
 * @example
 * sessionRules(stream.alerts ?? []); // the rules the evaluator reads each series' current session for
 */
export function sessionRules(rules: readonly AlertRule[]): (AlertRule & { when: SessionCondition })[] {
  return rules.filter((r): r is AlertRule & { when: SessionCondition } => 'session' in r.when);
}

/** What the checks need of a schema: each field's type (a `Stream['schema']` fits). */
export type SchemaTypes = Record<string, { type: string }>;

type IssueSink = (path: (string | number)[], message: string) => void;

/**
 * Checks rules against a schema: names unique, fields in the schema (numeric for thresholds, ranges and
 * windows other than `count`), expressions that compile. Reports each problem with its path.
 *
 * @example
 * checkAlertRules(rules, stream.schema, ['alerts'], (path, message) => ctx.addIssue({ code: 'custom', path, message }));
 */
export function checkAlertRules(rules: readonly AlertRule[], schema: SchemaTypes, base: (string | number)[], report: IssueSink): void {
  const names = new Set<string>();
  rules.forEach((rule, i) => {
    const at = [...base, i];
    if (names.has(rule.name)) report([...at, 'name'], `a rule named '${rule.name}' is listed twice`);
    names.add(rule.name);
    checkCondition(rule.when, schema, [...at, 'when'], report);
  });
}

function checkCondition(c: Condition, schema: SchemaTypes, at: (string | number)[], report: IssueSink): void {
  if ('expression' in c) {
    try {
      jsonata(c.expression);
    } catch (err) {
      report([...at, 'expression'], `is not a valid JSONata expression: ${(err as Error).message}`);
    }
    return;
  }
  const history = 'zscore' in c ? c.zscore : 'mad' in c ? c.mad : 'baseline' in c ? c.baseline : undefined;
  const spanProblem = history && historySpanProblem(history, 'mad' in c);
  if (spanProblem) report([...at, 'zscore' in c ? 'zscore' : 'mad' in c ? 'mad' : 'baseline', 'over'], spanProblem);
  if (!('field' in c) || c.field === undefined) return;
  // own fields only: `constructor` or `toString` must not find Object.prototype's
  const spec = Object.hasOwn(schema, c.field) ? schema[c.field] : undefined;
  if (!spec) {
    report([...at, 'field'], `'${c.field}' is not a field of the schema`);
    return;
  }
  const numeric = spec.type === 'number' || spec.type === 'integer';
  const counting = ('window' in c && c.window?.agg === 'count') || ('session' in c && c.session.agg === 'count');
  if (!numeric && !counting) report([...at, 'field'], `'${c.field}' is ${spec.type}; a threshold, range or window needs a number or integer field`);
}

/** What the runtime demands of actions beyond their shape. */
export interface ActionPolicy {
  /** In AWS (the default there): plain `http://` is refused, so a body and its signature never cross a network unencrypted. */
  requireHttps: boolean;
  /** The ticket systems the deployment names; a ticket action's `system` must be one of them. */
  ticketSystems: readonly string[];
  /** Whether an email action may name its recipients (`to`): in AWS only with an SES sender (`alerts.emailFrom`). */
  emailRecipients: boolean;
}

/**
 * Checks the rules' actions against the runtime's policy: webhook and ticket URLs, ticket systems, email
 * recipients, reporting each under `[...base, rule, 'actions', action, key]`.
 *
 * @example
 * checkActions(input.alerts ?? [], { requireHttps: true, ticketSystems: [], emailRecipients: false }, ['alerts'], (path, message) => issues.push({ path, message }));
 * // path ['alerts', 0, 'actions', 0, 'url'] for an http:// webhook
 */
export function checkActions(rules: readonly AlertRule[], policy: ActionPolicy, base: (string | number)[], report: IssueSink): void {
  rules.forEach((rule, i) =>
    rule.actions.forEach((action, j) => {
      const at = [...base, i, 'actions', j];
      if (policy.requireHttps && (action.type === 'webhook' || action.type === 'ticket') && action.url !== undefined && !/^https:\/\//i.test(action.url)) {
        report([...at, 'url'], 'must be an https URL: this deployment does not send alerts over plain http');
      }
      if (policy.requireHttps && action.type === 'slack' && action.webhookUrl !== undefined && !/^https:\/\//i.test(action.webhookUrl)) {
        report([...at, 'webhookUrl'], 'must be an https URL: this deployment does not send alerts over plain http');
      }
      if (action.type === 'ticket' && action.system !== undefined && !policy.ticketSystems.includes(action.system)) {
        const known = policy.ticketSystems.length ? `it names ${policy.ticketSystems.join(', ')}` : 'it names none';
        report([...at, 'system'], `'${action.system}' is not a ticket system of this deployment (${known}): add it to the settings (alerts.ticketSystems in AWS, TRIBUTARY_TICKET_SYSTEM_<NAME> on one machine) or give url`);
      }
      if (action.type === 'email' && action.to !== undefined && !policy.emailRecipients) {
        report([...at, 'to'], "this deployment sends email only to its alert subscribers (the SNS topic): set alerts.emailFrom (an SES identity) to send to recipients, or remove to");
      }
    }),
  );
}

/** Checks the legacy shorthand's fields, reporting under `alertThresholds.<field>`. */
export function checkAlertThresholds(thresholds: AlertThresholds, schema: SchemaTypes, report: IssueSink): void {
  for (const field of Object.keys(thresholds)) {
    const spec = Object.hasOwn(schema, field) ? schema[field] : undefined;
    if (!spec) report(['alertThresholds', field], `'${field}' is not a field of the schema`);
    else if (spec.type !== 'number' && spec.type !== 'integer') report(['alertThresholds', field], `'${field}' is ${spec.type}; thresholds need a number or integer field`);
  }
}

/**
 * A stream's rules with the legacy shorthand folded in; a legacy rule whose name is taken by an explicit
 * rule is dropped (the explicit one wins).
 *
 * @example
 * const all = mergeRules(input.alerts, input.alertThresholds);
 */
export function mergeRules(rules: readonly AlertRule[] | undefined, thresholds: AlertThresholds | undefined): AlertRule[] {
  const explicit = [...(rules ?? [])];
  const taken = new Set(explicit.map((r) => r.name));
  return [...explicit, ...legacyThresholdRules(thresholds ?? {}).filter((r) => !taken.has(r.name))];
}

/**
 * The rules as a reader without the admin scope sees them: webhook, ticket and Slack URLs cut to their origin, since
 * a path or query often is the credential (`https://hooks.example.com/services/T0/B0/XXXX`).
 *
 * @example
 * withActionTargetsHidden([{ …, actions: [{ type: 'webhook', url: 'https://hooks.example.com/T0/B0/XXXX' }] }])
 * // actions: [{ type: 'webhook', url: 'https://hooks.example.com/…' }]
 */
export function withActionTargetsHidden(rules: readonly AlertRule[]): AlertRule[] {
  return rules.map((rule) => ({
    ...rule,
    actions: rule.actions.map((action) =>
      action.type === 'slack' && action.webhookUrl !== undefined
        ? { ...action, webhookUrl: `${new URL(action.webhookUrl).origin}/…` }
        : 'url' in action && action.url !== undefined
          ? { ...action, url: `${new URL(action.url).origin}/…` }
          : action,
    ),
  }));
}

