import type { Node } from 'constructs';
import { CONTEXT_PREFIX } from './config';

/**
 * Reads a CLI value as what it spells: `30` a number, `true` a boolean, `["https://a.example"]` an array,
 * `{"vpcId":…}` an object; anything that is not JSON stays a string (`ops@example.com`). A string that looks
 * like JSON is written quoted: `-c 'tributary:timestream.databaseName="2024"'`.
 *
 * @example
 * coerceContextValue('30'); // 30
 * coerceContextValue('ops@example.com'); // 'ops@example.com'
 */
export function coerceContextValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Merges `over` into `base`, objects key by key; arrays and leaves are replaced. */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isRecord(v) && isRecord(out[k]) ? deepMerge(out[k], v) : v;
  return out;
}

/**
 * The stack's settings from the CDK context, lowest precedence first: `defaults` (given in code), the
 * `tributary` object (in `cdk.json`'s `context`), then each `tributary:<dotted.path>` key (`cdk deploy -c
 * tributary:writer.batchSize=50`). CLI values arrive as strings and are coerced ({@link coerceContextValue});
 * validation is `parseTributaryConfig`'s, so an unknown key is reported, not dropped.
 *
 * @example
 * const app = new App({ context: { 'tributary:logRetentionDays': '90', tributary: { alarmEmail: 'ops@example.com' } } });
 * settingsFromContext(app.node); // { logRetentionDays: 90, alarmEmail: 'ops@example.com' }
 */
export function settingsFromContext(node: Node, defaults: Record<string, unknown> = {}): Record<string, unknown> {
  const context = node.getAllContext() as Record<string, unknown>;
  const object = coerceContextValue(context[CONTEXT_PREFIX]);
  let settings = deepMerge(defaults, object === undefined ? {} : isRecord(object) ? object : { [`(${CONTEXT_PREFIX} must be an object)`]: object });
  const prefix = `${CONTEXT_PREFIX}:`;
  for (const [key, raw] of Object.entries(context)) {
    if (!key.startsWith(prefix)) continue;
    const path = key.slice(prefix.length).split('.');
    const leaf: Record<string, unknown> = {};
    let at = leaf;
    path.slice(0, -1).forEach((segment) => {
      at = at[segment] = {};
    });
    at[path.at(-1)!] = coerceContextValue(raw);
    settings = deepMerge(settings, leaf);
  }
  return settings;
}
