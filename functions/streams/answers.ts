import type { Stream } from '../../shared/domain/stream-definition';
import type { StreamStats } from '../../shared/ports';
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
    ...webhookUrls(stream, base),
    // a device publishes on the stream's own topic when its definition names one, else on contract v1's
    ...(stream.type === 'iot_sensor' && { mqtt: { topic: stream.device?.topic ?? `tributary/${stream.id}/data`, ...(stream.device?.topic && { alsoTopic: `tributary/${stream.id}/data` }) } }),
  };
}

/**
 * The status answer's fields under the names the Data Streams document reads: `status` (the state),
 * `lastDataReceived`, `dataPointsToday` and `errorCount` (records refused after they were queued: invalid
 * or rejected by the store).
 *
 * @example
 * statusAliases(stream, stats); // { status: 'active', lastDataReceived: '2024-01-15T10:45:30Z', dataPointsToday: 1440, errorCount: 0 }
 */
export function statusAliases(stream: Stream, stats: StreamStats) {
  return {
    status: stream.state,
    ...(stats.lastDataAt !== undefined && { lastDataReceived: stats.lastDataAt }),
    dataPointsToday: stats.pointsToday,
    errorCount: stats.invalidCount + stats.rejectedCount,
  };
}

/**
 * An event stream's webhook URLs, one event and a batch (`functions/ingest/webhook.ts`): what its sender is
 * configured with. In the create answer and in `GET /v1/streams/{id}`.
 *
 * @example
 * webhookUrls(stream, 'https://api.example.com'); // { webhookUrls: { event: '…/v1/streams/<id>/webhook', batch: '…/webhook/batch' } }
 */
export function webhookUrls(stream: Pick<Stream, 'id' | 'type'>, base: string): { webhookUrls?: { event: string; batch: string } } {
  if (stream.type !== 'event_stream') return {};
  const at = `${base}/v1/streams/${encodeURIComponent(stream.id)}/webhook`;
  return { webhookUrls: { event: at, batch: `${at}/batch` } };
}
