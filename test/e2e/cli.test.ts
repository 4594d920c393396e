import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { ADMIN, startLocal } from './harness';

// The `tributary` command as a user runs it, in a pseudo-terminal (util-linux `script`), against the local
// runtime: the progress bar, a kill -9 halfway and the resumed run, the memory it takes, and export.

const run = promisify(execFile);
const BIN = resolve('packages/cli/bin/tributary.js');
const LINES = 1_000_000;
const T0 = Date.parse('2026-11-30T00:00:00Z');

const definition = (id: string) => ({
  id,
  name: `CLI ${id}`,
  type: 'event_stream',
  validation: 'lenient',
  schema: { timestamp: { type: 'datetime' }, seq: { type: 'integer', required: true }, device: { type: 'string' }, v: { type: 'number' } },
  dimensions: ['device'],
});

/** NDJSON of `n` records, written in chunks (the test itself must not hold the file). */
async function writeNdjson(path: string, n: number, options: { timestamps: boolean; extra?: (i: number) => string }): Promise<void> {
  const out = createWriteStream(path);
  let chunk = '';
  for (let i = 0; i < n; i++) {
    const time = options.timestamps ? `"timestamp":"${new Date(T0 + i * 10).toISOString()}",` : '';
    // without timestamps, records of one batch share their arrival time: each is a series of its own then
    const device = options.timestamps ? `d${i % 50}` : `d${i}`;
    chunk += `{${time}"seq":${i},"device":"${device}","v":${i / 2}}\n${options.extra?.(i) ?? ''}`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/** The process ids under `pid` (script → shell → node), from /proc (no `ps` needed). */
async function descendants(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isInteger(ppid)) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const all: number[] = [];
  for (let queue = [pid]; queue.length; ) for (const c of children.get(queue.shift()!) ?? []) all.push(c), queue.push(c);
  return all;
}

interface Session {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
  /** The largest RSS of the CLI's node process seen so far (polled every 50 ms), in bytes. */
  peakRss: () => number;
}

describe('the tributary CLI in a terminal', () => {
  const local = startedForSuite(() => startLocal());
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-cli-'));
    if ((await run('sh', ['-c', 'command -v script || true'])).stdout.trim() === '') throw new Error('util-linux script is needed for the terminal tests (apt-get install bsdutils)');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const env = () => ({ ...process.env, TRIBUTARY_URL: local.base, TRIBUTARY_TOKEN: ADMIN, TRIBUTARY_CONFIG: join(dir, 'config.json'), COLUMNS: '120', LINES: '40' });

  /** `tributary …` in a pseudo-terminal of its own process group. */
  function inTerminal(args: string[]): Session {
    const command = ['node', BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout!.on('data', (d) => (text += d));
    child.stderr!.on('data', (d) => (text += d));
    let peak = 0;
    const timer = setInterval(async () => {
      for (const pid of await descendants(child.pid!).catch(() => [])) {
        const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        if (!/^Name:\s+node$/m.test(status)) continue;
        peak = Math.max(peak, Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024);
      }
    }, 50);
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => (clearInterval(timer), resolve(code))));
    return { child, output: () => text, exit, peakRss: () => peak };
  }

  const cli = (args: string[]) => run('node', [BIN, ...args], { env: env() }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

  async function storedCount(id: string, from = T0, to = T0 + 86_400_000): Promise<number> {
    const r = await local.api(`/v1/streams/${id}/data?start=${from}&end=${to}&granularity=1d&downsamplers=count&fields=seq`);
    return r.body.points.reduce((n: number, p: { values: { seq: { count: number } } }) => n + p.values.seq.count, 0);
  }

  it('ingests a 1,000,000-line NDJSON file with a progress bar, in constant memory, and resumes after kill -9 without duplicates', { timeout: 240_000 }, async () => {
    // no timestamps: each record takes its time on arrival, so a record stored twice is two points, and only
    // the batches' idempotency keys keep a re-sent batch from being stored again
    const file = join(dir, 'readings.ndjson');
    await writeNdjson(file, LINES, { timestamps: false });
    const since = Date.now() - 60_000;
    const fileBytes = (await stat(file)).size;
    await local.createStream(definition('cli_big'));

    // a checkpoint every 2 s: killed 0.7 s after the second one, batches the API acknowledged since are
    // past the checkpoint, and the resumed run sends them again
    const first = inTerminal(['ingest', 'cli_big', file, '--checkpoint-every', '2']);
    const checkpoint = `${file}.tributary-checkpoint.json`;
    let seen = 0;
    for (const until = Date.now() + 60_000; ; ) {
      const saved = await readFile(checkpoint, 'utf8').then(JSON.parse, () => undefined);
      if (saved && saved.line > 5_000) break;
      if (saved) seen = saved.line;
      if (Date.now() > until) throw new Error(`no second checkpoint (first at line ${seen}); output: ${first.output().slice(-500)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 700));
    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exit;
    // the bar, drawn in place on the terminal: a bar, the rate and the ETA
    expect(first.output()).toMatch(/ingest cli_big \[[█░]+\] \d+% \| \d+ records \| \d+ records\/s \| ETA/);
    const killedAt = JSON.parse(await readFile(checkpoint, 'utf8'));
    expect(killedAt.line).toBeGreaterThan(5_000);
    expect(killedAt.line).toBeLessThan(LINES);

    // what the API took before the kill, once written (the queue drained): more than the checkpoint says
    for (const until = Date.now() + 60_000; Date.now() < until; ) {
      const { depth, inFlight } = local.rt.queue.stats();
      if (depth === 0 && inFlight === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = await storedCount('cli_big', since, Date.now() + 3_600_000);
    expect(before).toBeGreaterThan(killedAt.line);

    const second = inTerminal(['ingest', 'cli_big', file]);
    expect(await second.exit).toBe(0);
    expect(second.output()).toContain(`records accepted into cli_big (resumed after line ${killedAt.line})`);
    await expect(stat(checkpoint)).rejects.toThrow(); // removed once the file is done
    // constant memory: far below the file (43 MiB) plus its million records as objects, which a CLI holding
    // the file would need; what it takes is Node, tsx and the batches in flight
    const peak = second.peakRss();
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(300 * 1024 * 1024);
    expect(fileBytes).toBeGreaterThan(40 * 1024 * 1024);
    console.log(`cli ingest: ${LINES} lines, ${Math.round(fileBytes / 2 ** 20)} MiB, killed with ${before} stored, resumed after line ${killedAt.line}, peak RSS ${Math.round(peak / 2 ** 20)} MiB`);

    // every record exactly once: the batches in flight at the kill were sent again with the same keys
    for (const until = Date.now() + 60_000; (await storedCount('cli_big', since, Date.now() + 3_600_000)) < LINES && Date.now() < until; ) await new Promise((r) => setTimeout(r, 200));
    expect(await storedCount('cli_big', since, Date.now() + 3_600_000)).toBe(LINES);
  });

  it('names rejected lines, exits 10, and round-trips a stream through export and ingest', { timeout: 120_000 }, async () => {
    const file = join(dir, 'small.ndjson');
    await writeNdjson(file, 20_000, { timestamps: true, extra: (i) => (i === 99 ? 'not json\n' : i === 4_999 ? '{"seq":"x"}\n' : '') });
    await local.createStream(definition('cli_a'));
    await local.createStream(definition('cli_b'));
    const ingested = await cli(['ingest', 'cli_a', file]);
    expect(ingested.code).toBe(10);
    expect(ingested.stdout).toContain('20000 records accepted into cli_a');
    expect(ingested.stdout).toMatch(/line 101: not JSON/);
    expect(ingested.stdout).toMatch(/line 5002: seq: /);
    // without a terminal the progress is plain lines
    expect(ingested.stderr).toMatch(/^ingest cli_a \d+ records \(\d+%\), \d+ records\/s$/m);
    // a JSON array is streamed element by element; a non-object element is named by its position
    const array = join(dir, 'small.json');
    await writeFile(array, `[\n${JSON.stringify({ timestamp: new Date(T0 - 3_600_000).toISOString(), seq: 1 })},\n42\n]\n`);
    const fromArray = await cli(['ingest', 'cli_a', array]);
    expect([fromArray.code, fromArray.stdout]).toEqual([10, expect.stringMatching(/1 records accepted into cli_a[\s\S]*line 2: not a JSON object/)]);

    const exported = join(dir, 'a.ndjson');
    const session = inTerminal(['export', 'cli_a', '-f', exported, '--start', String(T0)]);
    expect(await session.exit).toBe(0);
    expect(session.output()).toContain(`20000 records written to ${exported}`);
    expect((await cli(['ingest', 'cli_b', exported])).code).toBe(0);
    for (const until = Date.now() + 30_000; (await storedCount('cli_b')) < 20_000 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
    const again = join(dir, 'b.ndjson');
    expect((await cli(['export', 'cli_b', '-f', again, '--start', String(T0)])).code).toBe(0);
    const a = await readFile(exported, 'utf8');
    expect(a.split('\n').filter(Boolean)).toHaveLength(20_000);
    expect(JSON.parse(a.split('\n')[0]!)).toEqual({ timestamp: new Date(T0).toISOString(), device: 'd0', seq: 0, v: 0 });
    expect(await readFile(again, 'utf8')).toBe(a);
  });

  it('answers --help on every command, and exits with the documented codes', async () => {
    for (const args of [[], ['login'], ['streams'], ['streams', 'list'], ['streams', 'create'], ['streams', 'get'], ['streams', 'pause'], ['streams', 'resume'], ['streams', 'delete'], ['ingest'], ['query'], ['export'], ['tail'], ['status']]) {
      const r = await cli([...args, '--help']);
      expect([args, r.code]).toEqual([args, 0]);
      expect(r.stdout).toMatch(/^Usage: tributary/);
    }
    expect((await cli(['streams', 'get', 'no-such-stream'])).code).toBe(4);
    expect((await cli(['ingest', 'cli_a'])).code).toBe(2);
    expect((await run('node', [BIN, 'streams', 'list'], { env: { ...env(), TRIBUTARY_TOKEN: 'trb_wrong-token-0000000000000000' } }).catch((e) => e)).code).toBe(3);
    const table = await cli(['query', 'cli_a', '--start', String(T0), '--granularity', '1d', '--downsamplers', 'count', '--fields', 'seq', '-o', 'csv']);
    expect(table.stdout.trim().split('\n')).toEqual(['time,seq.count', `${new Date(T0).toISOString()},20000`]);
  });
});
