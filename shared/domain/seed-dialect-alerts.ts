import { FIELD_NAME } from './stream-definition';

/**
 * The documents' alert shapes translated to canonical alert rules (`alert-rules.ts`):
 *
 * - `processing.alerting: {field: {condition, threshold | value | min/max | baseline, severity}}` with the conditions
 *   `greater_than`, `less_than`, `greater_than_or_equal`, `less_than_or_equal`, `equals`, `not_equals` and
 *   `outside_range`; one rule per field, named `<field> <condition>`;
 * - a rule's `condition` text is its `when` (`temperature > 30`); a comparison of two fields
 *   (`equipmentHours > maintenanceThreshold`) becomes a JSONata expression over the record.
 *
 * @example
 * translateAlerting({ co2: { threshold: 1000, condition: 'greater_than' } }, ['processing', 'alerting'], report);
 * // [{ rule: { name: 'co2 greater_than', when: { field: 'co2', op: '>', value: 1000 } }, written: ['processing', 'alerting', 'co2'] }]
 */

type Path = (string | number)[];
type Obj = Record<string, unknown>;
type Report = (path: Path, message: string) => void;
/** Records that the canonical path `canonical` was written by the client at `written`. */
type Rename = (canonical: Path, written: Path) => void;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Document condition → canonical comparison. */
export const CONDITIONS: Readonly<Record<string, string>> = {
  greater_than: '>',
  less_than: '<',
  greater_than_or_equal: '>=',
  less_than_or_equal: '<=',
  equals: '==',
  not_equals: '!=',
};
const ENTRY_KEYS = new Set(['condition', 'threshold', 'value', 'min', 'max', 'baseline', 'severity', 'cooldown', 'actions']);
/** `historical_average`, optionally times, plus or minus a number: `historical_average * 1.2`, `1.2 * historical_average`, `historical_average + 5`. */
const BASELINE_TEXT = /^\s*(?:(-?\d+(?:\.\d+)?)\s*\*\s*)?historical_average\s*(?:([*+-])\s*(\d+(?:\.\d+)?))?\s*$/;
const FIELD_COMPARISON = /^\s*([A-Za-z_]\w*)\s*(>=|<=|==|!=|>|<)\s*([A-Za-z_]\w*)\s*$/;

/**
 * Rules for `processing.alerting`, each with the path it was written at.
 *
 * @example
 * translateAlerting({ temperature: { min: 18, max: 28, condition: 'outside_range' } }, at, report)[0].rule.when;
 * // { field: 'temperature', outside: [18, 28] }
 */
export function translateAlerting(alerting: unknown, at: Path, issue: Report): { rule: Obj; written: Path }[] {
  if (!isObj(alerting)) {
    issue(at, 'must be an object of field → { condition, threshold | value | min, max }');
    return [];
  }
  const out: { rule: Obj; written: Path }[] = [];
  for (const [field, entry] of Object.entries(alerting)) {
    const here = [...at, field];
    if (!isObj(entry)) {
      issue(here, 'must be an object such as { condition: "greater_than", threshold: 1000 }');
      continue;
    }
    for (const key of Object.keys(entry)) if (!ENTRY_KEYS.has(key)) issue([...here, key], `is not an alerting key Tributary knows (${[...ENTRY_KEYS].join(', ')})`);
    const condition = entry.condition ?? (entry.min !== undefined || entry.max !== undefined ? 'outside_range' : undefined);
    const when = conditionFor(field, condition, entry, here, issue);
    if (!when) continue;
    out.push({
      rule: {
        name: `${field} ${String(condition)}`.slice(0, 64),
        ...(entry.severity !== undefined && { severity: entry.severity }),
        ...(entry.cooldown !== undefined && { cooldown: entry.cooldown }),
        when,
        ...(entry.actions !== undefined && { actions: translateActions(entry.actions, [...here, 'actions'], issue) }),
      },
      written: here,
    });
  }
  return out;
}

function conditionFor(field: string, condition: unknown, entry: Obj, at: Path, issue: Report): unknown {
  if (condition === 'outside_range') {
    if (entry.min === undefined || entry.max === undefined) {
      issue(at, 'outside_range needs min and max');
      return undefined;
    }
    return { field, outside: [entry.min, entry.max] };
  }
  const op = typeof condition === 'string' && Object.hasOwn(CONDITIONS, condition) ? CONDITIONS[condition]! : undefined;
  if (!op) {
    issue([...at, 'condition'], `must be one of ${[...Object.keys(CONDITIONS), 'outside_range'].join(', ')}`);
    return undefined;
  }
  if (entry.baseline !== undefined) {
    if (entry.threshold !== undefined || entry.value !== undefined) issue([...at, 'baseline'], 'give a baseline or a threshold, not both');
    const baseline = typeof entry.baseline === 'string' ? baselineOf(entry.baseline) : undefined;
    if (!baseline) {
      issue([...at, 'baseline'], 'must read "historical_average", "historical_average * 1.2", "1.2 * historical_average" or "historical_average + 5" (the mean of the field over the 7 days before the batch)');
      return undefined;
    }
    return { field, op, baseline };
  }
  const value = entry.threshold ?? entry.value;
  if (value === undefined) {
    issue(at, `${String(condition)} needs a threshold or a value`);
    return undefined;
  }
  if (typeof value === 'number') return { field, op, value };
  if ((op === '==' || op === '!=') && (typeof value === 'string' || typeof value === 'boolean') && FIELD_NAME.test(field)) {
    // JSON text is a JSONata literal too: the value cannot change the expression's structure
    return { expression: `\`${field}\` ${op === '==' ? '=' : '!='} ${JSON.stringify(value)}` };
  }
  issue([...at, entry.threshold === undefined ? 'value' : 'threshold'], `${String(condition)} compares with a number${op === '==' || op === '!=' ? ', a string or a boolean' : ''}`);
  return undefined;
}

/** The canonical baseline of `historical_average [* k | + k | - k]` or `k * historical_average`. */
function baselineOf(text: string): { factor: number; offset: number } | undefined {
  const m = BASELINE_TEXT.exec(text);
  if (!m) return undefined;
  if (m[1] !== undefined && m[2] !== undefined) return undefined;
  const k = m[3] === undefined ? undefined : Number(m[3]);
  return {
    factor: m[1] !== undefined ? Number(m[1]) : m[2] === '*' ? k! : 1,
    offset: m[2] === '+' ? k! : m[2] === '-' ? -k! : 0,
  };
}

/**
 * Alert rules as the documents write them (`condition` for `when`), translated; canonical rules pass unchanged.
 *
 * @example
 * translateRules([{ name: 'hot', condition: 'temperature > 30' }], ['alerts'], report); // [{ name: 'hot', when: 'temperature > 30' }]
 */
export function translateRules(rules: unknown[], at: Path, issue: Report, rename: Rename = () => {}): unknown[] {
  return rules.map((rule, i) => {
    if (!isObj(rule)) return rule;
    const out: Obj = { ...rule };
    if ('condition' in rule) {
      if ('when' in rule) issue([...at, i, 'condition'], 'give condition or when, not both');
      delete out.condition;
      out.when = conditionText(rule.condition);
    }
    if (Array.isArray(rule.actions)) {
      out.actions = translateActions(rule.actions, [...at, i, 'actions'], issue);
      rule.actions.forEach((action, j) => {
        if (isObj(action) && action.type === 'email' && 'recipients' in action) rename(['alerts', i, 'actions', j, 'to'], [...at, i, 'actions', j, 'recipients']);
      });
    }
    return out;
  });
}

/** `a > b` over two fields becomes an expression; other text stays for the canonical parser. */
function conditionText(condition: unknown): unknown {
  if (typeof condition !== 'string') return condition;
  const m = FIELD_COMPARISON.exec(condition);
  if (!m) return condition;
  const op = m[2] === '==' ? '=' : m[2]!;
  return { expression: `\`${m[1]}\` ${op} \`${m[3]}\`` };
}

/**
 * The documents' action shapes as canonical actions:
 *
 * - `email {recipients, template, data}` → `email {to, subject, message}`: the subject names the template, the
 *   message lists `data` (placeholders such as `{{data.temperature}}` rendered);
 * - `webhook {url, payload}` → `webhook {url, body}`, the payload as JSON text (without placeholders: a value
 *   put into JSON text must not change its structure);
 * - `create_ticket {url | system, priority, assignee}` → `ticket {url | system, priority, assignee}`: a
 *   `system` is one the deployment names in its settings, with the URL that takes its tickets.
 */
function translateActions(actions: unknown, at: Path, issue: Report): unknown {
  if (!Array.isArray(actions)) return actions;
  return actions.map((action, i) => (isObj(action) ? translateAction(action, [...at, i], issue) : action));
}

const EMAIL_KEYS = new Set(['type', 'recipients', 'template', 'data']);
const TICKET_KEYS = new Set(['type', 'url', 'system', 'priority', 'assignee']);

function translateAction(action: Obj, at: Path, issue: Report): unknown {
  if (action.type === 'email' && ('template' in action || 'data' in action || 'recipients' in action)) {
    for (const key of Object.keys(action)) if (!EMAIL_KEYS.has(key)) issue([...at, key], `is not a key of an email action (${[...EMAIL_KEYS].join(', ')})`);
    const data = isObj(action.data) ? action.data : {};
    if (action.data !== undefined && !isObj(action.data)) issue([...at, 'data'], 'must be an object of label → text (placeholders such as {{data.temperature}} allowed)');
    const lines = Object.entries(data).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    return {
      type: 'email',
      ...(action.recipients !== undefined && { to: action.recipients }),
      subject: `[{{alert.severity}}] {{alert.rule}}${typeof action.template === 'string' ? ` (${action.template})` : ''}`.slice(0, 100),
      message: ["Alert '{{alert.rule}}' ({{alert.severity}}) on stream {{stream.id}} at {{alert.time}}", ...lines].join('\n'),
    };
  }
  if (action.type === 'webhook' && 'payload' in action) {
    const { payload, ...rest } = action;
    if ('body' in action) issue([...at, 'payload'], 'give payload or body, not both');
    const text = JSON.stringify(payload ?? null);
    if (text.includes('{{')) issue([...at, 'payload'], 'placeholders in a payload are not supported (a value put into JSON text could change its structure); the default body carries the alert and the record');
    return { ...rest, body: text };
  }
  if (action.type === 'create_ticket') {
    for (const key of Object.keys(action)) if (!TICKET_KEYS.has(key)) issue([...at, key], `is not a key of a create_ticket action (${[...TICKET_KEYS].join(', ')})`);
    const { type: _type, ...rest } = action;
    return { type: 'ticket', ...rest };
  }
  return action;
}
