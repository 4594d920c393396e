/**
 * What `FileQueue.open` reads back: every segment's frames, replayed into the messages still pending, and
 * the dead-letter file.
 */
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IngestEnvelope } from '../../ports';
import { KIND, readFrames } from './frame-codec';
import { SEGMENT_FILE } from './segment-log';
import type { DeadLetter, Entry, Segment } from './types';

/** The dead-letter file's name in the queue directory. */
export const DEAD_LETTER_FILE = 'dead-letters.log';

/**
 * The queue's state as the segments on disk have it.
 *
 * @example
 * const { entries, nextSeq } = await replaySegments(dir);
 */
export interface Replay {
  segments: Segment[];
  /** The messages not yet acknowledged, by seq, in seq order. */
  entries: Map<number, Entry>;
  nextSeq: number;
  tornBytes: number;
  /** Where the last segment's valid frames end. */
  activeEnd: number | undefined;
}

/** A message frame read back, its envelope not parsed yet. */
interface Pending {
  payload: Buffer;
  receiveCount: number;
  segment: Segment;
}

/**
 * Reads every segment in `dir`, oldest first, and replays its frames: messages, their receives, their
 * acknowledgments and the state frames that restate older segments. A torn or corrupt tail ends a segment.
 *
 * @example
 * const replay = await replaySegments('.tributary/queue');
 */
export async function replaySegments(dir: string): Promise<Replay> {
  const files = (await readdir(dir))
    .map((name) => ({ name, match: SEGMENT_FILE.exec(name) }))
    .filter((f) => f.match)
    .map((f) => ({ path: join(dir, f.name), base: Number(f.match![1]) }))
    .sort((a, b) => a.base - b.base);
  const replay: Replay = { segments: [], entries: new Map(), nextSeq: 1, tornBytes: 0, activeEnd: undefined };
  const ranges = new Map<number, { segment: Segment; first: number; last: number }>();
  // Envelopes are parsed once replay is done, and only those still pending: most were acknowledged since.
  const entries = new Map<number, Pending>();
  for (const [index, file] of files.entries()) {
    const segment: Segment = { base: file.base, path: file.path, live: 0, retiring: false };
    const range = { segment, first: Number.POSITIVE_INFINITY, last: -1 };
    ranges.set(segment.base, range);
    replay.segments.push(segment);
    replay.nextSeq = Math.max(replay.nextSeq, file.base);
    const buf = await readFile(file.path);
    const end = readFrames(buf, (kind, seq, payload) => {
      if (kind === KIND.message) {
        entries.set(seq, { payload, receiveCount: 0, segment });
        segment.live++;
        range.first = Math.min(range.first, seq);
        range.last = seq;
        replay.nextSeq = Math.max(replay.nextSeq, seq + 1);
      } else if (kind === KIND.received) {
        for (const s of JSON.parse(payload.toString()) as number[]) {
          const entry = entries.get(s);
          if (entry) entry.receiveCount++;
        }
      } else if (kind === KIND.acked) {
        for (const s of JSON.parse(payload.toString()) as number[]) {
          const entry = entries.get(s);
          if (!entry) continue;
          entries.delete(s);
          entry.segment.live--;
        }
      } else if (kind === KIND.state) {
        const state = JSON.parse(payload.toString()) as { base: number; pending: [number, number][] };
        const target = ranges.get(state.base);
        if (!target) return;
        const counts = new Map(state.pending);
        for (let s = target.first; s <= target.last; s++) {
          const entry = entries.get(s);
          if (!entry) continue;
          const count = counts.get(s);
          if (count !== undefined) entry.receiveCount = count;
          else {
            entries.delete(s);
            target.segment.live--;
          }
        }
      }
    });
    replay.tornBytes += buf.length - end;
    if (index === files.length - 1) replay.activeEnd = end;
  }
  for (const [seq, { payload, receiveCount, segment }] of entries) {
    const envelope = JSON.parse(payload.toString()) as IngestEnvelope;
    replay.entries.set(seq, { seq, id: String(seq), envelope, records: envelope.records.length, receiveCount, segment, visibleAt: 0 });
  }
  return replay;
}

/**
 * The dead letters in `dir`, oldest first, and where their valid frames end.
 *
 * @example
 * const { letters } = await readDeadLetters(dir);
 */
export async function readDeadLetters(dir: string): Promise<{ letters: DeadLetter[]; end: number }> {
  let buf: Buffer;
  try {
    buf = await readFile(join(dir, DEAD_LETTER_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { letters: [], end: 0 };
    throw err;
  }
  const letters: DeadLetter[] = [];
  const end = readFrames(buf, (kind, _seq, payload) => {
    if (kind === KIND.dead) letters.push(JSON.parse(payload.toString()) as DeadLetter);
  });
  return { letters, end };
}

/**
 * Counts the dead letters in `dir`, cutting a torn last frame off the file.
 *
 * @example
 * const deadLetters = await countDeadLetters(dir);
 */
export async function countDeadLetters(dir: string): Promise<number> {
  const { letters, end } = await readDeadLetters(dir);
  const path = join(dir, DEAD_LETTER_FILE);
  if (letters.length > 0 || end > 0) {
    const handle = await open(path, 'r+');
    try {
      if ((await handle.stat()).size > end) await handle.truncate(end);
    } finally {
      await handle.close();
    }
  }
  return letters.length;
}
