import BacnetPackage, { ApplicationTag, ObjectType, PropertyIdentifier, type BACNetObjectID } from '@bacnet-js/client';
import { bacnetRecord, type PointReading } from '../../shared/domain/bacnet-points';
import { PullFailedError } from '../../shared/domain/pull-errors';
import { DEFAULT_BACNET_PORT, type BacnetSource, type TargetPolicy } from '../../shared/domain/pull-source';
import { resolveChecked } from '../commons/guarded-target';
import type { Pulled } from './api-source';
import { BacnetUdpTransport, type BacnetTransportOptions } from './bacnet-transport';
import type { PollTarget } from './modbus-source';
import { transformed } from './transform';

// a CommonJS module whose default export is the client class: Node's ESM loader hands over the whole exports object
const BacnetClient: typeof BacnetPackage = ((BacnetPackage as unknown as { default?: typeof BacnetPackage }).default ?? BacnetPackage);
type Client = InstanceType<typeof BacnetClient>;

/** How the process talks BACnet/IP: its UDP port and where a Who-Is goes (see `BacnetTransportOptions`). */
export type BacnetOptions = Partial<BacnetTransportOptions>;

/** A device found on the network: where it answers, and its instance. */
interface FoundDevice {
  address: string;
  instance: number;
  /** object-name → object, read from the device's object-list. */
  objects: Map<string, BACNetObjectID>;
  at: number;
}

/** The device object of whichever device is asked (ASHRAE 135, 12.11: instance 4194303 is "this device"). */
const THIS_DEVICE = 4_194_303;
/** How long a device's address and object names are trusted before they are read again. */
const DIRECTORY_MS = 10 * 60_000;
/** Objects whose names one ReadPropertyMultiple asks for. */
const NAMES_PER_REQUEST = 16;
/** Points whose present-values one ReadPropertyMultiple asks for: the answer stays within one unsegmented APDU. */
const VALUES_PER_REQUEST = 32;
/** How long a Who-Is waits for I-Ams (a part of the poll's timeout). */
const WHO_IS_MAX_MS = 1_500;

/**
 * Polls BACnet/IP devices with `@bacnet-js/client`: one UDP client for the process, opened on first use. A
 * source's `device` is the device's object-name: asked at `address` (the device object by the "this device"
 * instance), or found by a Who-Is to the broadcast address and a read of each answering device's name. The
 * device's object-list and object names are read once (and again after ten minutes, or when a point is missing),
 * then each poll reads the points' present-values in one ReadPropertyMultiple (one ReadProperty each on a device
 * without it). The whole poll is bounded by `timeoutMs`; no device of that name, or a point it does not have, is
 * `device.not_found`, an error answer `device.error`, silence `source.timeout`.
 *
 * @example
 * const bacnet = new BacnetReader({ port: 47808, broadcastAddress: '255.255.255.255' });
 * const { records } = await bacnet.pull(source, { schema: stream.schema, timeField: 'timestamp' }, policy, Date.now());
 */
export class BacnetReader {
  private client: Client | undefined;
  private listening: Promise<void> | undefined;
  private readonly directory = new Map<string, FoundDevice>();

  constructor(private readonly options: BacnetOptions = {}) {}

  async pull(source: BacnetSource, target: PollTarget, policy: TargetPolicy, now: number): Promise<Pulled> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PullFailedError('source.timeout', `no answer from the BACnet device '${source.device}' within ${source.timeoutMs} ms`)), source.timeoutMs);
    });
    try {
      const readings = await Promise.race([this.poll(source, policy, now), deadline]);
      const record = bacnetRecord(readings, target.schema, target.timeField, now);
      return { records: (await transformed(source, [record])) ?? [record] };
    } catch (err) {
      throw classify(err, source);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the UDP socket (the local runtime, at its end). */
  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  /** The process's client, listening; a port it cannot bind fails this poll, and the next one tries again. */
  private async open(): Promise<Client> {
    if (!this.client) {
      const port = this.options.port ?? DEFAULT_BACNET_PORT;
      const transport = new BacnetUdpTransport({ port, interface: this.options.interface, broadcastAddress: this.options.broadcastAddress ?? '255.255.255.255' });
      const client = new BacnetClient({ transport, apduTimeout: 3_000 });
      // a socket error (an unreachable port) is the failed read's to report, never an uncaught 'error'
      client.on('error', () => {});
      this.client = client;
      this.listening = transport.ready.catch((err: unknown) => {
        client.close();
        if (this.client === client) this.client = undefined;
        throw new PullFailedError('source.unreachable', `the BACnet client cannot listen on UDP port ${port}: ${(err as Error)?.message ?? String(err)} (TRIBUTARY_BACNET_PORT=0 takes any free port, enough for sources that give their address)`, { cause: err });
      });
    }
    await this.listening;
    return this.client!;
  }

  private async poll(source: BacnetSource, policy: TargetPolicy, now: number): Promise<Record<string, PointReading>> {
    const client = await this.open();
    const key = `${source.address ?? '*'}|${source.device}`;
    let device = this.directory.get(key);
    if (!device || now - device.at > DIRECTORY_MS) {
      device = await this.find(client, source, policy, now);
      this.directory.set(key, device);
    }
    const wanted = Object.entries(source.points).map(([field, name]) => ({ field, name, id: device!.objects.get(name) }));
    const missing = wanted.filter((w) => !w.id);
    if (missing.length > 0) {
      this.directory.delete(key); // renamed or added since it was read: read the names again next time
      throw new PullFailedError('device.not_found', `the BACnet device '${source.device}' has no object named ${missing.map((m) => `'${m.name}'`).join(', ')}`);
    }
    const values = await presentValues(client, device.address, wanted.map((w) => w.id!));
    const readings: Record<string, PointReading> = {};
    wanted.forEach((w, i) => {
      const reading = values[i];
      if (reading !== undefined) readings[w.field] = reading;
    });
    return readings;
  }

  /** The device named `source.device`: at its address, or among those answering a Who-Is; with its object names. */
  private async find(client: Client, source: BacnetSource, policy: TargetPolicy, now: number): Promise<FoundDevice> {
    let address: string;
    let instance: number;
    if (source.address) {
      const [host, port] = source.address.split(':');
      const checked = await resolveChecked(host!, policy);
      address = `${checked.address}:${port ?? DEFAULT_BACNET_PORT}`;
      const named = await client.readProperty({ address }, { type: ObjectType.DEVICE, instance: THIS_DEVICE }, PropertyIdentifier.OBJECT_NAME);
      const name = text(named.values);
      instance = named.objectId.instance;
      if (name !== source.device) throw new PullFailedError('device.not_found', `the BACnet device at ${source.address} is named '${name ?? '?'}', not '${source.device}'`);
    } else {
      const found = await this.whoIs(client, source, policy);
      address = found.address;
      instance = found.instance;
    }
    const list = await client.readProperty({ address }, { type: ObjectType.DEVICE, instance }, PropertyIdentifier.OBJECT_LIST);
    const ids = list.values.map((v) => v.value as BACNetObjectID).filter((id) => id && id.type !== ObjectType.DEVICE);
    const objects = new Map<string, BACNetObjectID>();
    for (let i = 0; i < ids.length; i += NAMES_PER_REQUEST) {
      const chunk = ids.slice(i, i + NAMES_PER_REQUEST);
      const names = await readEach(client, address, chunk, PropertyIdentifier.OBJECT_NAME);
      chunk.forEach((id, j) => {
        const name = names[j];
        if (typeof name === 'string') objects.set(name, id);
      });
    }
    return { address, instance, objects, at: now };
  }

  private async whoIs(client: Client, source: BacnetSource, policy: TargetPolicy): Promise<{ address: string; instance: number }> {
    const answered: { address: string; instance: number }[] = [];
    const onIAm = (content: { header?: { sender?: { address?: string } }; payload: { deviceId: number } }) => {
      const address = content.header?.sender?.address;
      if (address) answered.push({ address, instance: content.payload.deviceId });
    };
    client.on('iAm', onIAm);
    try {
      client.whoIs();
      await new Promise((resolve) => setTimeout(resolve, Math.min(WHO_IS_MAX_MS, source.timeoutMs / 3)));
    } finally {
      client.off('iAm', onIAm);
    }
    for (const device of answered) {
      const [host, port] = device.address.split(':');
      try {
        const checked = await resolveChecked(host!, policy);
        const address = port ? `${checked.address}:${port}` : checked.address;
        const named = await client.readProperty({ address }, { type: ObjectType.DEVICE, instance: device.instance }, PropertyIdentifier.OBJECT_NAME);
        if (text(named.values) === source.device) return { address, instance: device.instance };
      } catch (err) {
        if (err instanceof PullFailedError && err.code !== 'target.forbidden') throw err;
        // a device the policy forbids, or that does not answer, is not the one
      }
    }
    throw new PullFailedError('device.not_found', `no BACnet device named '${source.device}' answered a Who-Is (${answered.length} devices answered); give the source its address`);
  }
}

/** The present-values of `ids`, in order. */
async function presentValues(client: Client, address: string, ids: BACNetObjectID[]): Promise<(PointReading | undefined)[]> {
  const values: unknown[] = [];
  for (let i = 0; i < ids.length; i += VALUES_PER_REQUEST) values.push(...(await readEach(client, address, ids.slice(i, i + VALUES_PER_REQUEST), PropertyIdentifier.PRESENT_VALUE)));
  return values.map(reading);
}

/** One property of each object: one ReadPropertyMultiple, or one ReadProperty each when the device refuses it. */
async function readEach(client: Client, address: string, ids: BACNetObjectID[], property: PropertyIdentifier): Promise<unknown[]> {
  try {
    const answer = await client.readPropertyMultiple({ address }, ids.map((objectId) => ({ objectId, properties: [{ id: property, index: 0xffffffff }] })));
    return ids.map((id) => {
      const object = answer.values.find((v) => v.objectId.type === id.type && v.objectId.instance === id.instance);
      const value = (object?.values as unknown as { id: number; value: { type: number; value: unknown }[] }[] | undefined)?.find((v) => v.id === property)?.value;
      if (!value || value[0]?.type === ApplicationTag.ERROR) return undefined;
      return property === PropertyIdentifier.OBJECT_NAME ? text(value) : value[0];
    });
  } catch (err) {
    if (!isUnsupported(err)) throw err;
  }
  const out: unknown[] = [];
  for (const id of ids) {
    const answer = await client.readProperty({ address }, id, property);
    out.push(property === PropertyIdentifier.OBJECT_NAME ? text(answer.values) : answer.values[0]);
  }
  return out;
}

function text(values: readonly { type: number; value: unknown }[] | undefined): string | undefined {
  const v = values?.[0];
  return v && v.type === ApplicationTag.CHARACTER_STRING && typeof v.value === 'string' ? v.value : undefined;
}

/** A present-value as a record takes it: numbers, enumerations (binary and multi-state) and booleans; text as text. */
function reading(value: unknown): PointReading | undefined {
  const v = value as { type?: number; value?: unknown } | undefined;
  if (!v) return undefined;
  if (typeof v.value === 'number' || typeof v.value === 'boolean') return v.value;
  if (v.type === ApplicationTag.CHARACTER_STRING && typeof v.value === 'string') return v.value;
  return undefined;
}

// @bacnet-js/client reports a device's answers only as message text: `BacnetError - Class:C - Code:N`,
// `BacnetAbort - Reason:N`, `ERR_TIMEOUT`. This is the one place that reads it.
const BACNET_ERROR = /^BacnetError - Class:(\d+) - Code:(\d+)/;
const BACNET_REFUSAL = /^Bacnet(Abort|Reject)/;
/** ErrorCode.SERVICE_REQUEST_DENIED, OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED; abort / reject for an unknown service. */
const UNSUPPORTED_CODES = new Set([29, 45]);

function isUnsupported(err: unknown): boolean {
  const message = (err as Error)?.message ?? '';
  const m = BACNET_ERROR.exec(message);
  return BACNET_REFUSAL.test(message) || (m !== null && UNSUPPORTED_CODES.has(Number(m[2])));
}

function classify(err: unknown, source: BacnetSource): PullFailedError {
  if (err instanceof PullFailedError) return err;
  const message = (err as Error)?.message ?? String(err);
  const device = `the BACnet device '${source.device}'`;
  if (message === 'ERR_TIMEOUT') return new PullFailedError('source.timeout', `no answer from ${device} within its APDU timeout`, { cause: err });
  const m = BACNET_ERROR.exec(message);
  if (m) return new PullFailedError('device.error', `${device} answered error class ${m[1]}, code ${m[2]}`, { cause: err });
  if (BACNET_REFUSAL.test(message)) return new PullFailedError('device.error', `${device} refused the request (${message})`, { cause: err });
  return new PullFailedError('source.unreachable', `cannot reach ${device}: ${message}`, { cause: err });
}
