import * as z from 'zod';

/**
 * The formats a stream's MQTT payloads may be in (MQTT 3.1.1 carries no content type, so the stream says):
 * each the same records as the HTTP body of that media type. `line-protocol` is InfluxDB's (what Telegraf's
 * `outputs.mqtt` with `data_format = "influx"` publishes): the topic names the stream, so a line's
 * measurement is not checked; its tags and fields become the record as on `/api/v2/write`, times in ns.
 */
export const MQTT_FORMATS = ['json', 'ndjson', 'csv', 'msgpack', 'cbor', 'protobuf', 'line-protocol'] as const;
export type MqttFormat = (typeof MQTT_FORMATS)[number];

export const MqttFormatSchema = z.enum(MQTT_FORMATS);

/**
 * The media type whose HTTP body decoder reads a payload of the format (`line-protocol` has its own).
 *
 * @example
 * MQTT_MEDIA_TYPE.csv; // 'text/csv'
 */
export const MQTT_MEDIA_TYPE: Readonly<Record<Exclude<MqttFormat, 'line-protocol'>, string>> = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  csv: 'text/csv',
  msgpack: 'application/msgpack',
  cbor: 'application/cbor',
  protobuf: 'application/x-protobuf',
};
