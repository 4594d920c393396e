import type { Issue } from './errors';
import type { Stream } from './stream-definition';
import { deepEqual, mergeTags, type Tags } from './stream-tags';

/**
 * The datastream document's `ensure_stream`, as a comparison: the stream `query tags` found against the
 * one the request would create. Everything a definition holds but its tags is configuration; the members
 * every stream has (name, type, schema, time field, dimensions, validation) are compared as the request
 * would create them, defaults included, and a section (source, alerts, device, pipeline, …) only when the
 * request gives it. A stream that learns its schema may hold more fields than asked: the asked ones must
 * be among them, as they are.
 *
 * @example
 * const issues = configurationDifferences(existing, newStream(input, now, suffix), { idGiven: input.id !== undefined });
 * if (issues.length) throw new InconsistentStreamConfigurationError(existing.id, issues);
 */
export function configurationDifferences(existing: Stream, wanted: Stream, options: { idGiven: boolean }): Issue[] {
  const issues: Issue[] = [];
  const differs = (member: string, message: string) => issues.push({ path: [member], message });
  for (const member of ALWAYS) {
    if (!deepEqual(comparable(member, existing), comparable(member, wanted))) differs(member, `is ${describe(comparable(member, existing))}, not ${describe(comparable(member, wanted))}`);
  }
  if (existing.learnSchema) {
    for (const [field, spec] of Object.entries(wanted.schema)) {
      const have = Object.hasOwn(existing.schema, field) ? existing.schema[field] : undefined;
      if (!deepEqual(have, spec)) issues.push({ path: ['schema', field], message: have ? `is ${describe(have)}, not ${describe(spec)}` : 'is not a field of the stream' });
    }
  } else if (!deepEqual(existing.schema, wanted.schema)) {
    const fields = new Set([...Object.keys(existing.schema), ...Object.keys(wanted.schema)]);
    for (const field of [...fields].sort()) {
      const [have, want] = [existing.schema[field], wanted.schema[field]];
      if (!deepEqual(have, want)) issues.push({ path: ['schema', field], message: have === undefined ? 'is not a field of the stream' : want === undefined ? 'is a field of the stream the request does not give' : `is ${describe(have)}, not ${describe(want)}` });
    }
  }
  for (const member of WHEN_GIVEN) {
    if (wanted[member] !== undefined && !deepEqual(comparable(member, existing), comparable(member, wanted))) differs(member, 'differs from the stream’s');
  }
  if (options.idGiven && wanted.id !== existing.id) differs('id', `is '${existing.id}'`);
  return issues;
}

const ALWAYS = ['name', 'type', 'timeField', 'dimensions', 'validation', 'learnSchema'] as const;
const WHEN_GIVEN = ['description', 'source', 'alerts', 'vaultId', 'webhook', 'device', 'subscription', 'mqttFormat', 'eventTypes', 'defaultQuery', 'pipeline', 'aggregations'] as const;

/** A member as compared: a device's password hash is salted, so only its username counts. */
function comparable(member: (typeof ALWAYS)[number] | (typeof WHEN_GIVEN)[number], s: Stream): unknown {
  if (member === 'learnSchema') return s.learnSchema === true;
  if (member === 'device' && s.device?.credentials) return { ...s.device, credentials: { username: s.device.credentials.username } };
  return s[member];
}

const describe = (v: unknown) => (v === undefined ? 'not set' : JSON.stringify(v));

/**
 * The tags an ensured stream is created with, and merged into one found: the request's tags with its query
 * tags over them, so the stream is found by them again.
 *
 * @example
 * ensuredTags({ unit: 'C' }, { site: 'lyon' }); // { unit: 'C', site: 'lyon' }
 */
export function ensuredTags(tags: Tags, queryTags: Tags): Tags {
  return mergeTags(tags, queryTags);
}
