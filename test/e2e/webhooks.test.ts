import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentDefinition } from '../fixtures/data-streams';
import { startedForSuite } from '../fixtures/lifecycle';
import { startLocal } from './harness';

// A webhook sender posting to the Manufacturing Events stream of the Data Streams document, whose source says
// `authentication: "hmac-sha256", secret: "${WEBHOOK_SECRET}"`: deliveries signed with the standardwebhooks
// library (as a Standard Webhooks sender signs them) and GitHub-style X-Signature, on the local runtime.

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const previous = process.env.TRIBUTARY_SECRET_WEBHOOK_SECRET;
process.env.TRIBUTARY_SECRET_WEBHOOK_SECRET = SECRET;

const check = (batchId: string, minute: number) => ({ eventType: 'quality_check', batchId, testType: 'visual', result: 'pass', timestamp: `2024-01-15T09:${String(minute).padStart(2, '0')}:00Z` });

describe('signed webhooks into an event stream', () => {
  const local = startedForSuite(() => startLocal());
  let id: string;
  let ingestToken: string;
  beforeAll(async () => {
    const created = await local.api('/v1/streams', { body: documentDefinition('manufacturing-events') });
    ({ id, ingestToken } = created.body);
    // the URLs a sender is given, in the create answer and when the stream is read
    const urls = { event: `${local.base}/v1/streams/${id}/webhook`, batch: `${local.base}/v1/streams/${id}/webhook/batch` };
    expect(created.body.webhookUrls).toEqual(urls);
    expect((await local.api(`/v1/streams/${id}`)).body.webhookUrls).toEqual(urls);
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.TRIBUTARY_SECRET_WEBHOOK_SECRET;
    else process.env.TRIBUTARY_SECRET_WEBHOOK_SECRET = previous;
  });

  const post = async (path: string, body: string, headers: Record<string, string>) => {
    const res = await fetch(`${local.base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  /** A delivery as a Standard Webhooks sender makes it. */
  const signed = (payload: string, options: { msgId?: string; at?: Date; secret?: string } = {}) => {
    const msgId = options.msgId ?? `msg_${randomBytes(8).toString('hex')}`;
    const at = options.at ?? new Date();
    return { 'webhook-id': msgId, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(options.secret ?? SECRET).sign(msgId, at, payload) };
  };
  const storedBatches = async () => (await local.api(`/v1/streams/${id}/data?start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z&limit=100`)).body.points.map((p: any) => p.values.batchId).sort();

  it('stores a Standard Webhooks delivery, and refuses its replay, a stale one, a wrong secret and a changed body with 401, storing none', async () => {
    const payload = JSON.stringify(check('B-1', 1));
    const headers = signed(payload);
    expect(await post(`/v1/streams/${id}/webhook`, payload, headers)).toMatchObject({ status: 202, body: { accepted: 1 } });

    const replay = await post(`/v1/streams/${id}/webhook`, payload, headers);
    expect(replay).toMatchObject({ status: 401, body: { detail: expect.stringContaining('replayed delivery is refused') } });
    const stale = JSON.stringify(check('B-2', 2));
    expect((await post(`/v1/streams/${id}/webhook`, stale, signed(stale, { at: new Date(Date.now() - 10 * 60_000) }))).status).toBe(401);
    const wrong = JSON.stringify(check('B-3', 3));
    expect((await post(`/v1/streams/${id}/webhook`, wrong, signed(wrong, { secret: `whsec_${randomBytes(24).toString('base64')}` }))).status).toBe(401);
    const original = JSON.stringify(check('B-4', 4));
    const changed = original.replace('"pass"', '"fail"');
    expect((await post(`/v1/streams/${id}/webhook`, changed, signed(original))).status).toBe(401);
    expect((await post(`/v1/streams/${id}/webhook`, original, {})).status).toBe(401);
    // the same 401 for a stream that does not exist: no way to probe for streams
    const nowhere = await post('/v1/streams/no-such-stream/webhook', original, signed(original));
    expect(nowhere.status).toBe(401);

    await local.waitForPoints(id, 'start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z', (p) => p.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await storedBatches()).toEqual(['B-1']);
  });

  it('takes an array on the batch URL only, GitHub-style X-Signature, and the stream’s ingest token instead of a signature', async () => {
    const batch = JSON.stringify([check('B-5', 5), check('B-6', 6)]);
    expect(await post(`/v1/streams/${id}/webhook/batch`, batch, signed(batch))).toMatchObject({ status: 202, body: { accepted: 2 } });
    const single = JSON.stringify([check('B-7', 7)]);
    expect(await post(`/v1/streams/${id}/webhook`, single, signed(single))).toMatchObject({ status: 400, body: { detail: expect.stringContaining('/webhook/batch') } });

    const github = JSON.stringify(check('B-8', 8));
    const hex = createHmac('sha256', SECRET).update(github).digest('hex');
    expect((await post(`/v1/streams/${id}/webhook`, github, { 'x-signature': `sha256=${hex}` })).status).toBe(202);
    expect((await post(`/v1/streams/${id}/webhook`, github.replace('B-8', 'B-9'), { 'x-signature': `sha256=${hex}` })).status).toBe(401);

    const withToken = JSON.stringify(check('B-10', 10));
    expect((await post(`/v1/streams/${id}/webhook`, withToken, { authorization: `Bearer ${ingestToken}` })).status).toBe(202);
    const read = (await local.api(`/v1/streams/${id}/tokens`, { body: { scope: 'read' } })).body.token;
    expect((await post(`/v1/streams/${id}/webhook`, JSON.stringify(check('B-11', 11)), { authorization: `Bearer ${read}` })).status).toBe(401);

    await local.waitForPoints(id, 'start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z&limit=100', (p) => p.length >= 5);
    expect(await storedBatches()).toEqual(['B-1', 'B-10', 'B-5', 'B-6', 'B-8']);
  });

  it('takes the old secret as well as the new one while the secret’s value lists both, and only the new one after', async () => {
    const next = `whsec_${randomBytes(24).toString('base64')}`;
    process.env.TRIBUTARY_SECRET_WEBHOOK_SECRET = `${next} ${SECRET}`;
    try {
      const byOld = JSON.stringify(check('B-12', 12));
      const byNew = JSON.stringify(check('B-13', 13));
      expect((await post(`/v1/streams/${id}/webhook`, byOld, signed(byOld))).status).toBe(202);
      expect((await post(`/v1/streams/${id}/webhook`, byNew, signed(byNew, { secret: next }))).status).toBe(202);
      process.env.TRIBUTARY_SECRET_WEBHOOK_SECRET = next;
      const late = JSON.stringify(check('B-14', 14));
      expect((await post(`/v1/streams/${id}/webhook`, late, signed(late))).status).toBe(401);
      const hex = createHmac('sha256', next).update(late).digest('hex');
      expect((await post(`/v1/streams/${id}/webhook`, late, { 'x-signature': `sha256=${hex}` })).status).toBe(202);
    } finally {
      process.env.TRIBUTARY_SECRET_WEBHOOK_SECRET = SECRET;
    }
    await local.waitForPoints(id, 'start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z&limit=100', (p) => p.length >= 8);
    expect(await storedBatches()).toEqual(['B-1', 'B-10', 'B-12', 'B-13', 'B-14', 'B-5', 'B-6', 'B-8']);
  });
});
