import { createSocket } from 'node:dgram';
import { ObjectType } from '@bacnet-js/client';
import { describe, expect, it } from 'vitest';
import { BacnetReader } from '../../functions/pull/bacnet-source';
import { pullModbus } from '../../functions/pull/modbus-source';
import { PullFailedError } from '../../shared/domain/pull-errors';
import { BacnetSourceSchema, ModbusSourceSchema, type TargetPolicy } from '../../shared/domain/pull-source';
import { startBacnetDevice } from '../fixtures/bacnet-device';
import { startedForSuite } from '../fixtures/lifecycle';
import { startPlc } from '../fixtures/modbus-plc';

/** The device readers against a real Modbus TCP server and a simulated BACnet device on 127.0.0.1. */

const LOCAL: TargetPolicy = { allowPrivate: true, allowLoopback: true };
const NOW = Date.parse('2026-12-01T12:00:00.000Z');
const schema = { count: { type: 'number' }, flow: { type: 'number' }, offset: { type: 'integer' }, state: { type: 'string', enum: ['idle', 'run'] } };

describe('pullModbus (modbus-serial against its own ServerTCP)', () => {
  // 25.5 as a float32 is 0x41CC 0x0000; -3 as an int16 is 0xFFFD
  const plc = startedForSuite(() => startPlc({ 40001: 1200, 40002: 0xfffd, 40003: 1, 30001: 0x41cc, 30002: 0x0000 }));
  const source = (registers: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    ModbusSourceSchema.parse({ kind: 'modbus_tcp', host: '127.0.0.1', port: plc.port, registers, schedule: 'rate(10 seconds)', timeoutMs: 1_000, ...extra });

  it('reads holding and input registers, 16- and 32-bit, into one record at the poll time', async () => {
    const pulled = await pullModbus(source({ count: 40001, offset: { address: 40002, type: 'int16' }, state: 40003, flow: { address: 30001, type: 'float32' } }), { schema, timeField: 'timestamp' }, LOCAL, NOW);
    expect(pulled.records).toEqual([{ count: 1200, offset: -3, state: 'run', flow: 25.5, timestamp: '2026-12-01T12:00:00.000Z' }]);
  });

  it('runs the source\'s transform on the poll\'s record', async () => {
    const pulled = await pullModbus(source({ count: 40001 }, { transform: '$.{ "count": count / 100, "timestamp": timestamp }[]' }), { schema, timeField: 'timestamp' }, LOCAL, NOW);
    expect(pulled.records).toEqual([{ count: 12, timestamp: '2026-12-01T12:00:00.000Z' }]);
  });

  it('turns a register the PLC does not have into device.error naming the Modbus exception', async () => {
    const err = await pullModbus(source({ count: 40009 }), { schema, timeField: 'timestamp' }, LOCAL, NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PullFailedError);
    expect(err).toMatchObject({ code: 'device.error', message: `the PLC at 127.0.0.1:${plc.port} answered Modbus exception 2 (illegal data address: the PLC has no such register)` });
  });

  it('refuses a loopback PLC where the policy does not allow it, before connecting', async () => {
    const before = plc.reads();
    const err = await pullModbus(source({ count: 40001 }), { schema, timeField: 'timestamp' }, { allowPrivate: true, allowLoopback: false }, NOW).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'target.forbidden' });
    expect(plc.reads()).toBe(before);
  });
});

describe('BacnetReader (@bacnet-js/client against a simulated device)', () => {
  const device = startedForSuite(() => startBacnetDevice('AHU-9', 9, [{ id: { type: ObjectType.ANALOG_INPUT, instance: 1 }, name: 'AHU9.Flow', value: 3.25 }]));
  const source = () => BacnetSourceSchema.parse({ kind: 'bacnet', device: 'AHU-9', address: device.address, points: { flow: 'AHU9.Flow' }, schedule: 'rate(1 minute)', timeoutMs: 2_000 });

  it('fails a poll when its UDP port is taken, naming it, and polls once the port is free', async () => {
    const squatter = createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(0, resolve));
    const port = squatter.address().port;
    const reader = new BacnetReader({ port });
    try {
      const err = await reader.pull(source(), { schema, timeField: 'timestamp' }, LOCAL, NOW).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'source.unreachable', message: expect.stringContaining(`cannot listen on UDP port ${port}: bind EADDRINUSE`) });
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
      const pulled = await reader.pull(source(), { schema, timeField: 'timestamp' }, LOCAL, NOW);
      expect(pulled.records).toEqual([{ flow: 3.25, timestamp: '2026-12-01T12:00:00.000Z' }]);
    } finally {
      reader.close();
    }
  });

  it('refuses a device address the policy forbids, before sending', async () => {
    const reader = new BacnetReader({ port: 0 });
    const before = device.served.readProperty ?? 0;
    try {
      const err = await reader.pull(source(), { schema, timeField: 'timestamp' }, { allowPrivate: true, allowLoopback: false }, NOW).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'target.forbidden' });
      expect(device.served.readProperty ?? 0).toBe(before);
    } finally {
      reader.close();
    }
  });
});
