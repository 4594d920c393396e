import { describe, expect, it } from 'vitest';
import { envelopeJson, frameHead, HEADER, KIND, readFrames } from '../../shared/local/file-queue/frame-codec';

const frame = (kind: number, value: unknown, seq?: number) => {
  const payload = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return Buffer.concat([frameHead(kind, payload, seq), payload]);
};

function readAll(buf: Buffer) {
  const frames: { kind: number; seq: number; text: string }[] = [];
  const end = readFrames(buf, (kind, seq, payload) => frames.push({ kind, seq, text: payload.toString() }));
  return { frames, end };
}

describe('frame codec', () => {
  it('reads back every kind of frame in order, with a message seq of up to 48 bits', () => {
    const seq = 2 ** 48 - 1;
    const buf = Buffer.concat([
      frame(KIND.message, { streamId: 's' }, seq),
      frame(KIND.received, [seq]),
      frame(KIND.acked, [seq]),
      frame(KIND.state, { base: 1, pending: [] }),
      frame(KIND.dead, { id: '1' }),
    ]);
    const { frames, end } = readAll(buf);
    expect(frames).toEqual([
      { kind: KIND.message, seq, text: '{"streamId":"s"}' },
      { kind: KIND.received, seq: 0, text: `[${seq}]` },
      { kind: KIND.acked, seq: 0, text: `[${seq}]` },
      { kind: KIND.state, seq: 0, text: '{"base":1,"pending":[]}' },
      { kind: KIND.dead, seq: 0, text: '{"id":"1"}' },
    ]);
    expect(end).toBe(buf.length);
  });

  it('stops at a torn last frame and says where the valid frames end', () => {
    const good = frame(KIND.message, { n: 1 }, 1);
    const torn = frame(KIND.message, { n: 2 }, 2);
    for (const cut of [1, HEADER - 1, HEADER, torn.length - 1]) {
      const { frames, end } = readAll(Buffer.concat([good, torn.subarray(0, cut)]));
      expect(frames.map((f) => f.seq)).toEqual([1]);
      expect(end).toBe(good.length);
    }
  });

  it('stops at a frame whose checksum does not match, and keeps none after it', () => {
    const first = frame(KIND.acked, [1]);
    const corrupt = frame(KIND.acked, [2]);
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 2) ^ 0xff, corrupt.length - 2);
    const { frames, end } = readAll(Buffer.concat([first, corrupt, frame(KIND.acked, [3])]));
    expect(frames.map((f) => f.text)).toEqual(['[1]']);
    expect(end).toBe(first.length);
  });

  it('covers the length in its checksum: a changed length is a corrupt frame, not a shorter one', () => {
    const f = frame(KIND.acked, [12345]);
    f.writeUInt32LE(f.readUInt32LE(0) - 1, 0);
    expect(readAll(f).frames).toEqual([]);
  });

  it('stops at an unknown kind and at a message too short to hold its seq', () => {
    expect(readAll(frame(9, 'x')).frames).toEqual([]);
    const short = Buffer.from([KIND.message, 1, 2]);
    const head = frameHead(KIND.message, short.subarray(1));
    expect(readAll(Buffer.concat([head, short.subarray(1)])).frames).toEqual([]);
  });

  it('stores an envelope with the records text the sender gave, byte for byte', () => {
    const envelope = { streamId: 's', receivedAt: 1, source: 'http' as const, records: [{ a: 1 }] };
    expect(envelopeJson(envelope)).toBe('{"streamId":"s","receivedAt":1,"source":"http","records":[{"a":1}]}');
    const text = '[ {"a": 1.0} ]';
    expect(envelopeJson({ ...envelope, recordsJson: text })).toBe(`{"streamId":"s","receivedAt":1,"source":"http","records":${text}}`);
    expect(JSON.parse(envelopeJson({ ...envelope, recordsJson: text })).records).toEqual([{ a: 1 }]);
  });
});
