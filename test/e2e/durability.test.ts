import { afterAll, describe, expect, it } from 'vitest';
import { createLoadStream, startIngestLoad, waitForLoadPoints } from '../fixtures/ingest-load';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { ADMIN } from './harness';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('kill -9 loses no acknowledged record', () => {
  const runtimes: RuntimeProcess[] = [];
  afterAll(async () => {
    for (const rt of runtimes) await rt.close();
  });

  it('every record acknowledged over HTTP (202) and MQTT (PUBACK) before the kill is there after restart', async () => {
    // `npm start` as a user runs it: a separate process we can kill -9
    const runtime = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN });
    runtimes.push(runtime);
    const load = startIngestLoad(runtime, await createLoadStream(runtime, ADMIN), { http: 3, mqtt: 1 });
    await sleep(1_500);
    await runtime.kill();
    await load.stop();
    expect(load.acked.size).toBeGreaterThan(100);

    await runtime.start();
    const found = new Set(await waitForLoadPoints(runtime, ADMIN, load.acked));
    expect([...load.acked].filter((k) => !found.has(k))).toEqual([]);
    expect(load.unexpected).toEqual([]);
  });
});
