import { describe, expect, it } from 'vitest';
import { makeAlertTasks } from '../../functions/alert-actions/tasks';
import type { Alert } from '../../shared/domain/alert-evaluation';
import { AlertRulesSchema } from '../../shared/domain/alert-rules';
import { jsonTemplateProblem, parseJsonTemplate, renderJsonTemplate, renderTemplate, renderTopicTemplate, templateKind } from '../../shared/domain/alert-template';

/** What a device sends to add keys to a body a receiver trusts (issue #16). */
const HOSTILE_SITE = 'x","severity":"info","y":"';

const context = {
  alert: { rule: 'freezer warm', severity: 'critical', value: -9.5, id: 'freezers.1' },
  data: { site: HOSTILE_SITE, temperature: -9.5, ok: false, tags: ['a', 'b'], nested: { a: { b: 1 } } },
  dimensions: { deviceId: 'f1', site: HOSTILE_SITE },
  stream: { id: 'freezers' },
};

describe('renderJsonTemplate', () => {
  it('keeps a quoted value in its string: the body keeps its keys and its severity', () => {
    const body = JSON.stringify(renderJsonTemplate('{"text": "{{alert.rule}} at {{data.site}}", "severity": "{{alert.severity}}", "site": "{{data.site}}"}', context));
    const parsed = JSON.parse(body);
    expect(Object.keys(parsed)).toEqual(['text', 'severity', 'site']);
    expect(parsed).toEqual({ text: `freezer warm at ${HOSTILE_SITE}`, severity: 'critical', site: HOSTILE_SITE });
  });

  it('gives a placeholder standing as a value that value as one leaf: a number, a boolean, a string, JSON text for an object, null when missing', () => {
    expect(renderJsonTemplate('{"v": {{alert.value}}, "ok": {{data.ok}}, "site": {{data.site}}, "tags": {{data.tags}}, "n": {{data.nested}}, "m": {{data.missing}}}', context)).toEqual({
      v: -9.5,
      ok: false,
      site: HOSTILE_SITE,
      tags: '["a","b"]',
      n: '{"a":{"b":1}}',
      m: null,
    });
  });

  it('reads placeholders in arrays, nested objects and around escapes, and inserts a value holding {{…}} as it is', () => {
    const t = '[{"a": ["\\"{{stream.id}}\\"", {{dimensions.deviceId}}]}, "{{data.echo}}", "\\\\{{alert.rule}}"]';
    expect(renderJsonTemplate(t, { ...context, data: { echo: '{{alert.rule}}' } })).toEqual([{ a: ['"freezers"', 'f1'] }, '{{alert.rule}}', '\\freezer warm']);
  });

  it('keeps a template key __proto__ a key of the body', () => {
    expect(JSON.stringify(renderJsonTemplate('{"__proto__": "{{stream.id}}"}', context))).toBe('{"__proto__":"freezers"}');
  });

  it('refuses a template that is not JSON, or that puts a placeholder where a key goes, naming the position as written', () => {
    expect(jsonTemplateProblem('{"a": {{alert.value}} "b": 1}')).toMatch(/not JSON.*at position 22/);
    expect(jsonTemplateProblem('{"{{data.site}}": 1}')).toMatch(/placeholder as a key/);
    expect(jsonTemplateProblem('{ {{data.site}}: 1}')).toMatch(/placeholder as a key/);
    expect(jsonTemplateProblem('{{alert.rule}} fired')).toMatch(/not JSON/);
    expect(jsonTemplateProblem('{"a": [{{alert.value}}, "{{alert.rule}}"]}')).toBeUndefined();
    expect(() => parseJsonTemplate('nope')).toThrow(/not JSON/);
  });
});

describe('templateKind, renderTemplate and renderTopicTemplate', () => {
  it('takes a template that starts as JSON for JSON, and one that starts with a placeholder or words for text', () => {
    expect(['{"a": 1}', ' [1]', '"x"', '{{alert.rule}} fired', 'Door {{dimensions.deviceId}}', '{ {{x}}: 1 }'].map(templateKind)).toEqual(['json', 'json', 'json', 'text', 'text', 'text']);
  });

  it('renders text as before: strings as they are, other values as JSON, missing paths and the prototype as nothing', () => {
    expect(renderTemplate('{{alert.rule}}: {{ data.temperature }} °C {{data.tags}} {{data.missing}}{{data.constructor}}', context)).toBe('freezer warm: -9.5 °C ["a","b"] ');
  });

  it('keeps a value inside its topic level: no / # + from a record', () => {
    expect(renderTopicTemplate('{{dimensions.deviceId}}/alerts', { dimensions: { deviceId: 'f2/../#/+' } })).toBe('f2_..____/alerts');
  });
});

describe('alert rules with body and payload templates', () => {
  const rules = (action: Record<string, unknown>) => AlertRulesSchema.safeParse([{ name: 'warm', when: 'temperature > 1', actions: [action] }]);

  it('refuses on save a webhook body or a JSON-looking MQTT payload that is not a JSON template, naming its path', () => {
    const body = rules({ type: 'webhook', url: 'https://ops.example.com/h', body: '{"text": "{{alert.rule}}"' });
    expect(body.success).toBe(false);
    expect(body.error!.issues.map((i) => i.path)).toEqual([[0, 'actions', 0, 'body']]);
    const payload = rules({ type: 'mqtt_publish', payload: '{"site": {{data.site}} }x' });
    expect(payload.error!.issues.map((i) => i.path)).toEqual([[0, 'actions', 0, 'payload']]);
    expect(rules({ type: 'webhook', url: 'https://ops.example.com/h', body: '{"text": "{{alert.rule}}", "v": {{alert.value}}}' }).success).toBe(true);
    expect(rules({ type: 'mqtt_publish', payload: 'ALERT {{alert.rule}} at {{data.site}}' }).success).toBe(true);
  });
});

describe('mqtt_publish and email actions render record content as leaves', () => {
  const alert: Alert = {
    id: 'freezers.0000000010000000001',
    streamId: 'freezers',
    rule: 'freezer warm',
    severity: 'critical',
    series: '["f1"]',
    dimensions: { deviceId: 'f1' },
    value: -9.5,
    time: '2026-03-01T12:00:00.000Z',
    firedAt: '2026-03-01T12:00:00.000Z',
    state: 'firing',
    acknowledged: false,
    data: { deviceId: 'f1', site: HOSTILE_SITE, temperature: -9.5 },
    actions: [],
  };

  function tasks() {
    const published: { topic: string; payload: string }[] = [];
    const emails: { subject: string; message: string }[] = [];
    const t = makeAlertTasks({
      alerts: { recordAttempt: async () => {} } as never,
      secrets: { getSigningSecrets: async () => [], ensureSigningSecret: async () => undefined, replaceSigningSecret: async () => {} },
      email: { send: async (m) => void emails.push(m) },
      mqtt: { publish: async (topic, payload) => void published.push({ topic, payload }) },
      clock: { now: () => Date.parse(alert.firedAt) },
    });
    return { run: (action: Parameters<typeof t.runAction>[0]['action']) => t.runAction({ task: 'run-action', alert, index: 0, action }), published, emails };
  }

  it('publishes a JSON payload whose severity a device cannot override', async () => {
    const { run, published } = tasks();
    await run({ type: 'mqtt_publish', payload: '{"site": "{{data.site}}", "severity": "{{alert.severity}}", "value": {{alert.value}}}' });
    const payload = JSON.parse(published[0]!.payload);
    expect(Object.keys(payload)).toEqual(['site', 'severity', 'value']);
    expect(payload).toEqual({ site: HOSTILE_SITE, severity: 'critical', value: -9.5 });
  });
});
