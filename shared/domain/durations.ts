/** A duration as rules and queries write it: 1 to 6 digits and s, m, h or d. */
export const DURATION = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Milliseconds of a duration such as `30s`, `5m`, `1h`, `1d`; `undefined` if it is not one. A module of its
 * own: queries read durations too, and must not bundle the alert-rule parser (JSONata) for it.
 *
 * @example
 * parseDuration('5m'); // 300000
 */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : undefined;
}
