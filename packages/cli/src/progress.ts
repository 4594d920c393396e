import cliProgress from 'cli-progress';

/** What a long command reports while it runs. */
export interface Progress {
  update(done: number, records: number): void;
  stop(): void;
}

const rate = (records: number, startedAt: number) => Math.round(records / Math.max(0.001, (Date.now() - startedAt) / 1000));

/**
 * A bar with records/s and ETA on a terminal (stderr is a TTY), one plain line a second otherwise (CI logs,
 * pipes). `total` is in the unit of `done` (bytes of the input); `undefined` when it is not known (export).
 */
export function progress(label: string, total: number | undefined, stream: NodeJS.WriteStream = process.stderr): Progress {
  const startedAt = Date.now();
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: total === undefined ? `${label} {records} records | {rate} records/s` : `${label} [{bar}] {percentage}% | {records} records | {rate} records/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total ?? 1, 0, { records: 0, rate: 0 });
    return {
      update: (done, records) => bar.update(total === undefined ? 0 : done, { records, rate: rate(records, startedAt) }),
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  let latest = { done: 0, records: 0 };
  const line = () => {
    const pct = total ? ` (${Math.floor((latest.done / total) * 100)}%)` : '';
    stream.write(`${label} ${latest.records} records${pct}, ${rate(latest.records, startedAt)} records/s\n`);
  };
  return {
    update: (done, records) => {
      latest = { done, records };
      if (Date.now() - last >= 1_000) {
        last = Date.now();
        line();
      }
    },
    stop: () => line(),
  };
}
