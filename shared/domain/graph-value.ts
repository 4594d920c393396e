/**
 * The datastream document's graph values: `{v: [{i, …}], e: [{f, t, …}]}`, vertices with ids of any JSON
 * type (unique), edges from vertex `f` to vertex `t` (both naming a vertex). Other members of a vertex or an
 * edge are kept as they are. A `graph` field holds one; stores keep it as its JSON text, as an `object` field.
 *
 * @example
 * checkGraph({ v: [{ i: 'foo' }, { i: 'bar' }], e: [{ f: 'foo', t: 'bar' }] }); // undefined: a graph
 * checkGraph({ v: [{ i: 'foo' }], e: [{ f: 'foo', t: 'baz' }] }); // { path: ['e', 0, 't'], message: … }
 */

/** At most this many vertices and edges in one graph value. */
export const MAX_GRAPH_ITEMS = 10_000;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A vertex id as a key: ids of any JSON type, `1` and `'1'` different. */
const idKey = (id: unknown): string => JSON.stringify(id) ?? 'undefined';

/** The first problem of a graph value, with its path inside the value; `undefined` when it is a graph. */
export function checkGraph(value: unknown): { path: (string | number)[]; message: string } | undefined {
  if (!isObj(value)) return { path: [], message: 'must be a graph {v: [{i, …}], e: [{f, t, …}]}' };
  for (const key of Object.keys(value)) if (key !== 'v' && key !== 'e') return { path: [key], message: 'a graph has only v (vertices) and e (edges)' };
  const { v, e = [] } = value;
  if (!Array.isArray(v)) return { path: ['v'], message: 'must be an array of vertices {i, …}' };
  if (!Array.isArray(e)) return { path: ['e'], message: 'must be an array of edges {f, t, …}' };
  if (v.length + e.length > MAX_GRAPH_ITEMS) return { path: [], message: `at most ${MAX_GRAPH_ITEMS} vertices and edges` };
  const ids = new Set<string>();
  for (let n = 0; n < v.length; n++) {
    const vertex = v[n];
    if (!isObj(vertex) || !Object.hasOwn(vertex, 'i') || vertex.i === null) return { path: ['v', n, 'i'], message: 'a vertex needs an id i' };
    const key = idKey(vertex.i);
    if (ids.has(key)) return { path: ['v', n, 'i'], message: `vertex id ${key} is given twice` };
    ids.add(key);
  }
  for (let n = 0; n < e.length; n++) {
    const edge = e[n];
    if (!isObj(edge)) return { path: ['e', n], message: 'an edge is an object {f, t, …}' };
    for (const end of ['f', 't'] as const) {
      if (!Object.hasOwn(edge, end)) return { path: ['e', n, end], message: `an edge needs ${end === 'f' ? 'f (from)' : 't (to)'}` };
      if (!ids.has(idKey(edge[end]))) return { path: ['e', n, end], message: `names no vertex: ${idKey(edge[end])} is not an id of v` };
    }
  }
  return undefined;
}
