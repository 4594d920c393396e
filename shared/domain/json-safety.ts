/**
 * Checks on parsed client JSON that a schema parser cannot make: a lone UTF-16 surrogate (`"x\ud800y"` is
 * valid JSON, but UTF-8 cannot carry it, so every store would keep `"x\ufffdy"` instead) and an own
 * `__proto__` key (JSON.parse keeps it; zod and plain-object assignment drop it without a word).
 *
 * @example
 * findUnsafeJson({ tags: { __proto__: 'x' } }); // { path: ['tags', '__proto__'], message: "'__proto__' cannot be a key" }
 * isWellFormedText('x\ud800y'); // false
 */

const SURROGATE = /[\ud800-\udfff]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

type WellFormed = (this: string) => boolean;
const native = (String.prototype as { isWellFormed?: WellFormed }).isWellFormed;

/**
 * Whether a string is well-formed UTF-16 (no lone surrogate): `String.prototype.isWellFormed` where the
 * engine has it, else one regular-expression scan.
 *
 * @example
 * isWellFormedText('😀'); // true
 * isWellFormedText('\udc00'); // false
 */
export const isWellFormedText: (s: string) => boolean = native ? (s) => native.call(s) : wellFormedByScan;

/** The fallback of `isWellFormedText` for engines without `isWellFormed` (exported for its test). */
export function wellFormedByScan(s: string): boolean {
  return !SURROGATE.test(s) || !LONE_SURROGATE.test(s);
}

/**
 * Where a lone surrogate sits in a string, in words for a problem's `message`.
 *
 * @example
 * loneSurrogateMessage('x\ud800y'); // 'contains a lone UTF-16 surrogate (\\ud800 at index 1); send well-formed Unicode text'
 */
export function loneSurrogateMessage(s: string): string {
  const at = LONE_SURROGATE.exec(s)?.index ?? 0;
  const unit = s.charCodeAt(at).toString(16);
  return `contains a lone UTF-16 surrogate (\\u${unit} at index ${at}); send well-formed Unicode text`;
}

export interface UnsafeJson {
  path: (string | number)[];
  message: string;
}

/**
 * The first key or string of a parsed JSON value that cannot be kept exactly: an own `__proto__` key, or a
 * key or string with a lone surrogate. `undefined` when there is none. Walks at most `maxDepth` levels
 * (deeper values are left to the parser's own depth limit).
 *
 * @example
 * findUnsafeJson(JSON.parse('{"schema":{"__proto__":{"type":"number"}}}')); // { path: ['schema', '__proto__'], … }
 */
export function findUnsafeJson(value: unknown, maxDepth = 64): UnsafeJson | undefined {
  return walk(value, [], maxDepth);
}

function walk(value: unknown, path: (string | number)[], depth: number): UnsafeJson | undefined {
  if (typeof value === 'string') return isWellFormedText(value) ? undefined : { path, message: loneSurrogateMessage(value) };
  if (typeof value !== 'object' || value === null || depth === 0) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = walk(value[i], [...path, i], depth - 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (key === '__proto__') return { path: [...path, key], message: "'__proto__' cannot be a key" };
    if (!isWellFormedText(key)) return { path: [...path, key], message: `the key ${loneSurrogateMessage(key)}` };
    const found = walk((value as Record<string, unknown>)[key], [...path, key], depth - 1);
    if (found) return found;
  }
  return undefined;
}
