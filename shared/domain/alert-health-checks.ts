import type { AlertRule } from './alert-rules';
import { healthLimit, type HealthCondition } from './alert-health-conditions';
import { healthFigure, type StreamHealth } from './stream-health';

/**
 * The rules with a health-check condition.
 *
 * @example
 * healthRules(stream.alerts ?? []); // the rules the minute check reads the stream's health for
 */
export function healthRules(rules: readonly AlertRule[]): (AlertRule & { when: HealthCondition })[] {
  return rules.filter((r): r is AlertRule & { when: HealthCondition } => 'health' in r.when);
}

/**
 * Whether each health rule breaches now, with the figure it compared: a figure that cannot be measured (no
 * records in the window, a stream that never had data) is no breach.
 *
 * @example
 * healthBreaches(healthRules(stream.alerts ?? []), streamHealth({ stream, buckets, lastDataAt, now }));
 */
export function healthBreaches(rules: readonly (AlertRule & { when: HealthCondition })[], health: StreamHealth): { rule: AlertRule & { when: HealthCondition }; breached: boolean; value: number | undefined }[] {
  return rules.map((rule) => {
    const value = healthFigure(health, rule.when.health);
    return { rule, breached: value !== undefined && value > healthLimit(rule.when), value };
  });
}
