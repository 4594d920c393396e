import { describe, expect, it } from 'vitest';
import {
  aggregate,
  alertId,
  evaluateBatch,
  evaluateSilence,
  groupBySeries,
  ingestRules,
  newAlert,
  seriesKey,
  silenceRules,
  stateKey,
  streamOfAlert,
  type SeriesState,
} from '../../shared/domain/alert-evaluation';
import { AlertRuleSchema, checkActions, legacyThresholdRules, parseConditionText, parseDuration, type AlertRule } from '../../shared/domain/alert-rules';
import { renderTemplate } from '../../shared/domain/alert-template';
import { AlertNotFoundError, BadRequestError, type Issue } from '../../shared/domain/errors';
import { applyPatch, newStream, parseStreamInput, parseStreamPatch } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import { issuesOf } from '../fixtures/domain';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const base = {
  name: 'Freezers',
  type: 'iot_sensor',
  schema: {
    deviceId: { type: 'string', required: true },
    temperature: { type: 'number' },
    door: { type: 'string' },
  },
  dimensions: ['deviceId'],
};

const rule = (input: Record<string, unknown>): AlertRule => AlertRuleSchema.parse({ name: 'r', ...input });
const point = (deviceId: string, time: number, values: Datapoint['values']): Datapoint => ({ time, dimensions: { deviceId }, values });

describe('alert rules on the stream definition', () => {
  it('reads every condition form as text and stores the object it stands for', () => {
    expect(parseConditionText('temperature > -15')).toEqual({ field: 'temperature', op: '>', value: -15 });
    expect(parseConditionText('temperature != 0.5')).toEqual({ field: 'temperature', op: '!=', value: 0.5 });
    expect(parseConditionText('temperature outside_range [-25, -15]')).toEqual({ field: 'temperature', outside: [-25, -15] });
    expect(parseConditionText('avg(temperature) over 5m > 30')).toEqual({ field: 'temperature', op: '>', value: 30, window: { agg: 'avg', over: '5m' } });
    expect(parseConditionText('count(temperature) over 1h < 3')).toEqual({ field: 'temperature', op: '<', value: 3, window: { agg: 'count', over: '1h' } });
    expect(parseConditionText('no data for 10m')).toEqual({ noDataFor: '10m' });
    expect(parseConditionText('zscore(temperature) over 1h > 3')).toEqual({ field: 'temperature', op: '>', value: 3, zscore: { over: '1h' } });
    expect(parseConditionText('zscore(temperature) over 1h < 3')).toBeUndefined();
    expect(parseConditionText('temperature is hot')).toBeUndefined();
  });

  it('fills severity, cooldown and actions, and keeps a stored rule as it is', () => {
    const input = parseStreamInput({ ...base, alerts: [{ name: 'warm', when: 'temperature > -15' }] });
    const stream = newStream(input, new Date(NOW), () => 'x');
    expect(stream.alerts).toEqual([{ name: 'warm', severity: 'warning', when: { field: 'temperature', op: '>', value: -15 }, cooldown: '5m', actions: [] }]);
    const patched = applyPatch(stream, parseStreamPatch({ description: 'kept' }), new Date(NOW));
    expect(patched.alerts).toEqual(stream.alerts);
  });

  it('maps the legacy alertThresholds onto rules', () => {
    expect(legacyThresholdRules({ temperature: { min: -25, max: -15 }, door: { max: 1 } }).map((r) => r.when)).toEqual([
      { field: 'temperature', outside: [-25, -15] },
      { field: 'door', op: '>', value: 1 },
    ]);
    const stream = newStream(parseStreamInput({ ...base, alertThresholds: { temperature: { min: -30 } } }), new Date(NOW), () => 'x');
    expect(stream.alerts).toEqual([{ name: 'temperature out of range', severity: 'warning', when: { field: 'temperature', op: '<', value: -30 }, cooldown: '5m', actions: [] }]);
  });

  it('reports rules on unknown or non-numeric fields, duplicate names, bad expressions and bad text with their paths', () => {
    expect(issuesOf(() => parseStreamInput({ ...base, alerts: [{ name: 'd', when: 'temperature is hot' }] })).map((i) => i.path)).toEqual([['alerts', 0, 'when']]);
    const semantic = issuesOf(() =>
      parseStreamInput({
        ...base,
        alerts: [
          { name: 'a', when: 'humidity > 1' },
          { name: 'a', when: 'door > 1' },
          { name: 'c', when: { expression: 'temperature >' } },
          { name: 'e', when: 'count(door) over 5m > 3' },
        ],
        alertThresholds: { door: { max: 2 } },
      }),
    );
    expect(semantic.map((i) => i.path)).toEqual([
      ['alerts', 0, 'when', 'field'],
      ['alerts', 1, 'name'],
      ['alerts', 1, 'when', 'field'],
      ['alerts', 2, 'when', 'expression'],
      ['alertThresholds', 'door'],
    ]);
  });

  it('refuses bad actions with their paths', () => {
    const issues = issuesOf(() =>
      parseStreamInput({
        ...base,
        alerts: [{ name: 'a', when: 'temperature > 1', cooldown: '0m', actions: [{ type: 'webhook', url: 'ftp://x' }, { type: 'mqtt_publish', topic: 'a/#' }, { type: 'pager' }] }],
      }),
    );
    expect(issues.map((i) => i.path)).toEqual([
      ['alerts', 0, 'cooldown'],
      ['alerts', 0, 'actions', 0, 'url'],
      ['alerts', 0, 'actions', 1, 'topic'],
      ['alerts', 0, 'actions', 2, 'type'],
    ]);
  });

  it('takes only URLs that parse as http or https with a host', () => {
    const withUrl = (url: string) => () => parseStreamInput({ ...base, alerts: [{ name: 'a', when: 'temperature > 1', actions: [{ type: 'ticket', url }] }] });
    for (const bad of ['http://exa mple.com/h', 'https://', 'http:/ops.example.com', 'javascript:alert(1)', 'http://[::1/h']) {
      expect(issuesOf(withUrl(bad)).map((i) => i.path), bad).toEqual([['alerts', 0, 'actions', 0, 'url']]);
    }
    for (const good of ['https://ops.example.com/h?x=1', 'HTTP://127.0.0.1:8080/hook', 'https://[2001:db8::1]/h']) expect(withUrl(good), good).not.toThrow();
  });

  it('requires https action URLs only where the runtime says so, reporting each with its path', () => {
    const rules = parseStreamInput({
      ...base,
      alerts: [
        { name: 'a', when: 'temperature > 1', actions: [{ type: 'email' }, { type: 'webhook', url: 'http://ops.example.com/h' }] },
        { name: 'b', when: 'temperature > 2', actions: [{ type: 'ticket', url: 'https://t.example.com' }, { type: 'ticket', url: 'http://t.example.com' }] },
      ],
    }).alerts!;
    const found: Issue[] = [];
    checkActions(rules, { requireHttps: true, ticketSystems: [], emailRecipients: false }, ['alerts'], (path, message) => found.push({ path, message }));
    expect(found.map((i) => i.path)).toEqual([
      ['alerts', 0, 'actions', 1, 'url'],
      ['alerts', 1, 'actions', 1, 'url'],
    ]);
    checkActions(rules, { requireHttps: false, ticketSystems: [], emailRecipients: false }, ['alerts'], () => expect.unreachable());
  });

  it('takes a ticket system the deployment names and recipients only where email can reach them, naming what it refuses', () => {
    const rules = parseStreamInput({
      ...base,
      alerts: [
        {
          name: 'a',
          when: 'temperature > 1',
          actions: [
            { type: 'ticket', system: 'maintenance_system', priority: 'medium', assignee: 'maintenance_team' },
            { type: 'ticket', system: 'helpdesk' },
            { type: 'email', to: ['facilities@company.com'] },
          ],
        },
      ],
    }).alerts!;
    const found: Issue[] = [];
    checkActions(rules, { requireHttps: true, ticketSystems: ['maintenance_system'], emailRecipients: false }, ['alerts'], (path, message) => found.push({ path, message }));
    expect(found.map((i) => i.path)).toEqual([
      ['alerts', 0, 'actions', 1, 'system'],
      ['alerts', 0, 'actions', 2, 'to'],
    ]);
    expect(found[0]!.message).toMatch(/'helpdesk' is not a ticket system of this deployment \(it names maintenance_system\)/);
    checkActions(rules.map((r) => ({ ...r, actions: [r.actions[0]!, r.actions[2]!] })), { requireHttps: true, ticketSystems: ['maintenance_system'], emailRecipients: true }, ['alerts'], () => expect.unreachable());
  });

  it('wants a ticket to name url or system, not both nor neither, and recipients as addresses', () => {
    const at = (action: unknown) => AlertRuleSchema.safeParse({ name: 'a', when: 'temperature > 1', actions: [action] });
    expect(at({ type: 'ticket' }).success).toBe(false);
    expect(at({ type: 'ticket', url: 'https://t.example.com', system: 'x' }).success).toBe(false);
    expect(at({ type: 'ticket', system: 'Bad-Name' }).success).toBe(false);
    expect(at({ type: 'email', to: ['not an address'] }).error?.issues[0]?.path).toEqual(['actions', 0, 'to', 0]);
    expect(at({ type: 'email', to: [] }).success).toBe(false);
    expect(at({ type: 'email', to: ['a@example.com', 'b@example.org'] }).success).toBe(true);
  });

  it('replaces every rule on a patch that names alerts', () => {
    const stream = newStream(parseStreamInput({ ...base, alerts: [{ name: 'warm', when: 'temperature > -15' }] }), new Date(NOW), () => 'x');
    const next = applyPatch(stream, parseStreamPatch({ alerts: [{ name: 'cold', when: 'temperature < -40' }] }), new Date(NOW));
    expect(next.alerts?.map((r) => r.name)).toEqual(['cold']);
    expect(() => applyPatch(stream, parseStreamPatch({ alerts: [{ name: 'x', when: 'nope > 1' }] }), new Date(NOW))).toThrow(BadRequestError);
  });
});

describe('evaluateBatch', () => {
  const warm = rule({ when: 'temperature > -15', cooldown: '10m' });
  const states = (...s: SeriesState[]) => new Map(s.map((x) => [stateKey(x.rule, x.series), x]));
  const f1 = seriesKey(['deviceId'], { deviceId: 'f1' });

  it('fires once per series on its first breaching point', async () => {
    const series = groupBySeries(base, [point('f1', 2, { temperature: -10 }), point('f1', 1, { temperature: -12 }), point('f2', 1, { temperature: -20 })]);
    const t = await evaluateBatch({ rules: [warm], series, states: new Map(), windows: new Map(), now: NOW });
    expect(t).toEqual([{ kind: 'fire', rule: warm, series: f1, dimensions: { deviceId: 'f1' }, breach: { value: -12, time: 1, data: expect.objectContaining({ temperature: -12 }) } }]);
  });

  it('does not fire while firing or within the cooldown, and fires after it', async () => {
    const series = groupBySeries(base, [point('f1', 1, { temperature: -10 })]);
    const firing = states({ rule: 'r', series: f1, state: 'firing', alertId: 'a', firedAt: NOW - 1 });
    expect(await evaluateBatch({ rules: [warm], series, states: firing, windows: new Map(), now: NOW })).toEqual([]);
    const cooling = states({ rule: 'r', series: f1, state: 'resolved', firedAt: NOW - 599_999 });
    expect(await evaluateBatch({ rules: [warm], series, states: cooling, windows: new Map(), now: NOW })).toEqual([]);
    const cooled = states({ rule: 'r', series: f1, state: 'resolved', firedAt: NOW - 600_000 });
    expect((await evaluateBatch({ rules: [warm], series, states: cooled, windows: new Map(), now: NOW })).map((t) => t.kind)).toEqual(['fire']);
  });

  it('resolves a firing series whose last point is clear, and a breach that clears within one batch fires then resolves', async () => {
    const clear = groupBySeries(base, [point('f1', 1, { temperature: -10 }), point('f1', 2, { temperature: -20 })]);
    const firing = states({ rule: 'r', series: f1, state: 'firing', alertId: 'f.a', firedAt: NOW - 1 });
    expect(await evaluateBatch({ rules: [warm], series: clear, states: firing, windows: new Map(), now: NOW })).toEqual([
      { kind: 'resolve', rule: warm, series: f1, dimensions: { deviceId: 'f1' }, alertId: 'f.a', time: 2 },
    ]);
    const both = await evaluateBatch({ rules: [warm], series: clear, states: new Map(), windows: new Map(), now: NOW });
    expect(both.map((t) => t.kind)).toEqual(['fire', 'resolve']);
    expect(both[1]).not.toHaveProperty('alertId');
  });

  it('ignores points without the field', async () => {
    const series = groupBySeries(base, [point('f1', 1, { door: 'open' })]);
    const firing = states({ rule: 'r', series: f1, state: 'firing', alertId: 'f.a' });
    expect(await evaluateBatch({ rules: [warm], series, states: firing, windows: new Map(), now: NOW })).toEqual([]);
  });

  it('evaluates outside_range and JSONata expressions per point', async () => {
    const range = rule({ when: 'temperature outside_range [-25, -15]' });
    const expr = rule({ name: 'door', when: { expression: "door = 'open' and temperature > -18" } });
    const series = groupBySeries(base, [point('f1', 1, { temperature: -20, door: 'open' }), point('f1', 2, { temperature: -14, door: 'open' })]);
    const t = await evaluateBatch({ rules: [range, expr], series, states: new Map(), windows: new Map(), now: NOW });
    expect(t.map((x) => [x.rule.name, x.kind, x.kind === 'fire' ? x.breach.value : undefined])).toEqual([
      ['r', 'fire', -14],
      ['door', 'fire', null],
    ]);
  });

  it('treats an expression that fails on a record as no breach', async () => {
    const expr = rule({ when: { expression: '$number(door) > 1' } });
    const series = groupBySeries(base, [point('f1', 1, { door: 'open' })]);
    expect(await evaluateBatch({ rules: [expr], series, states: new Map(), windows: new Map(), now: NOW })).toEqual([]);
  });

  it('compares a window rule on the aggregate, not on the points', async () => {
    const avg = rule({ name: 'avg', when: 'avg(temperature) over 5m > 30' });
    const series = groupBySeries(base, [point('f1', 5, { temperature: 90 })]);
    const low = new Map([['avg', new Map([[f1, 25]])]]);
    expect(await evaluateBatch({ rules: [avg], series, states: new Map(), windows: low, now: NOW })).toEqual([]);
    const high = new Map([['avg', new Map([[f1, 31]])]]);
    const [t] = await evaluateBatch({ rules: [avg], series, states: new Map(), windows: high, now: NOW });
    expect(t).toMatchObject({ kind: 'fire', breach: { value: 31, time: 5 } });
    const count = rule({ name: 'few', when: 'count(temperature) over 5m < 3' });
    expect((await evaluateBatch({ rules: [count], series, states: new Map(), windows: new Map(), now: NOW })).map((x) => x.kind)).toEqual(['fire']);
  });

  it('aggregates avg, min, max and count', () => {
    expect([aggregate('avg', [1, 2, 6]), aggregate('min', [3, 1]), aggregate('max', [3, 1]), aggregate('count', ['a', 'b']), aggregate('avg', [])]).toEqual([3, 1, 3, 2, undefined]);
  });

  it('takes the min and max of more values than a call may take as arguments (a large batch’s window)', () => {
    const many = Array.from({ length: 500_000 }, (_, i) => (i === 123_456 ? -7 : i === 400_000 ? 9e9 : i % 1000));
    expect([aggregate('min', many), aggregate('max', many)]).toEqual([-7, 9e9]);
  });
});

describe('evaluateSilence', () => {
  const quiet = rule({ name: 'quiet', when: 'no data for 10m' });
  it('fires for a series silent for the whole span and resolves one that speaks again', () => {
    const latest = [
      { key: '["a"]', dimensions: { deviceId: 'a' }, time: NOW - 600_000 },
      { key: '["b"]', dimensions: { deviceId: 'b' }, time: NOW - 1_000 },
    ];
    const states = new Map([[stateKey('quiet', '["b"]'), { rule: 'quiet', series: '["b"]', state: 'firing' as const, alertId: 'x.y' }]]);
    expect(evaluateSilence({ rules: [quiet], latest, states, now: NOW }).map((t) => [t.kind, t.series])).toEqual([
      ['fire', '["a"]'],
      ['resolve', '["b"]'],
    ]);
  });

  it('splits ingest rules from silence rules', () => {
    const stream = { alerts: [quiet, rule({ when: 'temperature > 1' })] };
    expect(ingestRules(stream).map((r) => r.name)).toEqual(['r']);
    expect(silenceRules(stream).map((r) => r.name)).toEqual(['quiet']);
  });
});

describe('alerts and templates', () => {
  it('builds ids that sort by time and name their stream', () => {
    const a = alertId('freezers', NOW, () => 'abc123def');
    const b = alertId('freezers', NOW + 1, () => '000000000');
    expect(a < b).toBe(true);
    expect(streamOfAlert(a)).toBe('freezers');
    expect(streamOfAlert('freezers')).toBeUndefined();
    expect(streamOfAlert('../x.abcdefghijkl')).toBeUndefined();
  });

  it('records a fire with every action pending', () => {
    const r = rule({ when: 'temperature > 1', severity: 'critical', actions: [{ type: 'email' }, { type: 'mqtt_publish' }] });
    const alert = newAlert('s', { kind: 'fire', rule: r, series: '["f1"]', dimensions: { deviceId: 'f1' }, breach: { value: 3, time: NOW } }, 's.x', NOW);
    expect(alert).toMatchObject({ state: 'firing', acknowledged: false, severity: 'critical', value: 3, time: '2026-03-01T12:00:00.000Z' });
    expect(alert.actions).toEqual([
      { type: 'email', status: 'pending', attempts: 0 },
      { type: 'mqtt_publish', status: 'pending', attempts: 0 },
    ]);
  });

  it('renders record fields and alert fields, and nothing it does not find', () => {
    const ctx = { alert: { rule: 'warm' }, data: { temperature: -12, tags: ['a'] } };
    expect(renderTemplate('{{alert.rule}}: {{ data.temperature }} °C {{data.tags}} {{data.missing}}{{data.constructor}}', ctx)).toBe('warm: -12 °C ["a"] ');
  });

  it('parses durations', () => {
    expect([parseDuration('30s'), parseDuration('5m'), parseDuration('2h'), parseDuration('1d'), parseDuration('5x')]).toEqual([30_000, 300_000, 7_200_000, 86_400_000, undefined]);
  });

  it('has an error for an unknown alert', () => {
    const err = new AlertNotFoundError('s.x');
    expect(err).toMatchObject({ name: 'AlertNotFoundError', code: 'alert.not_found', alertId: 's.x' });
  });
});
