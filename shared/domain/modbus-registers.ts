/**
 * Modbus registers as a PLC's documentation numbers them, and the records they make. Pure: the reads
 * themselves are `functions/pull/modbus-source.ts`.
 *
 * Addresses follow the Modbus convention (the "984" numbering): `3xxxx` are input registers and `4xxxx`
 * holding registers, the protocol offset being the address minus `30001` / `40001` (`40001` is holding register
 * 0); six digits (`300001`–`365536`, `400001`–`465536`) reach the whole 16-bit range. Coils (`0xxxx`) and discrete
 * inputs (`1xxxx`) are bits, not registers, and are refused.
 *
 * | field type | the register value becomes |
 * |---|---|
 * | `number`, `integer` | the value (`uint16` unless the register's `type` says `int16`, `uint32`, `int32`, `float32`) |
 * | `boolean` | `true` unless 0 |
 * | `string` with an `enum` | the enum value at that index (0 = the first); an index past the end leaves the number, which the schema refuses |
 *
 * @example
 * parseRegisterAddress(40003); // { table: 'holding', offset: 2 }
 * planReads({ a: { address: 40001 }, b: { address: 40002, type: 'float32' } });
 * // [{ table: 'holding', start: 0, count: 3 }]
 */

/** What the mapping needs of a schema field (a `FieldSpec`, without importing the definition parser). */
export interface FieldLike {
  type: string;
  enum?: readonly (string | number)[] | undefined;
}

export const REGISTER_TYPES = ['uint16', 'int16', 'uint32', 'int32', 'float32'] as const;
export type RegisterType = (typeof REGISTER_TYPES)[number];

/** One register of a `modbus_tcp` source: its documented address and how its words are read. */
export interface RegisterSpec {
  address: number;
  /** Default `uint16`; the 32-bit types read two registers, high word first. */
  type?: RegisterType | undefined;
}

export type RegisterTable = 'holding' | 'input';

/** Where a register is: which table, which protocol offset (0-65535). */
export interface RegisterLocation {
  table: RegisterTable;
  offset: number;
}

/** One read request: `count` registers of `table` from `start`. */
export interface RegisterRead {
  table: RegisterTable;
  start: number;
  count: number;
}

/** What one Modbus request may read (the protocol's limit for function codes 3 and 4). */
export const MAX_REGISTERS_PER_READ = 125;

const RANGES: readonly { from: number; to: number; table: RegisterTable }[] = [
  { from: 30001, to: 39999, table: 'input' },
  { from: 40001, to: 49999, table: 'holding' },
  { from: 300001, to: 365536, table: 'input' },
  { from: 400001, to: 465536, table: 'holding' },
];

/**
 * The table and offset of a documented register address, or why it is not one.
 *
 * @example
 * parseRegisterAddress(40001); // { table: 'holding', offset: 0 }
 * parseRegisterAddress(30010); // { table: 'input', offset: 9 }
 * parseRegisterAddress(1);     // 'coils (0xxxx) and discrete inputs (1xxxx) are bits: …'
 */
export function parseRegisterAddress(address: number): RegisterLocation | string {
  if (!Number.isSafeInteger(address) || address < 1) return 'must be a register address such as 40001';
  for (const r of RANGES) {
    if (address >= r.from && address <= r.to) return { table: r.table, offset: address - r.from };
  }
  if (address < 30001 || (address >= 100001 && address < 300001)) {
    return 'coils (0xxxx) and discrete inputs (1xxxx) are bits: Tributary reads registers, 3xxxx (input) and 4xxxx (holding)';
  }
  return 'must be an input register (30001-39999, 300001-365536) or a holding register (40001-49999, 400001-465536)';
}

/** How many 16-bit registers a value of this type takes. */
export const registerWords = (type: RegisterType | undefined): 1 | 2 => (type === undefined || type === 'uint16' || type === 'int16' ? 1 : 2);

/**
 * The fewest reads that cover every register: registers of one table within `MAX_REGISTERS_PER_READ` of each
 * other share a read (the gap between them is read too, as PLC tools do).
 *
 * @example
 * planReads({ a: { address: 40001 }, b: { address: 40005 }, c: { address: 30001 } });
 * // [{ table: 'input', start: 0, count: 1 }, { table: 'holding', start: 0, count: 5 }]
 */
export function planReads(registers: Readonly<Record<string, RegisterSpec>>): RegisterRead[] {
  const spans = Object.values(registers)
    .map((r) => ({ loc: parseRegisterAddress(r.address), words: registerWords(r.type) }))
    .filter((s): s is { loc: RegisterLocation; words: 1 | 2 } => typeof s.loc === 'object')
    .sort((a, b) => (a.loc.table === b.loc.table ? a.loc.offset - b.loc.offset : a.loc.table === 'input' ? -1 : 1));
  const reads: RegisterRead[] = [];
  for (const { loc, words } of spans) {
    const last = reads.at(-1);
    const end = loc.offset + words;
    if (last && last.table === loc.table && end - last.start <= MAX_REGISTERS_PER_READ) last.count = Math.max(last.count, end - last.start);
    else reads.push({ table: loc.table, start: loc.offset, count: words });
  }
  return reads;
}

/**
 * The value of one register from the words the reads returned (each read's words keyed by `table:start`).
 *
 * @example
 * registerValue({ address: 40002, type: 'int16' }, new Map([['holding:0', [7, 65535]]]), planReads(regs)); // -1
 */
export function registerValue(spec: RegisterSpec, words: ReadonlyMap<string, readonly number[]>, reads: readonly RegisterRead[]): number | undefined {
  const loc = parseRegisterAddress(spec.address);
  if (typeof loc === 'string') return undefined;
  const read = reads.find((r) => r.table === loc.table && loc.offset >= r.start && loc.offset + registerWords(spec.type) <= r.start + r.count);
  const data = read && words.get(`${read.table}:${read.start}`);
  if (!read || !data) return undefined;
  const i = loc.offset - read.start;
  const hi = data[i];
  if (hi === undefined) return undefined;
  const type = spec.type ?? 'uint16';
  if (type === 'uint16') return hi;
  if (type === 'int16') return hi >= 0x8000 ? hi - 0x10000 : hi;
  const lo = data[i + 1];
  if (lo === undefined) return undefined;
  const view = new DataView(new ArrayBuffer(4));
  view.setUint16(0, hi);
  view.setUint16(2, lo);
  if (type === 'uint32') return view.getUint32(0);
  if (type === 'int32') return view.getInt32(0);
  return view.getFloat32(0);
}

/**
 * What a schema field makes of a number read from a device: the number for `number` and `integer`, `true` unless
 * 0 for `boolean`, the enum value at the index (from `base`, 0 for Modbus) for a `string` with an `enum`. An index
 * with no enum value leaves the number, so the schema refuses the record (`must be a string`) and the run counts it
 * as invalid, as any other bad reading.
 *
 * @example
 * fieldValue({ type: 'string', enum: ['good', 'warning', 'error'] }, 2); // 'error'
 * fieldValue({ type: 'string', enum: ['good', 'warning', 'error'] }, 7); // 7 (refused by the schema)
 */
export function fieldValue(spec: FieldLike, raw: number, base = 0): unknown {
  if (spec.type === 'boolean') return raw !== 0;
  if (spec.type === 'string' && spec.enum) {
    const value = Number.isInteger(raw) ? spec.enum[raw - base] : undefined;
    return value === undefined ? raw : value;
  }
  return raw;
}

/**
 * Why a schema field cannot take a number from a device register or point, or `undefined` when it can.
 *
 * @example
 * fieldRefusal({ type: 'string' }); // 'a string field takes a register only with an enum (the register is its index)'
 */
export function fieldRefusal(spec: FieldLike, what: 'register' | 'point'): string | undefined {
  if (spec.type === 'number' || spec.type === 'integer' || spec.type === 'boolean') return undefined;
  if (spec.type === 'string') return what === 'point' || spec.enum ? undefined : `a string field takes a register only with an enum (the register is its index)`;
  return `a ${spec.type} field cannot take a ${what}'s value: give it type number, integer, boolean or string${what === 'register' ? ' with an enum' : ''}`;
}

/**
 * The record one poll makes: each register's value as its field takes it, and the time field set to the poll's time.
 *
 * @example
 * modbusRecord({ productionCount: { address: 40001 } }, schema, 'timestamp', words, reads, Date.parse('2026-01-01T00:00:00Z'));
 * // { productionCount: 120, timestamp: '2026-01-01T00:00:00.000Z' }
 */
export function modbusRecord(
  registers: Readonly<Record<string, RegisterSpec>>,
  schema: Readonly<Record<string, FieldLike>>,
  timeField: string,
  words: ReadonlyMap<string, readonly number[]>,
  reads: readonly RegisterRead[],
  now: number,
): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [field, spec] of Object.entries(registers)) {
    const raw = registerValue(spec, words, reads);
    const fieldSpec = Object.hasOwn(schema, field) ? schema[field] : undefined;
    if (raw !== undefined) record[field] = fieldSpec ? fieldValue(fieldSpec, raw) : raw;
  }
  record[timeField] = new Date(now).toISOString();
  return record;
}
