import { afterAll, describe, expect, it } from 'vitest';
import { createLoadStream, LOAD_STREAM, readLoadPoints, startIngestLoad, waitForLoadPoints } from '../fixtures/ingest-load';
import { waitFor } from '../fixtures/waiting';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { ADMIN } from './harness';

// Its own vitest project, run after the others (vitest.config.ts): restart times are measured, and a
// machine busy with the other suites would measure them rather than the restart.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a crash never blocks the restart', () => {
  const runtimes: RuntimeProcess[] = [];
  afterAll(async () => {
    for (const rt of runtimes) await rt.close();
  });

  it('50 kill -9 of the process group under HTTP and MQTT load, each restart beside the killed runtime\'s zombie: every acknowledged record stored exactly once, every restart under 5 s', async () => {
    const runtime = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN }, { processGroup: true, zombie: true });
    runtimes.push(runtime);
    const load = startIngestLoad(runtime, await createLoadStream(runtime, ADMIN), { http: 2, mqtt: 2 });
    const restarts: number[] = [];
    for (let cycle = 0; cycle < 50; cycle++) {
      await sleep(100 + Math.random() * 900);
      await runtime.kill();
      await runtime.start();
      restarts.push(runtime.lastStartMs);
    }
    await sleep(500);
    await load.stop({ retryPending: true });

    const found = await waitForLoadPoints(runtime, ADMIN, load.acked, 60_000);
    const sorted = [...restarts].sort((a, b) => a - b);
    console.log(
      `kill -9 loop: ${restarts.length} restarts, max ${Math.round(sorted.at(-1)!)} ms, median ${Math.round(sorted[sorted.length >> 1]!)} ms; ` +
        `${load.acked.size} records acknowledged (${load.attempts.http} HTTP and ${load.attempts.mqtt} MQTT sends), ${found.length} read back`,
    );
    expect(load.unexpected).toEqual([]);
    expect(found.length, 'the raw query returns each acknowledged record once, and nothing else').toBe(load.acked.size);
    const stored = new Set(found);
    expect(stored.size, 'no record is stored twice').toBe(found.length);
    expect([...load.acked].filter((k) => !stored.has(k))).toEqual([]);
    expect(Math.max(...restarts), `every restart (spawn to ready) under 5 s: ${restarts.map(Math.round).join(', ')}`).toBeLessThan(5_000);
    expect(load.acked.size).toBeGreaterThan(5_000);
    // the read is the query API's: a second read agrees (nothing was still arriving)
    expect((await readLoadPoints(runtime, ADMIN)).length).toBe(found.length);
    // and every stored record is in a receipt of the stream's unbroken, signed chain, redeliveries and all
    // (a batch's receipt follows its write: the last one may still be on its way)
    const verify = async () => (await fetch(`${runtime.base}/v1/streams/${LOAD_STREAM.id}/verify`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as Promise<{ verified: boolean; records: { verified: number } }>;
    const verification = await waitFor(verify, (v) => v.verified && v.records.verified === found.length, 30_000);
    expect(verification).toMatchObject({ verified: true, problems: [] });
  }, 360_000);
});
