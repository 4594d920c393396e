import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocal, type Local } from './harness';

/** `{"deviceId":"d1","site":"caf` then Latin-1 `é` (0xe9, not UTF-8), then `"}`: the bad byte is at offset 28. */
const LATIN1_BODY = Buffer.concat([Buffer.from('{"deviceId":"d1","site":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
const LATIN1_OFFSET = 28;

/** Publishes bytes at QoS 1: `acked` on PUBACK, `closed` if the broker drops the connection first. */
function publishBytes(client: MqttClient, topic: string, payload: Buffer): Promise<'acked' | 'closed'> {
  return new Promise((resolve) => {
    const onClose = () => resolve('closed');
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1 }, (err) => {
      client.off('close', onClose);
      resolve(err ? 'closed' : 'acked');
    });
  });
}

describe('bodies and payloads that are not UTF-8 are refused, never decoded with U+FFFD', () => {
  let local: Local;
  let ingest: string;
  const post = (body: Uint8Array, path = '/v1/streams/sites/data', token = ingest) =>
    fetch(`${local.base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });

  beforeAll(async () => {
    local = await startLocal();
    ({ ingestToken: ingest } = await local.createStream({
      id: 'sites',
      name: 'Sites',
      type: 'iot_sensor',
      schema: { deviceId: { type: 'string' }, site: { type: 'string', required: true } },
      dimensions: ['deviceId'],
    }));
  });
  afterAll(() => local?.close());

  it('answers an HTTP body with a Latin-1 byte 400 problem+json naming its byte offset, and stores nothing', async () => {
    expect(LATIN1_BODY[LATIN1_OFFSET]).toBe(0xe9);
    const res = await post(LATIN1_BODY);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as { detail: string; errors: { path: unknown[]; message: string }[] };
    expect(problem.detail).toContain(`byte offset ${LATIN1_OFFSET} (e9 22 7d)`);
    expect(problem.errors).toEqual([{ path: [], message: `invalid UTF-8 at byte offset ${LATIN1_OFFSET}` }]);

    // the same text in UTF-8 is accepted and stored exactly; the refused one never shows up beside it
    const good = await post(Buffer.from('{"deviceId":"d1","site":"café"}'));
    expect(good.status).toBe(202);
    const points = await local.waitForPoints('sites', 'granularity=raw', (p) => p.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await local.api('/v1/streams/sites/data?granularity=raw');
    expect(after.body.points.map((p: any) => p.values.site)).toEqual(['café']);
    expect(points[0].values.site).toBe('café');
  });

  it.each([
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['a UTF-16 surrogate encoded as UTF-8', [0xed, 0xa0, 0x80]],
    ['a sequence cut short', [0xe2, 0x82]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('refuses %s inside a string value at its offset', async (_name, bad) => {
    const head = Buffer.from('[{"site":"');
    const body = Buffer.concat([head, Buffer.from(bad), Buffer.from('"}]')]);
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toContain(`byte offset ${head.length} (`);
  });

  it('refuses such a body on the admin routes too (a stream definition), naming the offset', async () => {
    const body = Buffer.concat([Buffer.from('{"id":"x1","name":"'), Buffer.from([0xff]), Buffer.from('","type":"iot_sensor","schema":{"a":{"type":"number"}}}')]);
    const res = await post(body, '/v1/streams', 'trb_e2e-admin-token-0123456789abcdef');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toContain('byte offset 19');
    expect((await local.api('/v1/streams/x1')).status).toBe(404);
  });

  it('refuses an MQTT payload that is not UTF-8 as other bad payloads: no PUBACK, the connection closed, the offset on the stream status', async () => {
    const before = (await local.api('/v1/streams/sites/status')).body.invalidCount;
    const device = await local.device('d7', ingest);
    expect(await publishBytes(device, 'tributary/sites/data', LATIN1_BODY)).toBe('closed');
    const until = Date.now() + 10_000;
    let status = (await local.api('/v1/streams/sites/status')).body;
    while (status.invalidCount === before && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await local.api('/v1/streams/sites/status')).body;
    }
    expect(status.invalidCount - before).toBe(1);
    expect(status.recentRejections[0].reason).toMatch(new RegExp(`^mqtt publish refused \\(device d7\\): The payload is not valid UTF-8: .*byte offset ${LATIN1_OFFSET}`));

    // a UTF-8 payload from the same device is acknowledged and stored as sent
    const again = await local.device('d7', ingest);
    expect(await publishBytes(again, 'tributary/sites/data', Buffer.from('{"site":"Zürich"}'))).toBe('acked');
    const points = await local.waitForPoints('sites', 'granularity=raw&dim.deviceId=d7', (p) => p.length >= 1);
    expect(points.map((p) => p.values.site)).toEqual(['Zürich']);
  });
});
