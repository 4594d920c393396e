import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { PointEraser, PointStore, SeriesRewriter } from '../ports';
import { influxCredentialsSource } from './influxdb-credentials-secret';
import { InfluxDbPointStore } from './influxdb-point-store';
import { timestreamEraser } from './timestream-eraser';
import { timestreamPointStore } from './timestream-point-store';

/** The store settings a function receives (`POINT_STORE` and its store's variables), as `pointStoreSettings` in `functions/commons/config.ts` parses them. */
export type PointStoreSettings =
  | { POINT_STORE: 'liveanalytics'; TIMESTREAM_DATABASE: string; TIMESTREAM_TABLE: string }
  | { POINT_STORE: 'influxdb'; INFLUX_URL: string; INFLUX_DATABASE: string; INFLUX_SECRET_ARN: string };

/**
 * The functions' point store, chosen by the stack's `store` setting: Timestream for LiveAnalytics (the
 * default; its points cannot be erased, so `eraseStream` keeps them) or Timestream for InfluxDB, whose
 * credentials are read from Secrets Manager (cached).
 *
 * @example
 * const store = pointStoreOf(config, traced, { maxParallel: config.WRITE_PARALLELISM });
 */
export function pointStoreOf(settings: PointStoreSettings, wrap: <T>(client: T) => T = (c) => c, options: { maxParallel?: number } = {}): PointStore & PointEraser & Partial<SeriesRewriter> {
  if (settings.POINT_STORE === 'influxdb') {
    return new InfluxDbPointStore({
      url: settings.INFLUX_URL,
      database: settings.INFLUX_DATABASE,
      // Timestream for InfluxDB runs InfluxDB 2: reads and writes on its v1 endpoints, deletes on /api/v2/delete
      version: '2.x',
      credentials: influxCredentialsSource({ client: wrap(new SecretsManagerClient({})), secretId: settings.INFLUX_SECRET_ARN }),
    });
  }
  const store = timestreamPointStore({ database: settings.TIMESTREAM_DATABASE, table: settings.TIMESTREAM_TABLE, ...(options.maxParallel && { maxParallel: options.maxParallel }) }, wrap);
  return Object.assign(store, { eraseStream: timestreamEraser.eraseStream });
}
