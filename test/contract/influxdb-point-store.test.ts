import { afterAll, beforeAll, describe } from 'vitest';
import { InfluxDbPointStore } from '../../shared/aws/influxdb-point-store';
import { ensureInfluxd, startInfluxd, type Influxd } from '../fixtures/influxd';
import { pointStoreContract } from './point-store.contract';
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
});
