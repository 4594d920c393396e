import { pointFieldName, pointsSchema } from './bacnet-points';
import { DEVICE_SOURCE_KINDS } from './stream-names';

/**
 * The documents' device sources, translated to the canonical polled sources of an `iot_sensor` stream (the rest
 * of the dialect is `seed-dialect.ts`):
 *
 * | the documents write | canonical |
 * |---|---|
 * | `source: {type: 'plc_integration', endpoint: 'plc://host:502', protocol: 'modbus_tcp', registers: {production_count: 40001}}` | `source: {kind: 'modbus_tcp', host, port, registers: {productionCount: {address: 40001}}}` |
 * | `source: {type: 'bacnet', device, points: ['Zone1.Temperature', …]}` | `source: {kind: 'bacnet', device, points: {zone1Temperature: 'Zone1.Temperature', …}}` |
 * | a BACnet stream without `schema` | a `number` field per point and a required `timestamp` |
 * | `processing.frequency: '10s'` of a device stream | `source.schedule: 'rate(10 seconds)'` (the poll interval, not a default query) |
 *
 * A register's name is the schema field of that name, or of its camelCase (`production_count` → `productionCount`);
 * a point of a list is named by its last two name segments in lowerCamelCase (`bacnet-points.ts`).
 *
 * @example
 * translateDeviceSource({ type: 'plc_integration', endpoint: 'plc://10.0.0.7', registers: { line_speed: 40002 } }, body, rename, issue);
 * // { kind: 'modbus_tcp', host: '10.0.0.7', port: 502, registers: { lineSpeed: { address: 40002 } }, schedule: 'rate(10 seconds)' }
 */

type Path = (string | number)[];
type Obj = Record<string, unknown>;
type Rename = (canonical: Path, written: Path) => void;
type Report = (path: Path, message: string) => void;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const DOCUMENT_TYPES = new Set(['plc_integration', 'bacnet']);
const ENDPOINT_SCHEMES = new Set(['plc:', 'modbus:', 'tcp:']);
const UNITS: Readonly<Record<string, string>> = { s: 'second', m: 'minute', h: 'hour', d: 'day' };

/**
 * Whether a document source is a device the stream polls (`plc_integration`, `bacnet`) or a canonical device source.
 *
 * @example
 * isDeviceSource({ type: 'bacnet', device: 'BAC-1', points: [] }); // true
 */
export function isDeviceSource(source: unknown): source is Obj {
  return isObj(source) && (DOCUMENT_TYPES.has(source.type as string) || (DEVICE_SOURCE_KINDS as readonly unknown[]).includes(source.kind));
}

/**
 * A BACnet stream written without a schema gets one from its points (see `pointsSchema`); anything else is left
 * alone. Runs before the dialect asks for a schema.
 *
 * @example
 * deriveDeviceSchema(hvacDefinition); // hvacDefinition.schema: { zone1Temperature: { type: 'number' }, …, timestamp: … }
 */
export function deriveDeviceSchema(body: Obj): void {
  const source = body.source;
  if ('schema' in body || !isObj(source) || source.type !== 'bacnet') return;
  const fields = Array.isArray(source.points) ? source.points.map((p) => (typeof p === 'string' ? pointFieldName(p) : undefined)) : isObj(source.points) ? Object.keys(source.points) : [];
  const named = [...new Set(fields.filter((f): f is string => f !== undefined))];
  if (named.length > 0) body.schema = pointsSchema(named, typeof body.timeField === 'string' ? body.timeField : 'timestamp');
}

/**
 * The document's PLC or BACnet source as the canonical `modbus_tcp` or `bacnet` source; problems are reported at
 * the path the client wrote.
 *
 * @example
 * body.source = translateDeviceSource(body.source, body, rename, issue);
 */
export function translateDeviceSource(source: Obj, body: Obj, rename: Rename, issue: Report): Obj {
  const schema = isObj(body.schema) ? body.schema : {};
  const { type, timeout, ...rest } = source;
  const out: Obj = type === 'plc_integration' ? modbus(rest, schema, rename, issue) : bacnet(rest, rename, issue);
  if (timeout !== undefined) {
    out.timeoutMs = timeout;
    rename(['source', 'timeoutMs'], ['source', 'timeout']);
  }
  if (!('schedule' in out)) {
    const processing = isObj(body.processing) ? body.processing : {};
    const rate = frequencyRate(processing.frequency);
    if (rate === undefined) issue(['processing', 'frequency'], 'a polled device needs processing.frequency, how often to read it ("10s", "5m", "1h")');
    else {
      out.schedule = rate;
      rename(['source', 'schedule'], ['processing', 'frequency']);
    }
  }
  return out;
}

function modbus(source: Obj, schema: Obj, rename: Rename, issue: Report): Obj {
  const { endpoint, protocol, registers, ...rest } = source;
  const out: Obj = { kind: 'modbus_tcp' };
  if (protocol !== undefined && protocol !== 'modbus_tcp') issue(['source', 'protocol'], "Tributary reads PLCs over Modbus TCP: protocol 'modbus_tcp'");
  if (endpoint !== undefined) {
    const at = parseEndpoint(endpoint);
    rename(['source', 'host'], ['source', 'endpoint']);
    rename(['source', 'port'], ['source', 'endpoint']);
    if (typeof at === 'string') issue(['source', 'endpoint'], at);
    else {
      out.host = at.host;
      if (at.port !== undefined) out.port = at.port;
    }
  }
  Object.assign(out, rest);
  if (!isObj(registers)) {
    out.registers = registers;
    return out;
  }
  const mapped: [string, unknown][] = [];
  for (const [name, spec] of Object.entries(registers)) {
    const camel = name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    const field = Object.hasOwn(schema, name) ? name : Object.hasOwn(schema, camel) ? camel : undefined;
    if (field === undefined) {
      issue(['source', 'registers', name], `no schema field '${name}'${camel === name ? '' : ` or '${camel}'`}: each register fills the schema field of its name (snake_case or camelCase)`);
      continue;
    }
    if (mapped.some(([f]) => f === field)) {
      issue(['source', 'registers', name], `another register already fills '${field}'`);
      continue;
    }
    mapped.push([field, spec]);
    // `production_count: 40001` has no `address` of its own: a bad address is reported at the register
    rename(['source', 'registers', field], ['source', 'registers', name]);
    if (typeof spec === 'number') rename(['source', 'registers', field, 'address'], ['source', 'registers', name]);
  }
  out.registers = Object.fromEntries(mapped);
  return out;
}

function bacnet(source: Obj, rename: Rename, issue: Report): Obj {
  const { points, ...rest } = source;
  const out: Obj = { kind: 'bacnet', ...rest };
  if (!Array.isArray(points)) {
    out.points = points;
    return out;
  }
  const mapped: [string, unknown][] = [];
  points.forEach((point, i) => {
    const field = typeof point === 'string' ? pointFieldName(point) : undefined;
    if (field === undefined) {
      issue(['source', 'points', i], 'a point is its object-name, such as "Zone1.Temperature"');
      return;
    }
    const clash = mapped.find(([f]) => f === field);
    if (clash) {
      issue(['source', 'points', i], `'${point}' and '${clash[1]}' both name the field '${field}': give points as an object {field: "Point.Name"}`);
      return;
    }
    mapped.push([field, point]);
    rename(['source', 'points', field], ['source', 'points', i]);
  });
  out.points = Object.fromEntries(mapped);
  return out;
}

/**
 * A patch `{processing: {frequency}}` of a polled device's stream changes how often it is polled: the stream's
 * source as it is, with the new schedule (a patch that gives the source sets its schedule itself).
 *
 * @example
 * patchDevicePoll({ processing: { frequency: '30s' } }, stream, rename, issue); // body.source: { …stream.source, schedule: 'rate(30 seconds)' }
 */
export function patchDevicePoll(body: Obj, current: unknown, rename: Rename, issue: Report): void {
  const processing = body.processing;
  if (!isObj(processing) || !('frequency' in processing) || 'source' in body || !isDeviceSource(current)) return;
  const rate = frequencyRate(processing.frequency);
  if (rate === undefined) {
    issue(['processing', 'frequency'], 'a polled device\'s frequency is how often to read it ("10s", "5m", "1h")');
    return;
  }
  body.source = { ...current, schedule: rate };
  rename(['source', 'schedule'], ['processing', 'frequency']);
}

/** `plc://host[:port]` (or `modbus://`, `tcp://`) → host and port. */
function parseEndpoint(endpoint: unknown): { host: string; port?: number } | string {
  const wrong = 'must be plc://host:port (port 502 when left out)';
  if (typeof endpoint !== 'string') return wrong;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return wrong;
  }
  if (!ENDPOINT_SCHEMES.has(url.protocol) || !url.hostname || (url.pathname !== '' && url.pathname !== '/') || url.search || url.username) return wrong;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return url.port ? { host, port: Number(url.port) } : { host };
}

/**
 * A document frequency as a schedule: `'10s'` → `'rate(10 seconds)'`, `'5m'` → `'rate(5 minutes)'`, `'120s'` →
 * `'rate(2 minutes)'`; `undefined` when it is not `<n><s|m|h|d>`.
 *
 * @example
 * frequencyRate('1h'); // 'rate(1 hour)'
 */
export function frequencyRate(frequency: unknown): string | undefined {
  const m = typeof frequency === 'string' ? /^(\d{1,6})([smhd])$/.exec(frequency) : null;
  if (!m) return undefined;
  let n = Number(m[1]);
  let unit = UNITS[m[2]!]!;
  if (unit === 'second' && n >= 60 && n % 60 === 0) [n, unit] = [n / 60, 'minute'];
  return `rate(${n} ${unit}${n === 1 ? '' : 's'})`;
}
