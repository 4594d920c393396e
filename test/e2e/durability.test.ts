import { afterAll, describe, expect, it } from 'vitest';
import { LOAD_STREAM, readLoadPoints, startIngestLoad, waitForLoadPoints } from '../fixtures/ingest-load';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { ADMIN } from './harness';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function createLoadStream(rt: RuntimeProcess): Promise<string> {
  const created = await fetch(`${rt.base}/v1/streams`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(LOAD_STREAM),
  });
  expect(created.status).toBe(201);
  return ((await created.json()) as { ingestToken: string }).ingestToken;
}

describe('kill -9 loses no acknowledged record', () => {
  const runtimes: RuntimeProcess[] = [];
  afterAll(async () => {
    for (const rt of runtimes) await rt.close();
  });

  it('every record acknowledged over HTTP (202) and MQTT (PUBACK) before the kill is there after restart', async () => {
    // `npm start` as a user runs it: a separate process we can kill -9
    const runtime = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN });
    runtimes.push(runtime);
    const load = startIngestLoad(runtime, await createLoadStream(runtime), { http: 3, mqtt: 1 });
    await sleep(1_500);
    await runtime.kill();
    await load.stop();
    expect(load.acked.size).toBeGreaterThan(100);

    await runtime.start();
    const found = new Set(await waitForLoadPoints(runtime, ADMIN, load.acked));
    expect([...load.acked].filter((k) => !found.has(k))).toEqual([]);
    expect(load.unexpected).toEqual([]);
  });

  it('50 kill -9 of the process group under HTTP and MQTT load, each restart beside the killed runtime\'s zombie: every acknowledged record stored exactly once, every restart under 5 s', async () => {
    const runtime = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN }, { processGroup: true, zombie: true });
    runtimes.push(runtime);
    const load = startIngestLoad(runtime, await createLoadStream(runtime), { http: 2, mqtt: 2 });
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
  }, 360_000);
});
