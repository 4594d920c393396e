import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { influxV1Write, influxV2Write, serializeInflux, type TelegrafMetric } from '../fixtures/telegraf/requests';

const ADMIN = 'trb_line-protocol-admin-token-0123456789';

// Telegraf stamps a gather with the interval's start: whole 10 s, in nanoseconds
const T0 = BigInt(Math.floor((Date.now() - 120_000) / 10_000) * 10_000) * 1_000_000n;
const at = (k: number) => T0 + BigInt(k) * 10_000_000_000n;
const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

const CPU: TelegrafMetric[] = [
  { name: 'cpu', tags: { host: 'node1', cpu: 'cpu-total' }, fields: { usage_user: 1.2531328320802, usage_system: 0.6265664160401, usage_idle: 97.99498746867, usage_iowait: 0 }, time: at(0) },
  { name: 'cpu', tags: { host: 'node1', cpu: 'cpu0' }, fields: { usage_user: 2.5, usage_system: 1, usage_idle: 96.5, usage_iowait: 0.000001 }, time: at(0) },
  { name: 'cpu', tags: { host: 'node1', cpu: 'cpu-total' }, fields: { usage_user: 3.75, usage_system: 0.25, usage_idle: 96, usage_iowait: 0 }, time: at(1) },
];
const MEM: TelegrafMetric[] = [
  { name: 'mem', tags: { host: 'node1' }, fields: { total: { int: 16_663_535_616 }, available: { int: 9_814_814_720 }, used: { int: 6_145_822_720 }, used_percent: 36.88183405073578, available_percent: 58.89956 }, time: at(0) },
  { name: 'mem', tags: { host: 'node1' }, fields: { total: { int: 16_663_535_616 }, available: { int: 9_700_000_000 }, used: { int: 6_260_637_440 }, used_percent: 37.57, available_percent: 58.2 }, time: at(1) },
];

describe('InfluxDB line protocol: the requests of Telegraf outputs.influxdb_v2 and outputs.influxdb, on the local runtime', () => {
  let rt: RuntimeProcess;
  let cpuToken: string;
  let memToken: string;

  const admin = async (path: string, body?: unknown) => {
    const res = await fetch(`${rt.base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return (await res.json()) as any;
  };

  /** The stream's points in [T0, T0 + 1 h) once the writer has stored `count` of them (or 15 s passed). */
  async function pointsOf(stream: string, count: number): Promise<any[]> {
    const until = Date.now() + 15_000;
    for (;;) {
      const { points } = await admin(`/v1/streams/${stream}/data?granularity=raw&start=${iso(T0)}&end=${iso(T0 + 3_600_000_000_000n)}&limit=1000`);
      if (points.length >= count || Date.now() > until) return points;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const v2 = (token: string, body: string, bucket = 'telegraf') => fetch(...influxV2Write(rt.base, { token, organization: 'tributary', bucket }, body));
  const v1 = (token: string, body: string) => fetch(...influxV1Write(rt.base, { database: 'telegraf', username: 'telegraf', password: token }, body));

  beforeAll(async () => {
    rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN, TRIBUTARY_QUIET: '1' });
    const usage = { type: 'number', unit: '%', range: { min: 0, max: 100 } };
    cpuToken = (
      await admin('/v1/streams', {
        id: 'cpu',
        name: 'CPU (Telegraf inputs.cpu)',
        type: 'iot_sensor',
        schema: { host: { type: 'string', required: true }, cpu: { type: 'string', required: true }, usage_user: usage, usage_system: usage, usage_idle: usage, usage_iowait: usage },
        dimensions: ['host', 'cpu'],
      })
    ).ingestToken;
    memToken = (
      await admin('/v1/streams', {
        id: 'mem',
        name: 'Memory (Telegraf inputs.mem)',
        type: 'iot_sensor',
        schema: { host: { type: 'string', required: true }, total: { type: 'integer' }, available: { type: 'integer' }, used: { type: 'integer' }, used_percent: { type: 'number' }, available_percent: { type: 'number' } },
        dimensions: ['host'],
      })
    ).ingestToken;
  });
  afterAll(() => rt?.close());

  it('takes the cpu and mem batches of outputs.influxdb_v2 (204, no body) and the query API returns every value exactly', async () => {
    const cpu = await v2(cpuToken, serializeInflux(CPU));
    expect(cpu.status).toBe(204);
    expect(await cpu.text()).toBe('');
    const mem = await v2(memToken, serializeInflux(MEM));
    expect(mem.status).toBe(204);

    const cpuPoints = await pointsOf('cpu', 3);
    expect(cpuPoints).toHaveLength(3);
    for (const m of CPU) {
      expect(cpuPoints).toContainEqual({ time: iso(m.time), dimensions: m.tags, values: m.fields });
    }
    const memPoints = await pointsOf('mem', 2);
    expect(memPoints.map((p) => ({ ...p, values: p.values }))).toEqual(
      MEM.map((m) => ({ time: iso(m.time), dimensions: m.tags, values: Object.fromEntries(Object.entries(m.fields).map(([k, v]) => [k, typeof v === 'object' ? v.int : v])) })),
    );
  });

  it("reads Telegraf's points back through InfluxDB's /query under the measurement they were written to", async () => {
    const q = `SELECT "usage_idle" FROM "cpu" WHERE "host" = 'node1' AND "cpu" = 'cpu-total' AND time >= ${Number(T0 / 1_000_000n)}ms`;
    const res = await fetch(`${rt.base}/query?db=telegraf&epoch=ms&q=${encodeURIComponent(q)}`, { headers: { authorization: `Token ${ADMIN}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { series?: { name: string; values: unknown[][] }[] }[] };
    expect(body.results[0]!.series![0]).toMatchObject({ name: 'cpu', values: [[Number(at(0) / 1_000_000n), 97.99498746867], [Number(at(1) / 1_000_000n), 96]] });
  });

  it('takes the batch of outputs.influxdb (1.x, basic auth with the token as password) and returns it', async () => {
    const later: TelegrafMetric[] = [{ name: 'cpu', tags: { host: 'node2', cpu: 'cpu-total' }, fields: { usage_user: 10.5, usage_system: 4.25, usage_idle: 85.25, usage_iowait: 0 }, time: at(2) }];
    const res = await v1(cpuToken, serializeInflux(later));
    expect(res.status).toBe(204);
    const points = await pointsOf('cpu', 4);
    expect(points).toContainEqual({ time: iso(at(2)), dimensions: { host: 'node2', cpu: 'cpu-total' }, values: later[0]!.fields });
  });

  it('answers each bad body with a clear 4xx in InfluxDB’s error shape, and stores nothing of it', async () => {
    const before = (await pointsOf('cpu', 4)).length;
    const good = serializeInflux([{ ...CPU[0]!, tags: { host: 'refused', cpu: 'cpu-total' }, time: at(5) }]);

    // bad escaping: a backslash that escapes nothing, at the end of a tag value on line 2
    const escaping = await v2(cpuToken, `${good}cpu,host=node1\\\n`);
    expect(escaping.status).toBe(400);
    expect(await escaping.json()).toEqual({ code: 'invalid', message: expect.stringMatching(/line 2: a backslash at the end of the tag 'host' escapes nothing/), line: 2 });
    const escapingV1 = await v1(cpuToken, `${good}cpu,host=node1\\\n`);
    expect(escapingV1.status).toBe(400);
    expect(await escapingV1.json()).toEqual({ error: expect.stringMatching(/^unable to parse .*line 2/) });

    const duplicate = await v2(cpuToken, `${good}cpu,host=a,cpu=c usage_idle=1,usage_idle=2 ${at(5)}\n`);
    expect(duplicate.status).toBe(400);
    expect(await duplicate.json()).toMatchObject({ code: 'invalid', message: expect.stringContaining("line 2: the field 'usage_idle' is given twice"), line: 2 });

    const outOfRange = await v2(cpuToken, `${good}cpu,host=a,cpu=c usage_idle=1 99999999999999999999\n`);
    expect(outOfRange.status).toBe(400);
    expect(await outOfRange.json()).toMatchObject({ code: 'invalid', message: expect.stringContaining('line 2'), line: 2 });
    const beforeEpoch = await v1(cpuToken, `${good}cpu,host=a,cpu=c usage_idle=1 -1000000000\n`);
    expect(beforeEpoch.status).toBe(400);
    expect(((await beforeEpoch.json()) as { error: string }).error).toMatch(/line 2: the timestamp -1000000000 is out of range/);

    // a measurement naming another stream than the token's
    const other = await v2(cpuToken, `${good}${serializeInflux([MEM[0]!])}`);
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ code: 'forbidden', message: expect.stringContaining("measurement 'mem'"), line: 2 });

    const unknown = await v2(ADMIN, `${good}disk,host=a free=1i ${at(5)}\n`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'not found', message: expect.stringContaining("measurement 'disk' names no stream") });

    // the stream's schema: a value out of range and a field it does not declare
    const invalid = await v2(cpuToken, `${good}cpu,host=a,cpu=c usage_idle=101 ${at(5)}\ncpu,host=a,cpu=c usage_steal=1 ${at(5)}\n`);
    expect(invalid.status).toBe(400);
    const body = (await invalid.json()) as { message: string };
    expect(body).toMatchObject({ code: 'invalid', line: 2 });
    expect(body.message).toMatch(/line 2 \(cpu\): usage_idle: .*line 3 \(cpu\): usage_steal: unknown field/);

    const noBucket = await fetch(`${rt.base}/api/v2/write?org=x`, { method: 'POST', headers: { authorization: `Token ${cpuToken}` }, body: good });
    expect(noBucket.status).toBe(400);
    expect(await noBucket.json()).toEqual({ code: 'invalid', message: 'bucket is required' });
    const badPrecision = await fetch(`${rt.base}/api/v2/write?bucket=x&precision=m`, { method: 'POST', headers: { authorization: `Token ${cpuToken}` }, body: good });
    expect(badPrecision.status).toBe(400);

    const anonymous = await fetch(`${rt.base}/api/v2/write?bucket=x`, { method: 'POST', body: good });
    expect(anonymous.status).toBe(401);

    // nothing of any refused body was stored: a good write after them is the only new point
    expect((await v2(cpuToken, serializeInflux([{ ...CPU[0]!, tags: { host: 'after', cpu: 'cpu-total' }, time: at(6) }]))).status).toBe(204);
    const after = await pointsOf('cpu', before + 1);
    expect(after).toHaveLength(before + 1);
    expect(after.filter((p) => p.dimensions.host === 'refused')).toEqual([]);
  });

  it('reads the precision parameter: seconds for 2.x, hours for 1.x', async () => {
    const seconds = at(8) / 1_000_000_000n;
    const res = await fetch(`${rt.base}/api/v2/write?bucket=b&org=o&precision=s`, {
      method: 'POST',
      headers: { authorization: `Token ${memToken}`, 'content-type': 'text/plain; charset=utf-8' },
      body: `mem,host=precise used_percent=12.5 ${seconds}\n`,
    });
    expect(res.status).toBe(204);
    const points = await pointsOf('mem', 3);
    expect(points).toContainEqual({ time: iso(at(8)), dimensions: { host: 'precise' }, values: { used_percent: 12.5 } });
  });
});
