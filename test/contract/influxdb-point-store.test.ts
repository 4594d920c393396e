import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxDbPointStore } from '../../shared/aws/influxdb-point-store';
import { StoreUnavailableError } from '../../shared/domain/errors';
import { parseDataQuery } from '../../shared/domain/query';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';
import { ensureInfluxd, startInfluxd, type Influxd } from '../fixtures/influxd';
import { pointStoreContract } from './point-store.contract';
import { pointStoreRewriteContract } from './point-store-rewrite.contract';
import { pointStoreWindowsContract } from './point-store-windows.contract';

// A real InfluxDB 1.6 (Debian's `influxdb`), installed here if missing. Where it cannot be, the suite is
// skipped with a message saying so, never silently; CI installs it.
const missing = ensureInfluxd();
if (missing) console.error(`\n*** InfluxDbPointStore contract SKIPPED: ${missing} ***\n`);

describe.skipIf(missing !== undefined)('InfluxDbPointStore on influxd', () => {
  let influx: Influxd;
  let databases = 0;
  beforeAll(async () => {
    influx = await startInfluxd();
  }, 60_000);
  afterAll(async () => {
    await influx?.stop();
  });

  const makeStore = async () => {
    const store = new InfluxDbPointStore({ url: influx.url, database: `contract_${++databases}` });
    await store.ensureDatabase();
    return { store, close: async () => {} };
  };
  pointStoreContract('InfluxDbPointStore on influxd 1.6', makeStore);
  pointStoreWindowsContract('InfluxDbPointStore on influxd 1.6', makeStore);
  pointStoreRewriteContract('InfluxDbPointStore on influxd 1.6', makeStore);
});

describe.skipIf(missing !== undefined)('InfluxDbPointStore on influxd: hostile values', () => {
  let influx: Influxd;
  beforeAll(async () => {
    influx = await startInfluxd();
  }, 60_000);
  afterAll(async () => {
    await influx?.stop();
  });

  const stream = newStream(
    parseStreamInput({ id: 'hostile', name: 'Hostile', type: 'iot_sensor', schema: { site: { type: 'string' }, note: { type: 'string' }, n: { type: 'integer' } }, dimensions: ['site'] }),
    new Date(0),
    () => 'x',
  );
  // what a tag can carry: no line break or NUL, no trailing backslash (refused with a reason otherwise)
  const tag = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => !/[\n\r\u0000]/.test(s) && !s.endsWith('\\'));

  it('finds a point by any dimension value and returns any string value as written, and no other series', async () => {
    const store = new InfluxDbPointStore({ url: influx.url, database: 'hostile' });
    await store.ensureDatabase();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(tag, tag, fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !/[\n\r]/.test(s)), async (site, other, note) => {
        const time = ++n * 1000;
        expect(await store.write(stream, [{ time, dimensions: { site }, values: { note, n } }])).toEqual({ written: 1, rejected: [] });
        const q = parseDataQuery(stream, { start: String(time), end: String(time + 1), 'dim.site': `${site.replace(/,/g, '')}` }, time);
        const filter = { ...q, filters: { site: [site] } };
        expect(await store.query(stream, filter)).toEqual([{ time, dimensions: { site }, values: { note, n } }]);
        if (other !== site) expect(await store.query(stream, { ...q, filters: { site: [other] } })).toEqual([]);
        expect(await store.latest(stream, { fields: ['note'], filters: { site: [site] } })).toEqual([{ time, dimensions: { site }, values: { note } }]);
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it('refuses, with its index and reason, a point line protocol cannot carry, and writes the rest', async () => {
    const store = new InfluxDbPointStore({ url: influx.url, database: 'hostile_refusals' });
    await store.ensureDatabase();
    const result = await store.write(stream, [
      { time: 1, dimensions: { site: 'ok' }, values: { note: 'fine' } },
      { time: 2, dimensions: { site: 'ends\\' }, values: { note: 'x' } },
      { time: 3, dimensions: { site: 'ok' }, values: { note: 'two\nlines' } },
      { time: 4, dimensions: { site: 'ok' }, values: { n: 1.5 } },
    ]);
    expect(result.written).toBe(1);
    expect(result.rejected.map((r) => [r.index, r.reason])).toEqual([
      [1, expect.stringContaining("dimension 'site'")],
      [2, expect.stringContaining("field 'note'")],
      [3, expect.stringContaining("field 'n'")],
    ]);
    const q = parseDataQuery(stream, { start: '0', end: '10' }, 10);
    for (const site of ['a\rb', 'a\u0000b', 'x\\', "'; DROP DATABASE hostile_refusals; --"]) {
      expect(await store.query(stream, { ...q, filters: { site: [site] } })).toEqual([]);
      expect(await store.latest(stream, { fields: ['note'], filters: { site: [site, 'ok'] } })).toHaveLength(1);
    }
  });

  it('rejects the points InfluxDB refuses (a field type conflict) by index, and keeps the rest of the batch', async () => {
    const store = new InfluxDbPointStore({ url: influx.url, database: 'hostile_conflicts' });
    await store.ensureDatabase();
    await store.write(stream, [{ time: 1, dimensions: { site: 'a' }, values: { note: 'text' } }]);
    const changed = { ...stream, schema: { ...stream.schema, note: { type: 'number' as const } } };
    const result = await store.write(changed, [
      { time: 2, dimensions: { site: 'a' }, values: { n: 2 } },
      { time: 3, dimensions: { site: 'a' }, values: { note: 3 } },
      { time: 4, dimensions: { site: 'a' }, values: { n: 4 } },
    ]);
    expect(result.written).toBe(2);
    expect(result.rejected).toEqual([{ index: 1, reason: expect.stringContaining('field type conflict') }]);
  });

  it('reports a server that is not there, and a database that does not exist, as StoreUnavailableError', async () => {
    const gone = new InfluxDbPointStore({ url: 'http://127.0.0.1:9', database: 'x', timeoutMs: 2_000 });
    await expect(gone.write(stream, [{ time: 1, dimensions: {}, values: { n: 1 } }])).rejects.toBeInstanceOf(StoreUnavailableError);
    const missingDb = new InfluxDbPointStore({ url: influx.url, database: 'never_created' });
    const error = await missingDb.latest(stream, { fields: ['n'], filters: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});
