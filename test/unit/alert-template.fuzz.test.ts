import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeAlertTasks } from '../../functions/alert-actions/tasks';
import type { Alert } from '../../shared/domain/alert-evaluation';
import type { AlertAction } from '../../shared/domain/alert-rules';
import { renderJsonTemplate } from '../../shared/domain/alert-template';

// Record content is chosen by whoever holds an ingest token. Whatever it holds, a rendered body has the
// template's keys and nesting: values only ever fill leaves.

/** Characters that break naive splicing: quotes, backslashes, braces, control and line separators, surrogates. */
const nasty = fc.constantFrom('"', '\\', '{', '}', '[', ']', ':', ',', '{{', '}}', '{{alert.rule}}', '{{data.site}}', '\\"', '\n', '\u0000', '\u2028', '\ud800', '😀', '/', '#', '+', ' ');
const hostileString = fc.oneof(
  fc.string({ unit: fc.oneof(nasty, fc.string({ unit: 'binary', maxLength: 2 })), maxLength: 40 }),
  fc.string({ unit: 'binary' }),
  fc.constant('x","severity":"info","y":"'),
  fc.constant('"}, "extra": {"a": "'),
);
const hostileValue = fc.oneof(hostileString, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }));
const FIELDS = ['site', 'temperature', 'note', 'deviceId', 'nested'] as const;
const hostileData = fc.record(Object.fromEntries(FIELDS.map((f) => [f, hostileValue])) as Record<(typeof FIELDS)[number], fc.Arbitrary<unknown>>);

/** A JSON template as a tree: what its keys and nesting are is known from the tree alone. */
type T = { lit: string | number | boolean | null } | { bare: string } | { text: (string | { ph: string })[] } | { arr: T[] } | { obj: [string, T][] };
const placeholderPath = fc.constantFrom(...FIELDS.map((f) => `data.${f}`), 'dimensions.deviceId', 'dimensions.site', 'alert.rule', 'alert.severity', 'alert.value', 'stream.id', 'data.missing');
const safeKey = fc.string({ maxLength: 8 }).filter((k) => !k.includes('{{'));
const { tree } = fc.letrec<{ tree: T; leaf: T }>((tie) => ({
  leaf: fc.oneof(
    fc.oneof(fc.string({ maxLength: 6 }).filter((s) => !s.includes('{{')), fc.integer(), fc.boolean(), fc.constant(null)).map((lit) => ({ lit })),
    placeholderPath.map((bare) => ({ bare })),
    fc.array(fc.oneof(fc.string({ maxLength: 4 }).filter((s) => !s.includes('{') && !s.includes('}')), placeholderPath.map((ph) => ({ ph }))), { minLength: 1, maxLength: 4 }).map((text) => ({ text })),
  ),
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('tree'), { maxLength: 4 }).map((arr) => ({ arr })),
    fc.uniqueArray(fc.tuple(safeKey, tie('tree')), { maxLength: 4, selector: ([k]) => k }).map((obj) => ({ obj })),
  ),
}));

/** The template text of a tree. */
function source(t: T): string {
  if ('lit' in t) return JSON.stringify(t.lit);
  if ('bare' in t) return `{{${t.bare}}}`;
  if ('text' in t) return JSON.stringify(t.text.map((p) => (typeof p === 'string' ? p : `{{${p.ph}}}`)).join(''));
  if ('arr' in t) return `[${t.arr.map(source).join(', ')}]`;
  return `{${t.obj.map(([k, v]) => `${JSON.stringify(k)}: ${source(v)}`).join(', ')}}`;
}

/** Keys and nesting, every leaf alike. */
function shapeOfTree(t: T): unknown {
  if ('arr' in t) return t.arr.map(shapeOfTree);
  if ('obj' in t) return Object.fromEntries(t.obj.map(([k, v]) => [k, shapeOfTree(v)]));
  return 'leaf';
}
function shapeOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shapeOf);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shapeOf(x)]));
  return 'leaf';
}

function contextOf(data: Record<string, unknown>, deviceId: string) {
  // a dimension is text; String() of a value such as {"toString": null} would throw in the test itself
  const site = typeof data.site === 'string' ? data.site : (JSON.stringify(data.site) ?? '');
  return { alert: { rule: 'warm', severity: 'critical', value: 3 }, data, dimensions: { deviceId, site }, stream: { id: 's' } };
}

describe('renderJsonTemplate under any record content', () => {
  it('gives a body, once serialized and parsed back, with exactly the template keys and nesting', () => {
    fc.assert(
      fc.property(tree, hostileData, hostileString, (t, data, deviceId) => {
        const body = JSON.stringify(renderJsonTemplate(source(t), contextOf(data, deviceId)));
        expect(shapeOf(JSON.parse(body))).toEqual(shapeOfTree(t));
      }),
      { numRuns: 1000 },
    );
  });

  it('puts a string value into a string leaf exactly as the record has it', () => {
    fc.assert(
      fc.property(hostileString, (site) => {
        expect(JSON.parse(JSON.stringify(renderJsonTemplate('{"site": "{{data.site}}", "bare": {{data.site}}}', contextOf({ site }, 'f1'))))).toEqual({ site, bare: site });
      }),
      { numRuns: 500 },
    );
  });
});

describe('mqtt_publish and email actions under any record content', () => {
  const base: Omit<Alert, 'data' | 'dimensions'> = {
    id: 'freezers.0000000010000000001',
    streamId: 'freezers',
    rule: 'warm',
    severity: 'critical',
    series: '["f1"]',
    value: 3,
    time: '2026-03-01T12:00:00.000Z',
    firedAt: '2026-03-01T12:00:00.000Z',
    state: 'firing',
    acknowledged: false,
    actions: [],
  };

  async function run(action: AlertAction, data: Record<string, unknown>, deviceId: string) {
    const published: { topic: string; payload: string }[] = [];
    const emails: { subject: string; message: string }[] = [];
    const tasks = makeAlertTasks({
      alerts: { recordAttempt: async () => {} } as never,
      secrets: { getSigningSecrets: async () => [], ensureSigningSecret: async () => undefined, replaceSigningSecret: async () => {} },
      email: { send: async (m) => void emails.push(m) },
      mqtt: { publish: async (topic, payload) => void published.push({ topic, payload }) },
      clock: { now: () => Date.parse(base.firedAt) },
    });
    const alert = { ...base, dimensions: { deviceId }, data: data as Alert['data'] } as Alert;
    await tasks.runAction({ task: 'run-action', alert, index: 0, action });
    return { published, emails };
  }

  it('publishes a JSON payload with the template keys and nesting, under a topic with the template levels', async () => {
    await fc.assert(
      fc.asyncProperty(tree, hostileData, hostileString, async (t, data, deviceId) => {
        const { published } = await run({ type: 'mqtt_publish', topic: '{{dimensions.deviceId}}/alerts', payload: `{"body": ${source(t)}}` }, data, deviceId);
        expect(published).toHaveLength(1);
        expect(shapeOf(JSON.parse(published[0]!.payload))).toEqual({ body: shapeOfTree(t) });
        const levels = published[0]!.topic.split('/');
        expect(levels.slice(0, 3)).toEqual(['tributary', 'freezers', 'devices']);
        // the device id stays one level (none when empty): it cannot add levels or wildcards
        expect(levels.length).toBe(deviceId === '' ? 4 : 5);
        expect(levels.at(-1)).toBe('alerts');
        expect(published[0]!.topic).not.toMatch(/[#+\u0000]/);
      }),
      { numRuns: 300 },
    );
  });

  it('sends an email of a subject and a message only, the subject keeping its text around each value', async () => {
    await fc.assert(
      fc.asyncProperty(hostileData, hostileString, async (data, deviceId) => {
        const { emails } = await run({ type: 'email', subject: 'Door {{dimensions.deviceId}} at {{data.site}}', message: 'Site {{data.site}}: {{data.note}}' }, data, deviceId);
        expect(emails).toHaveLength(1);
        expect(Object.keys(emails[0]!).sort()).toEqual(['message', 'subject']);
        expect(emails[0]!.subject.startsWith('Door ')).toBe(true);
        expect(emails[0]!.message.startsWith('Site ')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
