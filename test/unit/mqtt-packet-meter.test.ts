import { describe, expect, it } from 'vitest';
import { PacketMeter } from '../../infra/local/mqtt-packet-guard';

/** A packet: type byte, remaining length as a variable byte integer, then that many bytes. */
function packet(length: number): Buffer {
  const header = [0x30];
  let rest = length;
  do {
    let b = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) b |= 0x80;
    header.push(b);
  } while (rest > 0);
  return Buffer.concat([Buffer.from(header), Buffer.alloc(length, 1)]);
}

describe('PacketMeter follows MQTT packet boundaries', () => {
  it('lets packets up to the limit through, in any chunking', () => {
    const bytes = Buffer.concat([packet(0), packet(127), packet(128), packet(1000), packet(16_384)]);
    for (const size of [1, 2, 3, 7, 1000, bytes.length]) {
      const meter = new PacketMeter(16_384);
      for (let i = 0; i < bytes.length; i += size) expect(meter.feed(bytes.subarray(i, i + size))).toBeUndefined();
    }
  });
  it('refuses a packet one byte over the limit from its fixed header, even split byte by byte', () => {
    const meter = new PacketMeter(16_384);
    expect(meter.feed(packet(10))).toBeUndefined();
    const header = packet(16_385).subarray(0, 4);
    const answers = [...header].map((b) => meter.feed(Buffer.from([b])));
    expect(answers.find((a) => a !== undefined)).toMatch(/exceeds the broker's limit of 16384 bytes/);
  });
  it('refuses a remaining length of more than four bytes', () => {
    const meter = new PacketMeter(Number.MAX_SAFE_INTEGER);
    expect(meter.feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]))).toMatch(/malformed/);
  });
});
