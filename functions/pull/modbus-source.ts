import ModbusRTU from 'modbus-serial';
import { modbusRecord, planReads, type FieldLike } from '../../shared/domain/modbus-registers';
import { PullFailedError } from '../../shared/domain/pull-errors';
import type { ModbusSource, TargetPolicy } from '../../shared/domain/pull-source';
import { resolveChecked } from '../commons/guarded-target';
import type { Pulled } from './api-source';
import { transformed } from './transform';

/** What a poll needs of the stream besides its source. */
export interface PollTarget {
  schema: Readonly<Record<string, FieldLike>>;
  timeField: string;
}

/** Modbus exception codes (Modbus Application Protocol v1.1b3, section 7), as a PLC's manual words them. */
const EXCEPTIONS: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address: the PLC has no such register',
  3: 'illegal data value',
  4: 'server device failure',
  6: 'server device busy',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/**
 * Polls a PLC over Modbus TCP with `modbus-serial`: the host is resolved and checked as a pull's (private
 * addresses allowed unless the source says otherwise, never link-local or metadata), one connection per poll
 * reads the registers in as few requests as `planReads` makes, and the record is one poll's values with the poll's
 * time. The whole poll (connect and reads) is bounded by `timeoutMs`. A refused or dropped connection is
 * `source.unreachable`, no answer in time `source.timeout`, a Modbus exception `device.error`.
 *
 * @example
 * const { records } = await pullModbus(source, { schema: stream.schema, timeField: 'timestamp' }, policy, Date.now());
 */
export async function pullModbus(source: ModbusSource, target: PollTarget, policy: TargetPolicy, now: number): Promise<Pulled> {
  const where = `${source.host}:${source.port}`;
  const checked = await resolveChecked(source.host, policy);
  const client = new ModbusRTU();
  const reads = planReads(source.registers);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PullFailedError('source.timeout', `no answer from the PLC at ${where} within ${source.timeoutMs} ms`)), source.timeoutMs);
  });
  const poll = async () => {
    await client.connectTCP(checked.address, { port: source.port, timeout: source.timeoutMs });
    client.setID(source.unitId);
    client.setTimeout(source.timeoutMs);
    const words = new Map<string, readonly number[]>();
    for (const read of reads) {
      const answer = read.table === 'holding' ? await client.readHoldingRegisters(read.start, read.count) : await client.readInputRegisters(read.start, read.count);
      words.set(`${read.table}:${read.start}`, answer.data);
    }
    return words;
  };
  try {
    const words = await Promise.race([poll(), deadline]);
    const record = modbusRecord(source.registers, target.schema, target.timeField, words, reads, now);
    return { records: (await transformed(source, [record])) ?? [record] };
  } catch (err) {
    throw classify(err, where, source.timeoutMs);
  } finally {
    clearTimeout(timer);
    // a socket left open (or a request left pending) would hold one of the PLC's few connection slots
    await new Promise<void>((resolve) => client.destroy(() => resolve()));
  }
}

function classify(err: unknown, where: string, timeoutMs: number): PullFailedError {
  if (err instanceof PullFailedError) return err;
  const e = err as { modbusCode?: unknown; errno?: unknown; name?: unknown; message?: unknown };
  if (typeof e?.modbusCode === 'number') {
    return new PullFailedError('device.error', `the PLC at ${where} answered Modbus exception ${e.modbusCode} (${EXCEPTIONS[e.modbusCode] ?? 'unknown exception'})`, { cause: err });
  }
  if (e?.name === 'TransactionTimedOutError' || e?.errno === 'ETIMEDOUT') {
    return new PullFailedError('source.timeout', `no answer from the PLC at ${where} within ${timeoutMs} ms`, { cause: err });
  }
  return new PullFailedError('source.unreachable', `cannot reach the PLC at ${where}: ${typeof e?.message === 'string' ? e.message : String(err)}`, { cause: err });
}
