/**
 * Templates in alert actions: `{{path}}` is replaced by the value at that dotted path of the context
 * (`data.temperature`, `alert.rule`, `alert.severity`, `dimensions.deviceId`, `stream.id`). Strings go
 * in as they are, other values as JSON, a missing path as an empty string. Nothing else is evaluated.
 *
 * @example
 * renderTemplate('{{alert.rule}}: {{data.temperature}} °C', { alert: { rule: 'warm' }, data: { temperature: -12 } });
 * // 'warm: -12 °C'
 */
export function renderTemplate(template: string, context: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([A-Za-z_][\w]*(?:\.[\w-]+)*)\s*\}\}/g, (_, path: string) => {
    const value = lookup(context, path.split('.'));
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

function lookup(context: unknown, path: string[]): unknown {
  let at: unknown = context;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}
