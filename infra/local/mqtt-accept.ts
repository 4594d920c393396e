import { DEFAULT_LIMITS } from '../../functions/commons/body';
import { decodeMqttPayload } from '../../functions/commons/formats/mqtt-payload';
import { compiledStreams } from '../../functions/commons/compiled';
import { admitBatch } from '../../shared/domain/admission';
import { AppendToDerivedStreamNotAllowedError, StreamPausedError } from '../../shared/domain/errors';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Clock, IngestQueue } from '../../shared/ports';

/** A payload the stream refuses: why, and how many of its records were invalid. */
export class PayloadRefused extends Error {
  constructor(
    message: string,
    readonly invalid: number,
  ) {
    super(message);
  }
}

/**
 * What one MQTT message does on the local runtime, whichever broker it came through (Tributary's own, or
 * another that a stream subscribes to): the payload is decoded in the stream's `mqttFormat` under the body limits, run through the stream's
 * processing stage, validated, and its admitted records durably queued before this resolves. Throws
 * `PayloadRefused` for invalid records, `StreamPausedError` for a paused stream, a `TributaryError` for a
 * payload that does not parse, and whatever the queue throws.
 *
 * @example
 * const accept = makeMqttAcceptor({ queue, clock });
 * await accept(stream, packet.payload, { deviceId: 'sensor-1' });
 */
export function makeMqttAcceptor(deps: { queue: IngestQueue; clock: Clock }) {
  const compiled = compiledStreams();
  return async function accept(stream: Stream, payload: Buffer | string, from: { deviceId?: string } = {}): Promise<number> {
    if (stream.state === 'paused') throw new StreamPausedError(stream.id);
    if (stream.deriveOp) throw new AppendToDerivedStreamNotAllowedError(stream.id);
    const { records, json } = await decodeMqttPayload(payload, stream, DEFAULT_LIMITS);
    const now = deps.clock.now();
    const prepared = await compiled.for(stream).prepare(records, { now, receivedAt: now, ...(from.deviceId !== undefined && { deviceId: from.deviceId }) });
    const admission = admitBatch(stream.validation, prepared.records, prepared.result);
    if (!admission.admitted) {
      const first = admission.issues[0]!;
      throw new PayloadRefused(`invalid payload: record ${first.index}: ${first.path.join('.') || '(record)'}: ${first.message}`, prepared.result.invalid);
    }
    const { records: accepted, whole } = admission;
    // the writer counts what the processing stage filtered out, so a fully filtered message still sends its count
    await deps.queue.send([
      {
        streamId: stream.id,
        receivedAt: now,
        source: 'mqtt',
        ...(from.deviceId !== undefined && { deviceId: from.deviceId }),
        records: accepted,
        ...(whole && !prepared.processed && json !== undefined && { recordsJson: json }),
        ...(prepared.filtered > 0 && { filtered: prepared.filtered }),
      },
    ]);
    return accepted.length;
  };
}
