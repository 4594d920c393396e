import { BadRequestError, type Issue } from './errors';
import { translateRules } from './seed-dialect-alerts';
import { generated, translateProcessing } from './seed-dialect-processing';
import { deriveDeviceSchema, isDeviceSource, patchDevicePoll, translateDeviceSource } from './seed-dialect-devices';
import { parseStreamInput, parseStreamPatch, STREAM_TYPES, type Stream, type StreamType, type StreamInput, type StreamPatch } from './stream-definition';
import { EVENT_TYPE_FIELD } from './stream-sections';
import { isUnixCron, unixCronToEventBridge } from './unix-cron';

/**
 * The documents' dialect: stream definitions as the Data Streams document writes them, translated once (at
 * create and update) into the canonical definition the rest of Tributary sees. A canonical body passes
 * through unchanged; each alias below is an explicit rule, and any other key is left for the canonical
 * schema, which refuses it by name. A problem is reported at the path the client wrote, not the canonical one.
 *
 * | the documents write | canonical |
 * |---|---|
 * | `schema.f.range: [min, max]`, `schema.f.min` / `.max` | `schema.f.range: {min, max}` |
 * | `source` of an `api_pull`: `{endpoint, method, headers, schedule, timeout}` | `source: {kind: 'api_pull', url, method, headers, schedule, timeoutMs}` |
 * | `source` of a `database`: `{type: 'postgresql', connection: {…, username}, query, schedule, parameters, incrementalColumn}` | `source: {kind: 'database', engine, connection: {…, user}, …, initialCursor, mapping}` |
 * | `source` of an `iot_sensor` | `device`; with a `deviceId`, a `deviceId` string field and dimension |
 * | `source` `plc_integration` (Modbus TCP) or `bacnet`, `processing.frequency` | an `iot_sensor` polled by a `modbus_tcp` or `bacnet` source (`seed-dialect-devices.ts`) |
 * | `source` of an `event_stream`: `{type: 'webhook', endpoint, authentication, secret}` | `webhook: {authentication, secret}` |
 * | `eventTypes: {type: {field: spec}}` | `eventTypes: {type: {fields, required}}`, their fields in `schema`, an `eventType` field |
 * | `${NAME}` in a source's URL, headers or credentials | `${secret:NAME}` |
 * | a Unix cron `schedule` (`0 *\/6 * * *`) | its EventBridge `cron()` |
 * | no `dimensions` (the documents name no series keys) | the required string fields |
 * | `processing.validation`, `.alertThresholds` | `validation`, `alertThresholds` |
 * | `processing.frequency` + `.aggregation` | `defaultQuery: {granularity, downsamplers}` |
 * | `processing.transform`: a JavaScript `function …` / a JSONata expression | `source.script` / `source.transform` |
 * | `processing.deduplicate: true` | `source.dedupe: {key: every field but the time}` |
 * | `processing.alerting`, alert rules with `condition` and document actions | `alerts` (`seed-dialect-alerts.ts`) |
 * | a patch `{streamId, rules}` (the document's `setAlerts`) | `alerts` |
 *
 * @example
 * const input = parseDefinition({ name: 'T', type: 'iot_sensor', schema: { t: { type: 'number', range: [-40, 100] } } });
 * input.schema.t.range; // { min: -40, max: 100 }
 */

type Path = (string | number)[];
type Obj = Record<string, unknown>;

export { AGGREGATIONS } from './seed-dialect-processing';
export { isJavaScriptFunction } from './transformations';

/** A translated body, the problems only the dialect sees, and where canonical paths were written by the client. */
export interface Translation {
  body: unknown;
  issues: Issue[];
  /** Canonical path prefix → the path the client wrote it at. */
  renames: { canonical: Path; written: Path }[];
}


const DOC_SECRET = /\$\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g;
const LAST_PROCESSED = '${lastProcessedTime}';
const DEVICE_FIELD = 'deviceId';
/** `$1` on a database stream's first run when its parameter is `${lastProcessedTime}`: before any row. */
export const EPOCH_CURSOR = '1970-01-01T00:00:00.000Z';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Translates a create (`stream` absent) or a patch of `stream` from the documents' dialect to the canonical form.
 *
 * @example
 * translateDefinition({ name: 'T', type: 'api_pull', source: { endpoint: 'https://x.example/a', schedule: '0 * * * *' }, schema: {} }).body;
 * // { …, source: { kind: 'api_pull', url: 'https://x.example/a', schedule: 'cron(0 * * * ? *)' } }
 */
export function translateDefinition(input: unknown, stream?: Stream): Translation {
  const t: Translation = { body: input, issues: [], renames: [] };
  if (!isObj(input)) return t;
  const body: Obj = { ...input };
  const rename = (canonical: Path, written: Path) => t.renames.push({ canonical, written });
  const issue = (path: Path, message: string) => t.issues.push({ path, message });
  if (!stream) documentType(body, issue);
  // a BACnet device's points make its schema (seed-dialect-devices.ts), before any is learned
  if (!stream) deriveDeviceSchema(body);
  // the documents' definitions without a schema (Energy Management, HVAC Monitoring): the records' own fields
  // make it, each typed by its first value (`learnSchema`, validate-record.ts)
  if (!stream && !('schema' in body) && !('eventTypes' in body) && !('learnSchema' in body)) {
    body.schema = {};
    body.learnSchema = true;
  }
  const type = typeof body.type === 'string' ? body.type : stream?.type;

  const documentForm = 'processing' in body || 'vaultId' in body || (isObj(body.source) && !('kind' in body.source)) || isObj(body.eventTypes);
  if (isObj(body.schema)) body.schema = translateSchema(body.schema, ['schema'], rename, issue);
  // the documents name no series keys: their required string fields identify a record's series
  if (!stream && documentForm && !('dimensions' in body) && isObj(body.schema) && type !== 'event_stream') body.dimensions = seriesKeys(body);
  if (isObj(body.eventTypes)) translateEventTypes(body, rename, issue);
  if (isObj(body.source)) translateSource(body, type, rename, issue);
  // the document's setAlerts(streamId, {streamId, rules}) is PATCH /v1/streams/{id} with that body
  if (stream && Array.isArray(body.rules)) {
    if ('alerts' in body) issue(['rules'], 'give rules or alerts, not both');
    if ('streamId' in body && body.streamId !== stream.id) issue(['streamId'], `names another stream than the path (${stream.id})`);
    body.alerts = translateRules(body.rules, ['rules'], issue, rename);
    delete body.rules;
    delete body.streamId;
    rename(['alerts'], ['rules']);
  } else if (Array.isArray(body.alerts)) body.alerts = translateRules(body.alerts, ['alerts'], issue, rename);
  if (stream) patchDevicePoll(body, stream.source, rename, issue);
  if ('processing' in body) translateProcessing(body, type, stream, rename, issue);
  t.body = body;
  return t;
}

/** What the integration examples' sources are: the Tributary type that takes them, or why none does. */
const SOURCE_TYPES: Readonly<Record<string, StreamType | { refused: string }>> = {
  mqtt: 'iot_sensor',
  api_pull: 'api_pull',
  postgresql: 'database',
  webhook: 'event_stream',
  // polled from the device: an iot_sensor with a modbus_tcp or bacnet source
  plc_integration: 'iot_sensor',
  bacnet: 'iot_sensor',
};

/**
 * The integration examples name their domain as the type (`occupancy`, `energy`, `manufacturing`, …): the
 * source says which Tributary type that is, and the domain is kept as the `category` tag.
 */
function documentType(body: Obj, issue: Report): void {
  if (typeof body.type !== 'string' || (STREAM_TYPES as readonly string[]).includes(body.type) || !isObj(body.source) || 'kind' in body.source) return;
  const sourceType = typeof body.source.type === 'string' ? body.source.type : undefined;
  const mapped = sourceType === undefined ? undefined : SOURCE_TYPES[sourceType];
  if (mapped === undefined) return; // the canonical schema names the type it does not know
  if (typeof mapped === 'object') {
    issue(['source', 'type'], mapped.refused);
    // what else is wrong is reported as for the iot_sensor the stream would be, not against a source it cannot have
    body.type = 'iot_sensor';
    delete body.source;
    return;
  }
  const tags = isObj(body.tags) ? body.tags : {};
  if (!('category' in tags)) body.tags = { ...tags, category: body.type };
  body.type = mapped;
  // `type: 'api_pull'` in a pull source is the stream's type, not the source's
  if (mapped === 'api_pull') {
    const { type: _type, ...source } = body.source;
    body.source = source;
  }
}

/**
 * Parses a create body in either dialect: a `BadRequestError` lists every problem at the path the client wrote.
 *
 * @example
 * const input = parseDefinition(JSON.parse(event.body));
 */
export function parseDefinition(body: unknown): StreamInput {
  const t = translateDefinition(body);
  return parseTranslated(t, () => parseStreamInput(t.body), 'stream definition');
}

/**
 * Parses a patch body in either dialect against the stream it changes.
 *
 * @example
 * const patch = parseDefinitionPatch(JSON.parse(event.body), stream);
 */
export function parseDefinitionPatch(body: unknown, stream: Stream): StreamPatch {
  const t = translateDefinition(body, stream);
  return parseTranslated(t, () => parseStreamPatch(t.body), 'stream patch');
}

function parseTranslated<T>(t: Translation, parse: () => T, what: string): T {
  let parsed: T | undefined;
  let issues = [...t.issues];
  try {
    parsed = parse();
  } catch (err) {
    if (!(err instanceof BadRequestError)) throw err;
    // a place the dialect already explained is not reported again by the canonical schema
    const explained = new Set(issues.map((i) => JSON.stringify(i.path)));
    const canonical = err.issues.map((i) => ({ ...i, path: writtenPath(i.path, t.renames) })).filter((i) => !explained.has(JSON.stringify(i.path)));
    issues = [...issues, ...canonical];
  }
  if (issues.length > 0 || parsed === undefined) throw new BadRequestError(`Invalid ${what}.`, issues);
  return parsed;
}

/**
 * Where the client wrote a canonical path of its parsed body (for problems found after parsing, such as the
 * runtime's action policy).
 *
 * @example
 * writtenPathOf({ streamId: 's', rules: [{ …, actions: [{ type: 'email', recipients: ['x'] }] }] }, ['alerts', 0, 'actions', 0, 'to'], stream);
 * // ['rules', 0, 'actions', 0, 'recipients']
 */
export function writtenPathOf(body: unknown, path: Path, stream?: Stream): Path {
  return writtenPath(path, translateDefinition(body, stream).renames);
}

/** The path as the client wrote it: the longest renamed prefix replaced. */
function writtenPath(path: Path, renames: Translation['renames']): Path {
  let best: Translation['renames'][number] | undefined;
  for (const r of renames) {
    if (r.canonical.length <= path.length && r.canonical.every((p, i) => p === path[i]) && (!best || r.canonical.length > best.canonical.length)) best = r;
  }
  return best ? [...best.written, ...path.slice(best.canonical.length)] : path;
}

type Rename = (canonical: Path, written: Path) => void;
type Report = (path: Path, message: string) => void;

// Objects are built with Object.fromEntries: a client's `__proto__` key stays an own key (refused by the
// canonical schema), never the prototype of what is built.
function translateSchema(schema: Obj, at: Path, rename: Rename, issue: Report): Obj {
  return Object.fromEntries(Object.entries(schema).map(([name, spec]) => [name, isObj(spec) ? translateField(spec, [...at, name], rename, issue) : spec]));
}

/** `range: [min, max]` and field-level `min` / `max` become `range: {min, max}`. */
function translateField(spec: Obj, at: Path, rename: Rename, issue: Report): Obj {
  const out: Obj = { ...spec };
  if (Array.isArray(spec.range)) {
    if (spec.range.length !== 2) issue([...at, 'range'], 'as a list, a range is [min, max]');
    else {
      out.range = { min: spec.range[0], max: spec.range[1] };
      rename([...at, 'range', 'min'], [...at, 'range', 0]);
      rename([...at, 'range', 'max'], [...at, 'range', 1]);
    }
  }
  if ('min' in spec || 'max' in spec) {
    if ('range' in spec) issue([...at, 'min' in spec ? 'min' : 'max'], 'give min/max or range, not both');
    else {
      out.range = { ...('min' in spec && { min: spec.min }), ...('max' in spec && { max: spec.max }) };
      for (const bound of ['min', 'max'] as const) if (bound in spec) rename([...at, 'range', bound], [...at, bound]);
      rename([...at, 'range'], at);
    }
    delete out.min;
    delete out.max;
  }
  return out;
}

/** Document event types (a schema each) become canonical ones, their fields merged into `schema`. */
function translateEventTypes(body: Obj, rename: Rename, issue: Report): void {
  const types = body.eventTypes as Obj;
  const documentForm = Object.values(types).some((v) => isObj(v) && !Array.isArray(v.fields));
  if (!documentForm) return;
  const schema = new Map<string, unknown>(Object.entries(isObj(body.schema) ? body.schema : {}));
  const from = new Map<string, Path>();
  const canonical = new Map<string, unknown>();
  for (const [name, fields] of Object.entries(types)) {
    if (!isObj(fields)) {
      issue(['eventTypes', name], 'an event type is an object of fields, as a schema is');
      continue;
    }
    const specs = translateSchema(fields, ['eventTypes', name], rename, issue);
    const required: string[] = [];
    for (const [field, spec] of Object.entries(specs)) {
      if (!isObj(spec)) {
        issue(['eventTypes', name, field], 'a field is an object such as { type: "string" }');
        continue;
      }
      const { required: isRequired, ...rest } = spec;
      if (isRequired === true) required.push(field);
      const seen = schema.get(field);
      if (isObj(seen) && JSON.stringify(seen) !== JSON.stringify(rest)) {
        issue(['eventTypes', name, field], `'${field}' is declared differently by event type '${from.get(field)?.[1] ?? 'schema'}'; one stream stores one type per field`);
        continue;
      }
      schema.set(field, rest);
      if (!from.has(field)) from.set(field, ['eventTypes', name, field]);
      rename(['schema', field], from.get(field)!);
    }
    canonical.set(name, { fields: Object.keys(specs), required });
  }
  if (schema.has(EVENT_TYPE_FIELD)) issue(['eventTypes'], `'${EVENT_TYPE_FIELD}' names the event type; no event type may declare it`);
  schema.set(EVENT_TYPE_FIELD, { type: 'string', enum: [...canonical.keys()], required: true });
  body.schema = Object.fromEntries(schema);
  body.eventTypes = Object.fromEntries(canonical);
  const dimensions = Array.isArray(body.dimensions) ? body.dimensions : [];
  if (!dimensions.includes(EVENT_TYPE_FIELD)) body.dimensions = [...dimensions, EVENT_TYPE_FIELD];
}

function seriesKeys(body: Obj): string[] {
  const time = typeof body.timeField === 'string' ? body.timeField : 'timestamp';
  return Object.entries(body.schema as Obj)
    .filter(([name, spec]) => name !== time && isObj(spec) && spec.type === 'string' && spec.required === true)
    .map(([name]) => name);
}

/** `${NAME}` → `${secret:NAME}` (a `${secret:NAME}` already is one). */
function secretRefs(text: unknown): unknown {
  return typeof text === 'string' ? text.replace(DOC_SECRET, '${secret:$1}') : text;
}

function schedule(value: unknown, at: Path, issue: Report): unknown {
  if (typeof value !== 'string' || !isUnixCron(value)) return value;
  try {
    return unixCronToEventBridge(value);
  } catch (err) {
    issue(at, (err as Error).message);
    return value;
  }
}

/**
 * `authentication: "bearer_token"` on a pull: `Authorization: Bearer ${secret:<NAME>_TOKEN}`, NAME the
 * stream's name in upper snake case (Energy Management → `ENERGY_MANAGEMENT_TOKEN`), read where every pull
 * secret is (Secrets Manager `tributary/pull/<NAME>`, `TRIBUTARY_SECRET_<NAME>` on one machine).
 */
function bearerToken(out: Obj, authentication: unknown, name: unknown, issue: Report): void {
  if (authentication !== 'bearer_token') {
    issue(['source', 'authentication'], 'must be "bearer_token" (or give the Authorization header in headers, with a ${secret:NAME})');
    return;
  }
  const headers = isObj(out.headers) ? (out.headers as Record<string, unknown>) : {};
  if (Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
    issue(['source', 'authentication'], 'give authentication or an Authorization header, not both');
    return;
  }
  out.headers = { ...headers, authorization: `Bearer \${secret:${tokenSecretName(name)}}` };
}

/** `Energy Management` → `ENERGY_MANAGEMENT_TOKEN`: a secret name (1-64 of A-Z 0-9 _). */
export function tokenSecretName(name: unknown): string {
  const base = (typeof name === 'string' ? name : '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 58);
  return `${base || 'PULL'}_TOKEN`;
}

function translateSource(body: Obj, type: string | undefined, rename: Rename, issue: Report): void {
  const source = { ...(body.source as Obj) };
  if ('schedule' in source) source.schedule = schedule(source.schedule, ['source', 'schedule'], issue);
  if ('kind' in source || type === undefined) {
    body.source = source;
    return;
  }
  if (type === 'api_pull') {
    const { endpoint, timeout, ...rest } = source;
    const out: Obj = { kind: 'api_pull', ...rest };
    if (endpoint !== undefined) {
      if ('url' in source) issue(['source', 'endpoint'], 'give endpoint or url, not both');
      out.url = secretRefs(endpoint);
      rename(['source', 'url'], ['source', 'endpoint']);
    } else if ('url' in source) out.url = secretRefs(source.url);
    if (timeout !== undefined) {
      out.timeoutMs = timeout;
      rename(['source', 'timeoutMs'], ['source', 'timeout']);
    }
    if (isObj(source.headers)) out.headers = Object.fromEntries(Object.entries(source.headers).map(([k, v]) => [k, secretRefs(v)]));
    delete out.authentication;
    if (source.authentication !== undefined) bearerToken(out, source.authentication, body.name, issue);
    body.source = out;
  } else if (type === 'database') {
    const { type: engine, parameters, connection, ...rest } = source;
    const out: Obj = { kind: 'database', engine, ...rest };
    rename(['source', 'engine'], ['source', 'type']);
    if (isObj(connection)) {
      const { username, ...conn } = connection;
      out.connection = {
        ...conn,
        ...(username !== undefined && { user: secretRefs(username) }),
        ...('password' in conn && { password: secretRefs(conn.password) }),
      };
      if (username !== undefined) rename(['source', 'connection', 'user'], ['source', 'connection', 'username']);
    } else if (connection !== undefined) out.connection = connection;
    if (parameters !== undefined) {
      if (!Array.isArray(parameters) || parameters.length !== 1 || parameters[0] !== LAST_PROCESSED) {
        issue(['source', 'parameters'], `the one parameter a query takes is ["${LAST_PROCESSED}"], bound to $1`);
      } else out.initialCursor ??= EPOCH_CURSOR;
    }
    // the documents' columns are snake_case, their schema camelCase: each field reads its snake_case column
    if (!('mapping' in out) && isObj(body.schema) && Object.keys(body.schema).length > 0) {
      out.mapping = generated(Object.fromEntries(Object.keys(body.schema).map((f) => [f, f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)])));
    }
    body.source = out;
  } else if (type === 'iot_sensor' && isDeviceSource(source)) {
    body.source = translateDeviceSource(source, body, rename, issue);
  } else if (type === 'iot_sensor' && Array.isArray(source.topics)) {
    // devices that publish to another broker: the stream subscribes to that broker's topics
    const { type: protocol, endpoint, url, topics, ...rest } = source;
    if (protocol !== undefined && protocol !== 'mqtt') issue(['source', 'type'], "a source with topics is another MQTT broker: { type: 'mqtt', endpoint, topics }");
    if (endpoint !== undefined && url !== undefined) issue(['source', 'endpoint'], 'give endpoint or url, not both');
    body.subscription = { url: endpoint ?? url, topics, ...rest, ...(typeof rest.password === 'string' && { password: secretRefs(rest.password) }) };
    delete body.source;
    rename(['subscription', 'url'], ['source', endpoint !== undefined ? 'endpoint' : 'url']);
    rename(['subscription'], ['source']);
  } else if (type === 'iot_sensor') {
    body.device = source;
    delete body.source;
    rename(['device'], ['source']);
    // the device's records name it (the document's MQTT client sends `deviceId`): a dimension, so each device is a series
    if (typeof source.deviceId === 'string' && isObj(body.schema) && !(DEVICE_FIELD in body.schema)) {
      body.schema = { ...body.schema, [DEVICE_FIELD]: { type: 'string' } };
      const dimensions = Array.isArray(body.dimensions) ? body.dimensions : [];
      if (!dimensions.includes(DEVICE_FIELD)) body.dimensions = [...dimensions, DEVICE_FIELD];
    }
  } else if (type === 'event_stream') {
    const { type: kind, endpoint: _endpoint, secret, ...rest } = source;
    if (kind !== 'webhook') issue(['source', 'type'], "an event_stream's source is { type: 'webhook', authentication, secret }");
    // `endpoint` is where the sender posts: this stream's own ingest URL, given in the create answer
    body.webhook = { ...rest, ...(secret !== undefined && { secret: secretRefs(secret) }) };
    delete body.source;
    rename(['webhook'], ['source']);
  } else body.source = source;
}
