import { describe, expect, it } from 'vitest';
import { queryConfig } from '../../functions/query/config';

const base = { TABLE_NAME: 't', EVENTS_TABLE_NAME: 'e', EVENTS_BUCKET: 'b', RECEIPT_KEY_ARN: 'k', ROLLUPS_TABLE_NAME: 'r' };

describe('a function’s point store settings', () => {
  it('default to Timestream for LiveAnalytics, whose database and table are then required', () => {
    expect(queryConfig({ ...base, TIMESTREAM_DATABASE: 'db', TIMESTREAM_TABLE: 'datapoints' })).toMatchObject({ POINT_STORE: 'liveanalytics', TIMESTREAM_DATABASE: 'db' });
    expect(() => queryConfig(base)).toThrow(/TIMESTREAM_DATABASE: .*TIMESTREAM_TABLE: /);
  });

  it('take InfluxDB with its URL, database and secret, naming each one missing or bad', () => {
    const influx = { ...base, POINT_STORE: 'influxdb', INFLUX_URL: 'https://abc.eu-west-1.timestream-influxdb.amazonaws.com:8086', INFLUX_DATABASE: 'tributary', INFLUX_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' };
    expect(queryConfig(influx)).toMatchObject({ POINT_STORE: 'influxdb', INFLUX_DATABASE: 'tributary' });
    expect(() => queryConfig({ ...influx, INFLUX_URL: 'ftp://x', INFLUX_SECRET_ARN: undefined })).toThrow(/INFLUX_URL: .*INFLUX_SECRET_ARN: /);
    expect(() => queryConfig({ ...influx, POINT_STORE: 'postgres' })).toThrow(/POINT_STORE/);
  });
});
