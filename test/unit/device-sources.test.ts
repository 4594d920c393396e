import { describe, expect, it } from 'vitest';
import { bacnetRecord, pointFieldName, pointValue } from '../../shared/domain/bacnet-points';
import { fieldValue, modbusRecord, parseRegisterAddress, planReads, registerValue, type RegisterSpec } from '../../shared/domain/modbus-registers';
import { nextOnGrid, parseSchedule, runsWithin } from '../../shared/domain/pull-schedule';
import { frequencyRate } from '../../shared/domain/seed-dialect-devices';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';
import { compileStream } from '../../shared/domain/validate-record';
import { issuesOf } from '../fixtures/domain';

const QUALITY = { type: 'string', enum: ['good', 'warning', 'error'] } as const;
const words = (entries: [string, number[]][]) => new Map(entries);

describe('parseRegisterAddress', () => {
  it.each([
    [40001, 'holding', 0],
    [40005, 'holding', 4],
    [49999, 'holding', 9998],
    [30001, 'input', 0],
    [30010, 'input', 9],
    [400001, 'holding', 0],
    [465536, 'holding', 65535],
    [300001, 'input', 0],
  ])('reads %i as %s register offset %i', (address, table, offset) => {
    expect(parseRegisterAddress(address)).toEqual({ table, offset });
  });

  it.each([1, 10001, 20001, 100001])('refuses %i: coils and discrete inputs are bits', (address) => {
    expect(parseRegisterAddress(address)).toMatch(/coils \(0xxxx\) and discrete inputs \(1xxxx\) are bits/);
  });

  it.each([50001, 40000, 99999, 465537, 0, -40001, 40001.5])('refuses %d as no register address', (address) => {
    expect(typeof parseRegisterAddress(address)).toBe('string');
  });
});

describe('planReads and registerValue', () => {
  it('reads the document\'s five holding registers in one request and gives each its own word', () => {
    const registers: Record<string, RegisterSpec> = { a: { address: 40001 }, b: { address: 40002 }, c: { address: 40003 }, d: { address: 40004 }, e: { address: 40005 } };
    const reads = planReads(registers);
    expect(reads).toEqual([{ table: 'holding', start: 0, count: 5 }]);
    const data = words([['holding:0', [120, 85, 2, 72, 3]]]);
    expect(Object.values(registers).map((r) => registerValue(r, data, reads))).toEqual([120, 85, 2, 72, 3]);
  });

  it('splits input from holding registers and reads more than 125 registers apart separately', () => {
    const reads = planReads({ a: { address: 40001 }, b: { address: 40200 }, c: { address: 30003 }, d: { address: 40126, type: 'uint32' } });
    expect(reads).toEqual([
      { table: 'input', start: 2, count: 1 },
      // 40126 as a uint32 ends past 125 registers from 40001: the next read starts there and takes 40200 along
      { table: 'holding', start: 0, count: 1 },
      { table: 'holding', start: 125, count: 75 },
    ]);
  });

  it('decodes int16, uint32, int32 and float32, high word first', () => {
    const reads = planReads({ a: { address: 40001, type: 'int16' }, b: { address: 40002, type: 'uint32' }, c: { address: 40004, type: 'int32' }, d: { address: 40006, type: 'float32' } });
    const data = words([['holding:0', [0xffff, 0x0001, 0x0002, 0xffff, 0xfffe, 0x41c8, 0x0000]]]);
    expect(registerValue({ address: 40001, type: 'int16' }, data, reads)).toBe(-1);
    expect(registerValue({ address: 40002, type: 'uint32' }, data, reads)).toBe(65538);
    expect(registerValue({ address: 40004, type: 'int32' }, data, reads)).toBe(-2);
    expect(registerValue({ address: 40006, type: 'float32' }, data, reads)).toBe(25);
  });
});

describe('the enum index of a string register', () => {
  it('is the enum value at that index, 0 the first', () => {
    expect([0, 1, 2].map((i) => fieldValue(QUALITY, i))).toEqual(['good', 'warning', 'error']);
  });

  it('leaves an index past the end as the number, which the schema refuses as that record\'s problem', () => {
    expect(fieldValue(QUALITY, 3)).toBe(3);
    expect(fieldValue(QUALITY, -1)).toBe(-1);
    const stream = newStream(parseStreamInput({ name: 'L', type: 'iot_sensor', schema: { qualityStatus: QUALITY, timestamp: { type: 'datetime', required: true } } }), new Date(), () => 'x');
    const record = modbusRecord({ qualityStatus: { address: 40003 } }, stream.schema, 'timestamp', words([['holding:2', [7]]]), [{ table: 'holding', start: 2, count: 1 }], Date.parse('2026-05-01T00:00:00Z'));
    const checked = compileStream(stream).validate([record], { now: Date.parse('2026-05-01T00:00:00Z') });
    expect(checked.invalid).toBe(1);
    expect(checked.issues[0]).toMatchObject({ index: 0, path: ['qualityStatus'], message: 'must be a string, got number 7' });
  });

  it('makes a register a boolean field\'s true unless 0', () => {
    expect(fieldValue({ type: 'boolean' }, 0)).toBe(false);
    expect(fieldValue({ type: 'boolean' }, 5)).toBe(true);
  });
});

describe('modbusRecord', () => {
  it('fills each field from its register and the time field with the poll time', () => {
    const schema = { productionCount: { type: 'number' }, qualityStatus: QUALITY, timestamp: { type: 'datetime' } };
    const registers = { productionCount: { address: 40001 }, qualityStatus: { address: 40003 } };
    const record = modbusRecord(registers, schema, 'timestamp', words([['holding:0', [1200, 0, 1]]]), planReads(registers), Date.parse('2026-05-01T10:00:10Z'));
    expect(record).toEqual({ productionCount: 1200, qualityStatus: 'warning', timestamp: '2026-05-01T10:00:10.000Z' });
  });
});

describe('pointFieldName (BACnet points as a list)', () => {
  it.each([
    ['Zone1.Temperature', 'zone1Temperature'],
    ['Zone1.Humidity', 'zone1Humidity'],
    ['Zone1.Setpoint', 'zone1Setpoint'],
    ['System.Energy.Consumption', 'energyConsumption'],
    ['System.Status', 'systemStatus'],
    ['OAT', 'oat'],
    ['AHU-1.Supply Air Temp', 'ahu1SupplyAirTemp'],
    ['Floor.2nd.Lux', '_2ndLux'],
  ])('names %s %s', (point, field) => {
    expect(pointFieldName(point)).toBe(field);
  });

  it('names nothing from a name without a letter or digit', () => {
    expect(pointFieldName('..')).toBeUndefined();
  });

  it('gives a multi-state present-value the enum value of its state, 1 the first; a binary point 1 or 0 in a number field', () => {
    expect(pointValue({ type: 'string', enum: ['off', 'heating', 'cooling'] }, 2)).toBe('heating');
    expect(pointValue({ type: 'string', enum: ['off', 'heating', 'cooling'] }, 4)).toBe(4);
    expect(pointValue({ type: 'number' }, true)).toBe(1);
    expect(bacnetRecord({ zone1Temperature: 21.5, systemStatus: 1 }, { zone1Temperature: { type: 'number' }, systemStatus: { type: 'number' } }, 'timestamp', 0)).toEqual({
      zone1Temperature: 21.5,
      systemStatus: 1,
      timestamp: '1970-01-01T00:00:00.000Z',
    });
  });
});

describe('the canonical device sources', () => {
  const schema = { lineSpeed: { type: 'number' }, timestamp: { type: 'datetime', required: true } };
  const modbus = { kind: 'modbus_tcp', host: '10.0.0.7', registers: { lineSpeed: 40002 }, schedule: 'rate(10 seconds)' };

  it('keep a register given as its address as {address}, with the Modbus defaults', () => {
    expect(parseStreamInput({ name: 'L', type: 'iot_sensor', schema, source: modbus }).source).toEqual({
      ...modbus,
      port: 502,
      unitId: 1,
      registers: { lineSpeed: { address: 40002 } },
      timeoutMs: 5_000,
      allowPrivateTargets: true,
    });
  });

  it('refuse a register keyed by no schema field, the time field as a register, and a device source on an api_pull stream', () => {
    expect(issuesOf(() => parseStreamInput({ name: 'L', type: 'iot_sensor', schema, source: { ...modbus, registers: { speed: 40002, timestamp: 40003 } } }))).toEqual([
      { path: ['source', 'registers', 'speed'], message: expect.stringContaining("'speed' is not a field of the schema") },
      { path: ['source', 'registers', 'timestamp'], message: expect.stringContaining('is the time field') },
    ]);
    expect(issuesOf(() => parseStreamInput({ name: 'L', type: 'api_pull', schema, source: modbus }))).toContainEqual({ path: ['source', 'kind'], message: "must be 'api_pull' for a api_pull stream" });
    expect(issuesOf(() => parseStreamInput({ name: 'L', type: 'event_stream', schema, source: modbus }))).toContainEqual({ path: ['type'], message: expect.stringContaining('the stream is an iot_sensor') });
  });

  it('refuse a 32-bit register at the last address and a BACnet address with a bad port', () => {
    expect(issuesOf(() => parseStreamInput({ name: 'L', type: 'iot_sensor', schema, source: { ...modbus, registers: { lineSpeed: { address: 465536, type: 'float32' } } } }))).toEqual([
      { path: ['source', 'registers', 'lineSpeed', 'type'], message: expect.stringContaining('reads two registers') },
    ]);
    const bacnet = { kind: 'bacnet', device: 'AHU', address: '10.0.0.9:70000', points: { lineSpeed: 'AHU.Speed' }, schedule: 'rate(1 minute)' };
    expect(issuesOf(() => parseStreamInput({ name: 'B', type: 'iot_sensor', schema, source: bacnet }))).toEqual([{ path: ['source', 'address'], message: 'the port must be 1-65535' }]);
  });
});

describe('frequencies and short rates', () => {
  it('turns the document\'s frequencies into rates', () => {
    expect(['10s', '5m', '120s', '1h', '1d', 'often'].map(frequencyRate)).toEqual(['rate(10 seconds)', 'rate(5 minutes)', 'rate(2 minutes)', 'rate(1 hour)', 'rate(1 day)', undefined]);
  });

  it('spreads a 10-second rate over a one-minute tick, six runs 10 s apart, and leaves a 5-minute rate at one', () => {
    expect(runsWithin(parseSchedule('rate(10 seconds)'), 1_000, 60_000)).toEqual({ offsetsMs: [0, 10_000, 20_000, 30_000, 40_000, 50_000], next: 61_000 });
    expect(runsWithin(parseSchedule('rate(5 minutes)'), 1_000, 60_000)).toEqual({ offsetsMs: [0], next: 301_000 });
    expect(runsWithin(parseSchedule('rate(10 seconds)'), 1_000, undefined)).toEqual({ offsetsMs: [0], next: 11_000 });
  });

  it('keeps a rate in seconds on its grid when the tick runs late, and skips the runs a stopped runtime missed', () => {
    const every10s = parseSchedule('rate(10 seconds)');
    expect(nextOnGrid(every10s, 10_000, 10_040)).toBe(20_000);
    expect(nextOnGrid(every10s, 10_000, 95_000)).toBe(100_000);
    expect(nextOnGrid(parseSchedule('rate(5 minutes)'), 0, 40)).toBe(300_040);
  });
});
