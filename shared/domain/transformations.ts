/**
 * The documents' `transformations: [{name, function: "function f(data) { … }"}]` (a stream processor's, or a
 * definition's `processing.transformations`) as pipeline script stages, one per transformation, in order.
 *
 * @example
 * transformationStages([{ name: 'cost', function: 'function c(d) { return d; }' }], ['transformations'], report);
 * // [{ name: 'cost', type: 'transform', config: { script: 'function c(d) { return d; }' } }]
 */

type Path = (string | number)[];
type Report = (path: Path, message: string) => void;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JavaScript transform as the documents write one: `function name(arg) { … }`, comments before it allowed. */
export function isJavaScriptFunction(text: string): boolean {
  return /^\s*(?:(?:\/\/[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*(?:async\s+)?function\b/.test(text);
}

/** The stages, each problem reported at the path written (`[...at, i, 'function']`). */
export function transformationStages(list: unknown, at: Path, issue: Report): unknown[] | undefined {
  if (!Array.isArray(list)) {
    issue(at, 'must be a list of {name, function}');
    return undefined;
  }
  return list.map((t, i) => {
    const fn = isObj(t) ? t.function : undefined;
    if (!isObj(t)) issue([...at, i], 'must be {name, function}');
    else if (typeof fn !== 'string' || !isJavaScriptFunction(fn)) issue([...at, i, 'function'], 'must be a JavaScript function, as text: function name(data) { … return data; }');
    for (const key of isObj(t) ? Object.keys(t) : []) if (key !== 'name' && key !== 'function') issue([...at, i, key], 'is not a key of a transformation (name, function)');
    return { ...(isObj(t) && typeof t.name === 'string' && { name: t.name }), type: 'transform', config: { script: typeof fn === 'string' ? fn.trim() : '' } };
  });
}
