import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/**
 * The largest MQTT packet the local broker takes: IoT Core's 128 KiB payload limit, plus 1 KiB for the
 * topic, the packet id and MQTT 5 properties. The remaining length a packet declares is checked as soon as
 * its fixed header arrives, so a larger packet is refused before any of it is buffered (and, for a
 * CONNECT, before the login is checked).
 */
export const MAX_MQTT_PACKET_BYTES = 128 * 1024 + 1024;

/** How long a connection may take to send its whole CONNECT packet. */
export const MQTT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Follows the packet boundaries of an MQTT byte stream from each fixed header's remaining length
 * (MQTT 3.1.1 §2.2.3, MQTT 5 §2.1.4: a variable byte integer of 1-4 bytes, least significant first).
 *
 * @example
 * const meter = new PacketMeter(MAX_MQTT_PACKET_BYTES);
 * meter.feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])); // 'a packet of at least … bytes …'
 */
export class PacketMeter {
  private phase: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Takes the next bytes; returns why the stream must be cut, or `undefined` while it is within bounds. */
  feed(chunk: Uint8Array): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.phase === 'body') {
        const n = Math.min(this.remaining, chunk.length - i);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.phase = 'type';
        continue;
      }
      const byte = chunk[i++]!;
      if (this.phase === 'type') {
        this.phase = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      // the bytes still to come can only add to it: refuse as soon as the part read is too large
      if (this.length > this.maxPacketBytes) {
        return `a packet of at least ${this.length} bytes exceeds the broker's limit of ${this.maxPacketBytes} bytes`;
      }
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return 'malformed remaining length';
        continue;
      }
      this.remaining = this.length;
      this.phase = this.remaining === 0 ? 'type' : 'body';
    }
    return undefined;
  }
}

/**
 * Wraps a broker connection so that every packet's declared length is checked before its bytes reach the
 * broker: a packet over `maxPacketBytes` cuts the connection at once (MQTT 3.1.1 has no way to refuse a
 * packet but closing). The broker reads and writes the wrapper as it would the socket.
 *
 * @example
 * const server = createServer((socket) => broker.handle(guardPackets(socket, { maxPacketBytes: MAX_MQTT_PACKET_BYTES })));
 */
export function guardPackets(socket: Socket, opts: { maxPacketBytes: number; onRefuse?: (reason: string) => void }): Duplex {
  const meter = new PacketMeter(opts.maxPacketBytes);
  const guarded = new Duplex({
    read: () => {
      socket.resume();
    },
    write: (chunk: Buffer, encoding, callback) => {
      socket.write(chunk, encoding, callback);
    },
    final: (callback) => {
      socket.end(callback);
    },
    destroy: (err, callback) => {
      socket.destroy();
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const refused = meter.feed(chunk);
    if (refused) {
      opts.onRefuse?.(refused);
      guarded.destroy();
      return;
    }
    if (!guarded.push(chunk)) socket.pause();
  });
  socket.once('end', () => guarded.push(null));
  socket.on('error', (err) => guarded.destroy(err));
  socket.once('close', () => guarded.destroy());
  return guarded;
}
