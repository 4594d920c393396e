/**
 * Templates in alert actions. `{{path}}` names a value of the context by its dotted path (`data.temperature`,
 * `alert.rule`, `alert.severity`, `dimensions.deviceId`, `stream.id`); nothing else is evaluated.
 *
 * Two kinds, so that record content never changes the structure of what is sent:
 * - text templates (email subject and message, ticket title and description, a text MQTT payload):
 *   strings go in as they are, other values as JSON, a missing path as an empty string;
 * - JSON templates (a webhook body, a JSON MQTT payload): the template is parsed as JSON first and the body
 *   is built as a value and serialized once, so a value only ever becomes one leaf. Placeholders in a
 *   string fill that string; a placeholder standing as a value gives that value (a string, number or
 *   boolean; an object or array as its JSON text, a missing path as `null`); keys are the template's own.
 */

/** The placeholder: `{{ path }}`, a dotted path of names. */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w]*(?:\.[\w-]+)*)\s*\}\}/g;

/** A template that cannot be used as a JSON template; `message` says why (for a 400 on save). */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** A leaf or branch of a rendered JSON template: what `JSON.stringify` writes. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

type Part = string | { path: string[] };
type Node =
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'value'; path: string[] }
  | { kind: 'text'; parts: Part[] }
  | { kind: 'array'; items: Node[] }
  | { kind: 'object'; entries: [string, Node][] };

/** A parsed JSON template, to render many times. */
export interface JsonTemplate {
  readonly root: Node;
}

/**
 * Renders a text template.
 *
 * @example
 * renderTemplate('{{alert.rule}}: {{data.temperature}} °C', { alert: { rule: 'warm' }, data: { temperature: -12 } });
 * // 'warm: -12 °C'
 */
export function renderTemplate(template: string, context: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (_, path: string) => textOf(lookup(context, path.split('.'))));
}

/**
 * Renders a topic template: as text, but an inserted value cannot add topic levels or wildcards (`/`, `#`,
 * `+` and NUL in it become `_`); the template's own `/` stay.
 *
 * @example
 * renderTopicTemplate('{{dimensions.deviceId}}/alerts', { dimensions: { deviceId: 'f1/#' } }); // 'f1__/alerts'
 */
export function renderTopicTemplate(template: string, context: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (_, path: string) => textOf(lookup(context, path.split('.'))).replace(/[/#+\u0000]/g, '_'));
}

/**
 * Parses a JSON template once: JSON in which `{{path}}` may stand inside a string or as a value, never as a key.
 * Throws `TemplateError` for anything else.
 *
 * @example
 * const t = parseJsonTemplate('{"text": "{{alert.rule}} on {{stream.id}}", "value": {{alert.value}}}');
 */
export function parseJsonTemplate(template: string): JsonTemplate {
  const { text, marker, paths, shifts } = markBarePlaceholders(template);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // JSON.parse counts in the marked text: give the position in the template as written
    const reason = (err as Error).message.replace(/ at position (\d+)(?: \(line \d+ column \d+\))?/, (_, at: string) => {
      const p = Number(at);
      return ` at position ${p - shifts.filter((s) => s.at < p).reduce((sum, s) => sum + s.by, 0)}`;
    });
    throw new TemplateError(`is not JSON with {{path}} placeholders (${reason})`);
  }
  return { root: compile(parsed, marker, paths) };
}

/**
 * Renders a JSON template to a value; `JSON.stringify` it once to send it. Whatever the context holds, the
 * result has the template's keys and nesting.
 *
 * @example
 * JSON.stringify(renderJsonTemplate('{"site": "{{data.site}}", "value": {{alert.value}}}', { data: { site: 'x"y' }, alert: { value: 3 } }));
 * // '{"site":"x\\"y","value":3}'
 */
export function renderJsonTemplate(template: string | JsonTemplate, context: Record<string, unknown>): JsonValue {
  return render(typeof template === 'string' ? parseJsonTemplate(template).root : template.root, context);
}

/**
 * Whether a template is meant as JSON: it starts (after white space) as a JSON object, array or string does.
 * One that starts with a placeholder (`{{alert.rule}} fired`) is text.
 *
 * @example
 * templateKind('{"rule": "{{alert.rule}}"}'); // 'json'
 * templateKind('{{alert.rule}} fired');       // 'text'
 */
export function templateKind(template: string): 'json' | 'text' {
  return /^\s*(?:\[|"|\{(?!\s*\{))/.test(template) ? 'json' : 'text';
}

/**
 * Why `template` is not a usable JSON template, or `undefined` when it is (rules are checked on save).
 *
 * @example
 * jsonTemplateProblem('{"a": {{alert.value}}}'); // undefined
 * jsonTemplateProblem('{"a": "{{alert.rule}}"'); // 'is not JSON with {{path}} placeholders (…)'
 */
export function jsonTemplateProblem(template: string): string | undefined {
  try {
    parseJsonTemplate(template);
    return undefined;
  } catch (err) {
    if (err instanceof TemplateError) return err.message;
    throw err;
  }
}

/**
 * Replaces each placeholder outside JSON strings by a string literal holding a marker no template contains
 * (a NUL, which a JSON string cannot hold unescaped, and a number), so that `JSON.parse` can read the rest.
 */
function markBarePlaceholders(template: string): { text: string; marker: string; paths: string[][]; shifts: { at: number; by: number }[] } {
  let marker = '\u0000tributary:';
  while (template.includes(marker)) marker += '~';
  const paths: string[][] = [];
  const shifts: { at: number; by: number }[] = [];
  let out = '';
  let inString = false;
  const bare = new RegExp(PLACEHOLDER.source, 'y');
  for (let i = 0; i < template.length; ) {
    const c = template[i]!;
    if (inString) {
      out += c;
      if (c === '\\' && i + 1 < template.length) {
        out += template[i + 1];
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      i++;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      i++;
      continue;
    }
    bare.lastIndex = i;
    const m = bare.exec(template);
    if (m) {
      const literal = JSON.stringify(`${marker}${paths.length}`);
      out += literal;
      shifts.push({ at: out.length - 1, by: literal.length - m[0].length });
      paths.push(m[1]!.split('.'));
      i = bare.lastIndex;
      continue;
    }
    out += c;
    i++;
  }
  return { text: out, marker, paths, shifts };
}

function compile(value: unknown, marker: string, paths: string[][]): Node {
  if (typeof value === 'string') {
    const path = value.startsWith(marker) ? paths[Number(value.slice(marker.length))] : undefined;
    if (path) return { kind: 'value', path };
    return textNode(value);
  }
  if (Array.isArray(value)) return { kind: 'array', items: value.map((v) => compile(v, marker, paths)) };
  if (value !== null && typeof value === 'object') {
    const entries: [string, Node][] = [];
    for (const [key, v] of Object.entries(value)) {
      if (key.startsWith(marker) || new RegExp(PLACEHOLDER.source).test(key)) throw new TemplateError('has a {{path}} placeholder as a key; keys are fixed: put placeholders in values');
      entries.push([key, compile(v, marker, paths)]);
    }
    return { kind: 'object', entries };
  }
  return { kind: 'literal', value: value as number | boolean | null };
}

function textNode(text: string): Node {
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push({ path: m[1]!.split('.') });
    last = m.index + m[0].length;
  }
  if (parts.length === 0) return { kind: 'literal', value: text };
  if (last < text.length) parts.push(text.slice(last));
  return { kind: 'text', parts };
}

function render(node: Node, context: Record<string, unknown>): JsonValue {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'value':
      return leafOf(lookup(context, node.path));
    case 'text':
      return node.parts.map((p) => (typeof p === 'string' ? p : textOf(lookup(context, p.path)))).join('');
    case 'array':
      return node.items.map((n) => render(n, context));
    case 'object':
      // fromEntries defines own properties: a template key `__proto__` stays a key
      return Object.fromEntries(node.entries.map(([key, n]) => [key, render(n, context)]));
  }
}

/** A value standing alone: a JSON leaf, never a branch. */
function leafOf(value: unknown): JsonValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  return JSON.stringify(value) ?? null;
}

function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

function lookup(context: unknown, path: string[]): unknown {
  let at: unknown = context;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}
