import * as z from 'zod';
import { BadRequestError, ReservedTagNameError, type Issue } from './errors';
import { findUnsafeJson } from './json-safety';

/**
 * Stream tags as the datastream document manages them: any JSON value under a key, merged by `update_tags`,
 * removed by `remove_tag`, cleared by `clear_tags`, and matched by `find_streams` down nested values.
 *
 * @example
 * const tags = mergeTags({ title: 'Stream 1', visualization: { type: 'line' } }, { visualization: { hidden: true } });
 * // { title: 'Stream 1', visualization: { type: 'line', hidden: true } }
 * matchesTags(tags, { visualization: { type: 'line' } }); // true
 */

/** A tag's value: anything JSON holds. */
export type TagValue = null | boolean | number | string | TagValue[] | { [key: string]: TagValue };
export type Tags = Record<string, TagValue>;

/** A tag key, at any depth, in a definition and in a `?tag.KEY=VALUE` filter. */
export const TAG_KEY = /^[A-Za-z0-9_.:-]{1,64}$/;
const TAG_KEY_MESSAGE = 'tag keys are 1-64 of A-Z a-z 0-9 _ . : -';

/**
 * The names the datastream document reserves for a stream's own settings (`RESERVED_TAGS` of its
 * `datastream/api.py`: its descriptor returns them beside the tags), and the same names as Tributary's
 * definitions spell settings (`highestGranularity`, …), so a setting can never be shadowed by a tag.
 */
export const RESERVED_TAG_NAMES: ReadonlySet<string> = new Set(
  [
    'stream_id',
    'value_downsamplers',
    'time_downsamplers',
    'highest_granularity',
    'derived_from',
    'contributes_to',
    'pending_backprocess',
    'latest_datapoint',
    'earliest_datapoint',
    'downsampled_until',
    'value_type',
    'value_type_options',
  ].flatMap((n) => [n, n.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())]),
);

/** A stream's tags as JSON take at most this many bytes. */
export const MAX_TAGS_BYTES = 16_384;
/** Objects and arrays nest at most this deep under a tag. */
export const MAX_TAG_DEPTH = 8;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The shape problems of a tags object (keys, JSON values, depth, size); reserved names are `reservedTagIssues`'. */
function shapeIssues(tags: unknown, at: (string | number)[]): Issue[] {
  if (!isPlainObject(tags)) return [{ path: at, message: 'must be an object of tags' }];
  const issues: Issue[] = [];
  const walk = (value: unknown, path: (string | number)[], depth: number): void => {
    if (issues.length >= 100) return;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) issues.push({ path, message: 'must be a finite number' });
      return;
    }
    if (depth > MAX_TAG_DEPTH) {
      issues.push({ path, message: `nests deeper than ${MAX_TAG_DEPTH} levels` });
      return;
    }
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i], depth + 1));
    else if (isPlainObject(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (!TAG_KEY.test(k)) issues.push({ path: [...path, k], message: TAG_KEY_MESSAGE });
        else walk(v, [...path, k], depth + 1);
      }
    } else issues.push({ path, message: 'must be a JSON value' });
  };
  for (const [k, v] of Object.entries(tags)) {
    if (!TAG_KEY.test(k)) issues.push({ path: [...at, k], message: TAG_KEY_MESSAGE });
    else walk(v, [...at, k], 1);
  }
  if (issues.length === 0) {
    const bytes = new TextEncoder().encode(JSON.stringify(tags)).length;
    if (bytes > MAX_TAGS_BYTES) issues.push({ path: at, message: `the tags are ${bytes} bytes of JSON; at most ${MAX_TAGS_BYTES}` });
  }
  return issues;
}

/**
 * The reserved names among `tags`: a top-level name of `RESERVED_TAG_NAMES`, or a key with `__` at any
 * depth (the document's rule: nest objects instead of joining names with `__`).
 *
 * @example
 * reservedTagIssues({ stream_id: 'x', a: { b__c: 1 } }, ['tags']);
 * // [{ path: ['tags', 'stream_id'], message: … }, { path: ['tags', 'a', 'b__c'], message: … }]
 */
export function reservedTagIssues(tags: unknown, at: (string | number)[], topLevel = true): Issue[] {
  if (!isPlainObject(tags)) return [];
  const issues: Issue[] = [];
  for (const [k, v] of Object.entries(tags)) {
    if (topLevel && RESERVED_TAG_NAMES.has(k)) issues.push({ path: [...at, k], message: `'${k}' is reserved for a stream setting` });
    else if (k.includes('__')) issues.push({ path: [...at, k], message: "a tag key cannot contain '__': nest an object instead" });
    if (isPlainObject(v)) issues.push(...reservedTagIssues(v, [...at, k], false));
  }
  return issues;
}

/** The zod schema of a definition's `tags` (its reserved names are checked before it, `checkReservedTags`). */
export const TagsSchema = z
  .record(z.string(), z.unknown())
  .superRefine((tags, ctx) => {
    for (const issue of shapeIssues(tags, [])) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  })
  .transform((tags) => tags as Tags)
  .meta({ description: 'Any JSON values (nested at most 8 deep, 16 KiB in all) under keys of 1-64 of A-Z a-z 0-9 _ . : -; the datastream document’s setting names (stream_id, value_downsamplers, …) and keys with `__` are reserved.' });

/** Throws a `ReservedTagNameError` when `tags` holds a reserved name (what the document raises first). */
export function checkReservedTags(tags: unknown, at: (string | number)[]): void {
  const issues = reservedTagIssues(tags, at);
  if (issues.length > 0) throw new ReservedTagNameError(issues);
}

/**
 * Parses a tags object from a request body: a `ReservedTagNameError` for a reserved name, else a
 * `BadRequestError` listing every shape problem with its path.
 *
 * @example
 * parseTags({ visualization: { hidden: false } }, 'tags'); // the tags
 */
export function parseTags(body: unknown, what: string, at: (string | number)[] = []): Tags {
  const unsafe = findUnsafeJson(body);
  if (unsafe) throw new BadRequestError(`Invalid ${what}.`, [{ ...unsafe, path: [...at, ...unsafe.path] }]);
  checkReservedTags(body, at);
  const issues = shapeIssues(body, at);
  if (issues.length > 0) throw new BadRequestError(`Invalid ${what}.`, issues);
  return body as Tags;
}

/**
 * The document's `update_tags`: `update` is merged into `current`, objects member by member at every depth,
 * any other value (an array, a string, `null`) replacing what was there. Neither argument is changed.
 *
 * @example
 * mergeTags({ a: 1, v: { x: 1, y: 2 } }, { v: { y: 3 }, b: [1] }); // { a: 1, v: { x: 1, y: 3 }, b: [1] }
 */
export function mergeTags(current: Tags, update: Tags): Tags {
  const out: Tags = { ...current };
  for (const [k, v] of Object.entries(update)) {
    const was = Object.hasOwn(out, k) ? out[k] : undefined;
    out[k] = isPlainObject(v) && isPlainObject(was) ? (mergeTags(was as Tags, v as Tags) as TagValue) : v;
  }
  return out;
}

/**
 * The document's `remove_tag`: each path (a key, then nested keys) is removed; a path that names nothing
 * is no error. Objects emptied by it stay, as empty objects.
 *
 * @example
 * removeTags({ a: 1, v: { x: 1, y: 2 } }, [['a'], ['v', 'y']]); // { v: { x: 1 } }
 */
export function removeTags(current: Tags, paths: readonly (readonly string[])[]): Tags {
  const out = structuredClone(current);
  for (const path of paths) {
    let at: Record<string, unknown> = out;
    for (const key of path.slice(0, -1)) {
      const next = Object.hasOwn(at, key) ? at[key] : undefined;
      if (!isPlainObject(next)) {
        at = {};
        break;
      }
      at = next;
    }
    const last = path[path.length - 1];
    if (last !== undefined && Object.hasOwn(at, last)) delete at[last];
  }
  return out;
}

/**
 * The document's `find_streams` match (its MongoDB backend's): each query tag must match the stream's tag
 * of that name. An object matches down its members (an empty object matches anything); any other value
 * matches an equal value, or an array holding an equal element; an array of objects matches when one of
 * its elements does.
 *
 * @example
 * const tags = { title: 'Stream 1', visualization: { value_downsamplers: ['mean', 'min'] } };
 * matchesTags(tags, { visualization: { value_downsamplers: 'mean' } }); // true
 * matchesTags(tags, { title: 'Stream 2' }); // false
 */
export function matchesTags(tags: Tags, query: Tags): boolean {
  return Object.entries(query).every(([k, q]) => matchesValue(Object.hasOwn(tags, k) ? tags[k] : undefined, q));
}

function matchesValue(value: TagValue | undefined, q: TagValue): boolean {
  if (isPlainObject(q)) {
    if (Object.keys(q).length === 0) return true;
    if (Array.isArray(value)) return value.some((v) => isPlainObject(v) && matchesValue(v, q));
    if (!isPlainObject(value)) return false;
    return matchesTags(value as Tags, q as Tags);
  }
  if (value === undefined) return false;
  if (deepEqual(value, q)) return true;
  return Array.isArray(value) && value.some((v) => deepEqual(v, q));
}

/** Equality of JSON values, objects regardless of member order. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * A `find_streams` query from its JSON text (`GET /v1/streams?tags=…`): an object of tags, keys checked as
 * tag keys and for `__` (a `ReservedTagNameError`, as the document raises it); a reserved setting name is
 * no error there, it matches no stream.
 *
 * @example
 * parseTagQuery('{"visualization":{"type":"line"}}', ['tags']); // { visualization: { type: 'line' } }
 */
export function parseTagQuery(text: string, at: (string | number)[]): Tags {
  let query: unknown;
  try {
    query = JSON.parse(text);
  } catch {
    throw new BadRequestError('Invalid query parameters.', [{ path: at, message: 'must be a JSON object of tags, e.g. {"site":"lyon"}' }]);
  }
  const unsafe = findUnsafeJson(query);
  if (unsafe) throw new BadRequestError('Invalid query parameters.', [{ ...unsafe, path: [...at, ...unsafe.path] }]);
  const doubled = reservedTagIssues(query, at).filter((i) => String(i.path[i.path.length - 1]).includes('__'));
  if (doubled.length > 0) throw new ReservedTagNameError(doubled);
  const issues = shapeIssues(query, at);
  if (issues.length > 0) throw new BadRequestError('Invalid query parameters.', issues);
  return query as Tags;
}
