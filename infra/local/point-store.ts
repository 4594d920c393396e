import { join } from 'node:path';
import { InfluxDbPointStore } from '../../shared/aws/influxdb-point-store';
import { DuckDbPointStore } from '../../shared/local/duckdb/duckdb-point-store';
import type { PointEraser, PointStore, SeriesRewriter } from '../../shared/ports';
import type { LocalConfig } from './config';

/** The local runtime's point store: what it reads and writes, rewrites (derived streams) and erases (deleted streams). */
export type LocalPointStore = PointStore & PointEraser & SeriesRewriter;

/**
 * Opens the point store `TRIBUTARY_STORE` names: DuckDB in the data dir (the default), or the InfluxDB at
 * `TRIBUTARY_INFLUX_URL` (its database created if missing, as InfluxDB 1.x allows; InfluxDB 2.x maps it to a
 * bucket of that name). Resolves to the store, how to close it and, for DuckDB, the store itself (its stored
 * rollups and their compactor; the InfluxDB store keeps none, so its queries read raw points).
 *
 * @example
 * const { store, close } = await openLocalPointStore(config);
 */
export async function openLocalPointStore(config: Pick<LocalConfig, 'dataDir' | 'influx' | 'rollups'>): Promise<{ store: LocalPointStore; close: () => Promise<void>; duckdb?: DuckDbPointStore }> {
  if (!config.influx) {
    const duckdb = await DuckDbPointStore.open(join(config.dataDir, 'points.duckdb'), { rollups: config.rollups !== false });
    return { store: duckdb, close: () => duckdb.close(), duckdb };
  }
  const { url, database, credentials } = config.influx;
  const influx = new InfluxDbPointStore({ url, database, ...(credentials && { credentials: async () => credentials }) });
  if (config.influx.createDatabase) await influx.ensureDatabase();
  return { store: influx, close: async () => {} };
}
