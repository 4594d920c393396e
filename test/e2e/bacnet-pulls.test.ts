import { ObjectType } from '@bacnet-js/client';
import { describe, expect, it } from 'vitest';
import { startBacnetDevice } from '../fixtures/bacnet-device';
import { documentDefinition } from '../fixtures/data-streams';
import { startedForSuite } from '../fixtures/lifecycle';
import { startLocal } from './harness';
import { schedulerClock, waitFor } from '../fixtures/waiting';

/**
 * The Data Streams document's HVAC Monitoring (Smart Building Integration), created as written on the local
 * runtime and polled over BACnet/IP from a device simulated in the test with `@bacnet-js/client`'s own stack
 * on a UDP port of 127.0.0.1. The runtime's Who-Is goes to that port (`TRIBUTARY_BACNET_BROADCAST`), its client
 * listens on a port of its own (`TRIBUTARY_BACNET_PORT=0`).
 */

/** The scheduler's clock: the pulls run on real time; the test moves the 5-minute schedule on. */
/** The document's HVAC stream without its `baseline` alert, which another change brings. */
function hvacDefinition(): Record<string, any> {
  const def = documentDefinition('hvac-monitoring');
  delete def.processing.alerting;
  return def;
}

const FIVE_MINUTES = 5 * 60_000;

describe('the HVAC Monitoring stream polled from a BACnet/IP device', () => {
  const device = startedForSuite(() =>
    startBacnetDevice('BAC-HVAC-hq', 1234, [
      { id: { type: ObjectType.ANALOG_INPUT, instance: 1 }, name: 'Zone1.Temperature', value: 21.5 },
      { id: { type: ObjectType.ANALOG_INPUT, instance: 2 }, name: 'Zone1.Humidity', value: 45 },
      { id: { type: ObjectType.ANALOG_VALUE, instance: 1 }, name: 'Zone1.Setpoint', value: 22 },
      { id: { type: ObjectType.ANALOG_INPUT, instance: 3 }, name: 'System.Energy.Consumption', value: 1234.5 },
      { id: { type: ObjectType.MULTI_STATE_VALUE, instance: 1 }, name: 'System.Status', value: 2 },
      { id: { type: ObjectType.ANALOG_INPUT, instance: 4 }, name: 'Zone2.Temperature', value: 19 },
    ]),
  );
  const clock = schedulerClock();
  const local = startedForSuite(() =>
    startLocal({ pulls: { tick: '* * * * * *', clock, env: { TRIBUTARY_BACNET_PORT: '0', TRIBUTARY_BACNET_BROADCAST: device.address } } }),
  );

  it('finds the device by name, reads each point into the field named by its last two segments, follows a change and reports the device gone', async () => {
    const { id } = await local.createStream(hvacDefinition());
    const stream = (await local.api(`/v1/streams/${id}`)).body;
    expect(stream).toMatchObject({ type: 'iot_sensor', tags: { category: 'building_systems' }, source: { kind: 'bacnet', device: 'BAC-HVAC-hq', schedule: 'rate(5 minutes)' } });
    expect(stream.schema).toEqual({
      zone1Temperature: { type: 'number' },
      zone1Humidity: { type: 'number' },
      zone1Setpoint: { type: 'number' },
      energyConsumption: { type: 'number' },
      systemStatus: { type: 'number' },
      timestamp: { type: 'datetime', required: true },
    });

    // a new stream on a rate is due at once: Who-Is, the device's name and object names, then the present-values
    const first = await local.waitForPoints(id, 'limit=100', (p) => p.length >= 1);
    expect(first[0].values).toEqual({ zone1Temperature: 21.5, zone1Humidity: 45, zone1Setpoint: 22, energyConsumption: 1234.5, systemStatus: 2 });
    expect(Math.abs(Date.parse(first[0].time) - Date.now())).toBeLessThan(5_000);
    expect(device.served.whoIs).toBeGreaterThanOrEqual(1);
    expect(device.served.readPropertyMultiple).toBeGreaterThanOrEqual(2);
    const status = (await local.api(`/v1/streams/${id}/status`)).body.pull;
    expect(Date.parse(status.nextRunAt) - Date.parse(status.lastRunAt)).toBeGreaterThan(FIVE_MINUTES - 2_000);

    device.set('Zone1.Temperature', 23.25);
    device.set('System.Energy.Consumption', 1300);
    const whoIsBefore = device.served.whoIs;
    clock.advance(FIVE_MINUTES);
    const second = await local.waitForPoints(id, 'limit=100', (p) => p.length >= 2);
    expect(second[1].values).toEqual({ zone1Temperature: 23.25, zone1Humidity: 45, zone1Setpoint: 22, energyConsumption: 1300, systemStatus: 2 });
    // the device and its object names are remembered: the next poll only reads the present-values
    expect(device.served.whoIs).toBe(whoIsBefore);

    await device.close();
    clock.advance(FIVE_MINUTES);
    const failed = await waitFor(() => local.api(`/v1/streams/${id}/status`), (r) => r.body.pull?.runs >= 3);
    expect(failed.body.pull).toMatchObject({ lastStatus: 'failed', failures: 1, lastError: { code: 'source.timeout', message: expect.stringContaining("'BAC-HVAC-hq'") } });
    expect((await local.api(`/v1/streams/${id}`)).status).toBe(200);
    expect((await local.api(`/v1/streams/${id}/data?limit=100`)).body.points).toHaveLength(2);
  });
});

describe('a BACnet source with the device\'s address and points named as written', () => {
  const device = startedForSuite(() =>
    startBacnetDevice('AHU-3', 77, [
      { id: { type: ObjectType.ANALOG_INPUT, instance: 10 }, name: 'AHU3.SupplyAir.Temp', value: 14.5 },
      { id: { type: ObjectType.MULTI_STATE_VALUE, instance: 2 }, name: 'AHU3.Mode', value: 3 },
    ]),
  );
  // no broadcast at all: every source here gives its address, as in a VPC
  const local = startedForSuite(() => startLocal({ pulls: { tick: '* * * * * *', env: { TRIBUTARY_BACNET_PORT: '0', TRIBUTARY_BACNET_BROADCAST: '127.0.0.1:9' } } }));

  const definition = (deviceName: string, points: Record<string, string>) => ({
    name: `AHU ${deviceName} ${Object.keys(points).join(' ')}`,
    type: 'building_systems',
    schema: { supplyTemp: { type: 'number', unit: 'celsius' }, mode: { type: 'string', enum: ['off', 'heating', 'cooling', 'ventilation'] }, timestamp: { type: 'datetime', required: true } },
    source: { type: 'bacnet', device: deviceName, address: device.address, points },
    processing: { frequency: '1m' },
  });

  it('asks the device at its address, and gives a multi-state point the enum value of its state', async () => {
    const { id } = await local.createStream(definition('AHU-3', { supplyTemp: 'AHU3.SupplyAir.Temp', mode: 'AHU3.Mode' }));
    const points = await local.waitForPoints(id, 'limit=10', (p) => p.length >= 1);
    expect(points[0].values).toEqual({ supplyTemp: 14.5, mode: 'cooling' });
    expect(device.served.whoIs).toBeUndefined();
  });

  it('fails the poll of another device name at that address, and of a point the device does not have, saying which', async () => {
    const wrong = await local.createStream(definition('AHU-4', { supplyTemp: 'AHU3.SupplyAir.Temp' }));
    const missing = await local.createStream(definition('AHU-3', { supplyTemp: 'AHU3.ReturnAir.Temp' }));
    const a = await waitFor(() => local.api(`/v1/streams/${wrong.id}/status`), (r) => r.body.pull?.runs >= 1);
    expect(a.body.pull.lastError).toMatchObject({ code: 'device.not_found', message: `the BACnet device at ${device.address} is named 'AHU-3', not 'AHU-4'` });
    const b = await waitFor(() => local.api(`/v1/streams/${missing.id}/status`), (r) => r.body.pull?.runs >= 1);
    expect(b.body.pull.lastError).toMatchObject({ code: 'device.not_found', message: "the BACnet device 'AHU-3' has no object named 'AHU3.ReturnAir.Temp'" });
  });

  it('reads a device without ReadPropertyMultiple one property at a time', async () => {
    const small = await startBacnetDevice('VAV-12', 12, [{ id: { type: ObjectType.ANALOG_INPUT, instance: 1 }, name: 'VAV12.Zone.Temp', value: 20.5 }], { readPropertyMultiple: false });
    try {
      const { id } = await local.createStream({
        name: 'VAV 12',
        type: 'building_systems',
        source: { type: 'bacnet', device: 'VAV-12', address: small.address, points: ['VAV12.Zone.Temp'] },
        processing: { frequency: '5m' },
      });
      const points = await local.waitForPoints(id, 'limit=10', (p) => p.length >= 1);
      expect(points[0].values).toEqual({ zoneTemp: 20.5 });
      expect(small.served.readPropertyMultiple).toBeGreaterThanOrEqual(1);
      expect(small.served.readProperty).toBeGreaterThanOrEqual(3); // the device's name, its object list, the names, the value
    } finally {
      await small.close();
    }
  });
});
