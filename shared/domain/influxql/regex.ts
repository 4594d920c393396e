import { BadRequestError } from '../errors';

/**
 * The regular expressions Grafana writes, read without a regex engine: `/^(a|b)$/` (a multi-value template
 * variable, each value escaped), `/^a$/`, `/(?i)cpu/` (the measurement search box), and `.*` (any value). Anything else
 * is a `BadRequestError`, so a client's pattern is never compiled: no catastrophic backtracking.
 *
 * @example
 * literalAlternation('^(freezer\\-1|freezer\\-2)$'); // { values: ['freezer-1', 'freezer-2'], anchored: true, ignoreCase: false }
 */
export interface LiteralAlternation {
  /** `undefined` for a pattern that matches anything (`.*`). */
  values?: string[];
  /** `^…$`: the whole value must equal an alternative; else containing one is enough. */
  anchored: boolean;
  ignoreCase: boolean;
}

const SPECIAL = new Set([...'.*+?()[]{}|^$\\/']);
export const MAX_REGEX_ALTERNATIVES = 100;

export function literalAlternation(source: string): LiteralAlternation {
  const refuse = () =>
    new BadRequestError(`regex /${source.slice(0, 80)}/ is not supported: Tributary reads only /^value$/, /^(a|b)$/, /(?i)text/ and /.*/`);
  let s = source;
  const ignoreCase = s.startsWith('(?i)');
  if (ignoreCase) s = s.slice(4);
  const start = s.startsWith('^');
  if (start) s = s.slice(1);
  const end = s.endsWith('$') && !s.endsWith('\\$');
  if (end) s = s.slice(0, -1);
  if (start !== end) throw refuse();
  if (s === '.*' || (s === '' && !start)) return { anchored: false, ignoreCase };
  if (s.startsWith('(?:')) s = `(${s.slice(3)}`;
  const grouped = s.startsWith('(') && s.endsWith(')') && !s.endsWith('\\)');
  if (grouped) s = s.slice(1, -1);
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const next = s[i + 1];
      if (next === undefined) throw refuse();
      current += next;
      i++;
    } else if (c === '|' && grouped) {
      values.push(current);
      current = '';
    } else if (SPECIAL.has(c)) {
      throw refuse();
    } else current += c;
  }
  values.push(current);
  if (values.length > MAX_REGEX_ALTERNATIVES) throw new BadRequestError(`regex has more than ${MAX_REGEX_ALTERNATIVES} alternatives`);
  return { values, anchored: start, ignoreCase };
}

/** Whether `value` matches the pattern `literalAlternation` read. */
export function matchesLiteral(p: LiteralAlternation, value: string): boolean {
  if (!p.values) return true;
  const v = p.ignoreCase ? value.toLowerCase() : value;
  return p.values.some((alt) => {
    const a = p.ignoreCase ? alt.toLowerCase() : alt;
    return p.anchored ? v === a : v.includes(a);
  });
}
