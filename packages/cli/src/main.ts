import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, CommanderError, Option } from 'commander';
import { TributaryApiError, TributaryClient, type QueryParams } from '../../client/src/index';
import { checkpointPathFor } from './checkpoint';
import { configPath, loadConfig, saveConfig } from './config';
import { CliError, EXIT, explain } from './exit-codes';
import { ingestFile, ingestReport } from './ingest';
import { render, pointColumns, pointRecord, toCsv, verificationReport, type OutputFormat } from './output';
import { progress } from './progress';
import { formatOf } from './sources';

const out = (text: string) => process.stdout.write(`${text}\n`);

/** The logged-in client; `--url` / `--token` of the program win over the environment and the config file. */
async function connect(program: Command): Promise<TributaryClient> {
  const flags = program.opts<{ url?: string; token?: string }>();
  const config = await loadConfig(flags);
  return new TributaryClient({ baseUrl: config.url, ...(config.token && { token: config.token }) });
}

const outputOption = () => new Option('-o, --output <format>', 'table, csv or json').choices(['table', 'csv', 'json']).default('table');

/** Reads a secret from stdin: hidden on a terminal, the first line of a pipe otherwise. */
async function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) text += chunk;
    return text.split('\n')[0]!.trim();
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  let value = '';
  for await (const chunk of stdin as AsyncIterable<Buffer>) {
    const s = chunk.toString('utf8');
    if (s === '\u0003') throw new CliError('cancelled', EXIT.interrupted);
    if (s === '\r' || s === '\n') break;
    value = s === '\u007f' ? value.slice(0, -1) : value + s;
  }
  stdin.setRawMode(false);
  stdin.pause();
  process.stderr.write('\n');
  return value.trim();
}

function timeOptions(cmd: Command): Command {
  return cmd
    .option('--start <time>', 'RFC 3339 time or epoch ms, inclusive (24 hours before --end unless given)')
    .option('--end <time>', 'RFC 3339 time or epoch ms, exclusive (now unless given)')
    .option('--fields <list>', 'comma-separated measure fields');
}

const queryParams = (o: Record<string, string | undefined>): QueryParams => ({
  ...(o.start && { start: o.start }),
  ...(o.end && { end: o.end }),
  ...(o.fields && { fields: o.fields }),
  ...(o.granularity && { granularity: o.granularity }),
  ...(o.window && { window: o.window }),
  ...(o.downsamplers && { downsamplers: o.downsamplers }),
  ...(o.groupBy && { groupBy: o.groupBy }),
});

export function buildProgram(): Command {
  const program = new Command('tributary')
    .description('Tributary from the command line: log in, manage streams, ingest files, query, export and tail.')
    .option('--url <url>', 'API base URL (else TRIBUTARY_URL, else the login config)')
    .option('--token <token>', 'API token (else TRIBUTARY_TOKEN, else the login config); visible in `ps`, prefer login')
    .showHelpAfterError()
    .exitOverride();
  program.addHelpText(
    'after',
    `\nExit codes: 0 ok, 1 internal error, 2 usage, 3 not logged in or token refused, 4 not found, 5 refused by the API,\n6 API unavailable, 10 ingest finished with rejected records, 11 verify found altered, dropped or inserted records\nor a broken receipt chain, 130 interrupted (ingest keeps its checkpoint).\nConfig file: ${configPath()}`,
  );

  program
    .command('login')
    .description('store the API URL and a token in the config file (mode 0600): tributary login --url URL [--token TOKEN]')
    .addHelpText('after', '\nThe token comes from --token, else TRIBUTARY_TOKEN, else it is asked for (hidden) on a terminal or read from stdin.')
    .action(async () => {
      const o = program.opts<{ url?: string; token?: string }>();
      if (!o.url) throw new CliError('login needs --url, e.g. tributary login --url http://127.0.0.1:3000', EXIT.usage);
      const token = o.token ?? process.env.TRIBUTARY_TOKEN ?? (await readSecret('Token: '));
      if (!token) throw new CliError('no token given', EXIT.usage);
      const client = new TributaryClient({ baseUrl: o.url, token, retry: { retries: 1 } });
      try {
        await client.streams.list({ limit: 1 });
      } catch (err) {
        // a stream's own token may not list streams, and is still a good token for its stream
        if (!(err instanceof TributaryApiError && err.status === 403)) throw err;
      }
      await saveConfig({ url: o.url, token });
      out(`logged in to ${o.url}; saved in ${configPath()}`);
    });

  const streams = program.command('streams').description('list, create, read, pause, resume and delete streams');
  streams
    .command('list')
    .description('list the streams')
    .option('--vault <id>', 'only the streams of this vault')
    .addOption(outputOption())
    .action(async (o: { vault?: string; output: OutputFormat }) => {
      const client = await connect(program);
      const rows: Record<string, unknown>[] = [];
      for await (const s of client.streams.listAll({ ...(o.vault && { vaultId: o.vault }) })) rows.push({ id: s.id, name: s.name, type: s.type, state: s.state, ...(s.vaultId !== undefined && { vaultId: s.vaultId }) });
      out(render(rows, o.output));
    });
  streams
    .command('create')
    .description('create a stream from a definition file (Tributary’s or the documents’ dialect)')
    .requiredOption('-f, --file <def.json>', 'the definition')
    .action(async (o: { file: string }) => {
      let definition: unknown;
      try {
        definition = JSON.parse(await readFile(o.file, 'utf8'));
      } catch (err) {
        throw new CliError(`cannot read ${o.file} as JSON: ${(err as Error).message}`, EXIT.usage);
      }
      const client = await connect(program);
      const created = await client.streams.create(definition as never);
      out(JSON.stringify(created, null, 2));
    });
  for (const [name, what] of [
    ['get', 'show a stream'],
    ['pause', 'pause a stream: ingest is refused until it is resumed'],
    ['resume', 'resume a paused stream'],
  ] as const) {
    streams
      .command(`${name} <id>`)
      .description(what)
      .action(async (id: string) => {
        const client = await connect(program);
        out(JSON.stringify(await client.streams[name](id), null, 2));
      });
  }
  streams
    .command('delete <id>')
    .description('delete a stream, its tokens and its points')
    .action(async (id: string) => {
      const client = await connect(program);
      await client.streams.delete(id);
      out(`deleted ${id}`);
    });

  program
    .command('ingest <stream> <file>')
    .description('send a JSON, NDJSON, CSV or line-protocol file, with progress; resumable after an interruption')
    .addOption(new Option('--format <format>', 'the file’s format (else from its extension)').choices(['ndjson', 'csv', 'json', 'line']))
    .option('--batch-size <n>', 'records per request (at most 10000)', (v) => Number(v), 5000)
    .option('--concurrency <n>', 'requests in flight', (v) => Number(v), 2)
    .option('--checkpoint <path>', 'where progress is kept (default: FILE.tributary-checkpoint.json)')
    .option('--checkpoint-every <seconds>', 'how often the checkpoint is written, at most', (v) => Number(v), 1)
    .option('--restart', 'ignore the checkpoint and start from the first line')
    .option('--ingest-token <token>', 'the stream’s ingest token, if the logged-in token is not admin')
    .action(async (stream: string, file: string, o: { format?: string; batchSize: number; concurrency: number; checkpoint?: string; checkpointEvery: number; restart?: boolean; ingestToken?: string }) => {
      if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > 10_000) throw new CliError('--batch-size must be 1 to 10000', EXIT.usage);
      if (!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > 16) throw new CliError('--concurrency must be 1 to 16', EXIT.usage);
      if (!(o.checkpointEvery >= 0 && o.checkpointEvery <= 3_600)) throw new CliError('--checkpoint-every must be 0 to 3600 seconds', EXIT.usage);
      const client = await connect(program);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const summary = await ingestFile(client, {
          stream, file, format: formatOf(file, o.format), batchSize: o.batchSize, concurrency: o.concurrency, checkpointEveryMs: o.checkpointEvery * 1000,
          ...(o.checkpoint && { checkpoint: o.checkpoint }), ...(o.restart && { restart: true }), ...(o.ingestToken && { token: o.ingestToken }),
          signal: stop.signal,
        });
        const report = ingestReport(summary, stream, checkpointPathFor(file, o.checkpoint));
        out(report.text);
        process.exitCode = report.code;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });

  timeOptions(program.command('query <stream>').description('query points, raw or downsampled'))
    .option('--granularity <g>', 'raw, or a bin width such as 1m, 1h, 1d')
    .option('--window <w>', 'instead of a granularity: tumbling:SIZE, sliding:SIZE/STEP or session:GAP (e.g. sliding:5m/1m)')
    .option('--downsamplers <list>', 'comma-separated: mean, min, max, sum, count, first, last, stddev, trend, p50, p90, p95, p99')
    .option('--group-by <list>', 'dimensions to downsample per value of')
    .option('--limit <n>', 'at most this many points (all pages are read)', (v) => Number(v))
    .addOption(outputOption())
    .action(async (stream: string, o: Record<string, string | undefined> & { limit?: number; output: OutputFormat }) => {
      const client = await connect(program);
      const rows: Record<string, unknown>[] = [];
      for await (const p of client.streams.points(stream, { ...queryParams(o), limit: Math.min(10_000, o.limit ?? 10_000) })) {
        rows.push(pointColumns(p));
        if (o.limit !== undefined && rows.length >= o.limit) break;
      }
      out(render(rows, o.output));
    });

  timeOptions(program.command('export <stream>').description('write a stream’s points to a file as records it would take again, with progress'))
    .requiredOption('-f, --file <path>', 'the file to write')
    .addOption(new Option('--format <format>', 'ndjson or csv').choices(['ndjson', 'csv']).default('ndjson'))
    .action(async (stream: string, o: Record<string, string | undefined> & { file: string; format: 'ndjson' | 'csv' }) => {
      const client = await connect(program);
      const definition = await client.streams.get(stream);
      const file = createWriteStream(o.file);
      const bar = progress(`export ${stream}`, undefined);
      let n = 0;
      let columns: string[] | undefined;
      for await (const p of client.streams.points(stream, { ...queryParams(o), order: 'asc', limit: 10_000 })) {
        const record = pointRecord(p, definition);
        let line: string;
        if (o.format === 'csv') {
          // the columns of the first record, then the stream's schema order for the rest
          columns ??= [...new Set([...Object.keys(record), ...Object.keys(definition.schema ?? {})])];
          line = n === 0 ? toCsv([record], columns) : toCsv([record], columns).split('\n')[1]!;
        } else line = JSON.stringify(record);
        if (!file.write(`${line}\n`)) await once(file, 'drain');
        bar.update(0, ++n);
      }
      file.end();
      await finished(file);
      bar.stop();
      out(`${n} records written to ${o.file}`);
    });

  program
    .command('tail <stream>')
    .description('print new records as they are stored, until Ctrl-C')
    .option('--interval <seconds>', 'how often to ask', (v) => Number(v), 1)
    .action(async (stream: string, o: { interval: number }) => {
      const client = await connect(program);
      let since = Date.now() - 60_000;
      const seen = new Set<string>();
      for (;;) {
        const until = Date.now();
        const page: Record<string, unknown>[] = [];
        for await (const p of client.streams.points(stream, { start: since, end: until + 1, order: 'asc', limit: 10_000 })) {
          const key = JSON.stringify(p);
          if (!seen.has(key)) page.push(pointColumns(p));
          seen.add(key);
        }
        for (const row of page) out(JSON.stringify(row));
        // points can arrive with times just before `until`: keep the last minute's keys, ask again from there
        since = until - 60_000;
        if (seen.size > 100_000) seen.clear();
        await sleep(Math.max(100, o.interval * 1000));
      }
    });

  program
    .command('verify <stream>')
    .description('check every stored record of a stream (or a window of it) against its receipt chain')
    .option('--start <time>', 'RFC 3339 time or epoch ms, inclusive (the first receipt’s first record unless given)')
    .option('--end <time>', 'RFC 3339 time or epoch ms, exclusive (just after the last record unless given)')
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .addHelpText('after', '\nExits 0 when every record matches its receipt, 11 when anything was altered, dropped or inserted, or a receipt link is broken.')
    .action(async (stream: string, o: { start?: string; end?: string; output: 'text' | 'json' }) => {
      const client = await connect(program);
      const answer = await client.streams.verify(stream, { ...(o.start && { start: o.start }), ...(o.end && { end: o.end }) });
      out(o.output === 'json' ? JSON.stringify(answer, null, 2) : verificationReport(answer));
      if (!answer.verified) process.exitCode = EXIT.unverified;
    });

  program
    .command('status <stream>')
    .description('a stream’s counts, last write, recent rejections and pull state')
    .action(async (stream: string) => {
      const client = await connect(program);
      out(JSON.stringify(await client.streams.status(stream), null, 2));
    });

  return program;
}

/** Runs the program; errors become one line on stderr and the exit code of `exit-codes.ts`. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const { code, message } = explain(err);
    process.stderr.write(`tributary: ${message}\n`);
    process.exitCode = code;
  }
}

await main(process.argv);
