import type { Stream } from '../../shared/domain/stream-definition';
import { publicDevice } from '../../shared/domain/stream-sections';

/**
 * A stream as the API shows it: the canonical definition, a device's password hash left out.
 *
 * @example
 * jsonResponse(200, asPublished(stream));
 */
export function asPublished(stream: Stream): Stream {
  return stream.device?.credentials ? { ...stream, device: publicDevice(stream.device) as Stream['device'] } : stream;
}

/**
 * The create answer: the stream, and what the documents' answer carries besides (`streamId`, `status`, the
 * HTTPS ingest `endpoint`, and for a device stream its MQTT topic).
 *
 * @example
 * createAnswer(stream, 'https://api.example.com'); // { ...stream, streamId, status: 'active', endpoint: 'https://api.example.com/v1/streams/<id>/data' }
 */
export function createAnswer(stream: Stream, base: string) {
  return {
    ...asPublished(stream),
    streamId: stream.id,
    status: stream.state,
    endpoint: `${base}/v1/streams/${encodeURIComponent(stream.id)}/data`,
    ...(stream.type === 'iot_sensor' && { mqtt: { topic: `tributary/${stream.id}/data` } }),
  };
}
