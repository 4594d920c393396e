import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newSigningSecret, pickWebhookHeaders, signWebhook, webhookId } from '../../functions/alert-actions/signing';

// The test vector of the Standard Webhooks reference libraries: secret, id, timestamp and payload give this signature.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('signWebhook', () => {
  it('gives the Standard Webhooks reference signature for the reference vector', () => {
    expect(signWebhook({ id: VECTOR.id, timestamp: VECTOR.timestamp, body: VECTOR.body, secrets: [VECTOR.secret] })).toEqual({
      'webhook-id': VECTOR.id,
      'webhook-timestamp': String(VECTOR.timestamp),
      'webhook-signature': VECTOR.signature,
    });
  });

  it('signs with every secret given, space-separated, and a receiver holding any one of them verifies', () => {
    const [current, previous, stranger] = [newSigningSecret(), newSigningSecret(), newSigningSecret()];
    const body = '{"type":"tributary.alert"}';
    const headers = signWebhook({ id: webhookId('s.1', 0), timestamp: nowSeconds(), body, secrets: [current, previous] });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(current).verify(body, { ...headers })).toEqual({ type: 'tributary.alert' });
    expect(new Webhook(previous).verify(body, { ...headers })).toEqual({ type: 'tributary.alert' });
    expect(() => new Webhook(stranger).verify(body, { ...headers })).toThrow(/No matching signature/);
    expect(() => new Webhook(current).verify(`${body} `, { ...headers })).toThrow(/No matching signature/);
  });

  it('still signs with a secret issued before Standard Webhooks (base64url), with the key bytes its standard form names', () => {
    const bytes = Buffer.alloc(32, 0xfb);
    const legacy = `whsec_${bytes.toString('base64url')}`;
    expect(legacy).toMatch(/[-_]/);
    const standard = `whsec_${bytes.toString('base64')}`;
    const headers = signWebhook({ id: 'msg_x', timestamp: nowSeconds(), body: '{}', secrets: [legacy] });
    expect(new Webhook(standard).verify('{}', { ...headers })).toEqual({});
  });

  it('refuses to sign with no secret', () => {
    expect(() => signWebhook({ id: 'msg_x', timestamp: 1, body: '{}', secrets: [] })).toThrow(TypeError);
  });
});

describe('pickWebhookHeaders', () => {
  it('takes the three headers from Node request headers in any case, the first of a repeated one, and nothing else', () => {
    expect(pickWebhookHeaders({ 'Webhook-Id': 'msg_1', 'webhook-timestamp': ['1', '2'], 'webhook-signature': 'v1,x', host: 'h' })).toEqual({
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1',
      'webhook-signature': 'v1,x',
    });
    expect(pickWebhookHeaders({})).toEqual({ 'webhook-id': '', 'webhook-timestamp': '', 'webhook-signature': '' });
  });
});

describe('webhookId', () => {
  it('is the same for one alert action every time, differs between actions and alerts, and has no dot', () => {
    const id = webhookId('freezers.0000000010000000001', 0);
    expect(webhookId('freezers.0000000010000000001', 0)).toBe(id);
    expect(webhookId('freezers.0000000010000000001', 1)).not.toBe(id);
    expect(webhookId('freezers.0000000010000000002', 0)).not.toBe(id);
    expect(id).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
  });
});

describe('newSigningSecret', () => {
  it('is whsec_ and 32 random bytes in standard base64, which the standardwebhooks library reads', () => {
    const secret = newSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(() => new Webhook(secret)).not.toThrow();
    expect(newSigningSecret()).not.toBe(secret);
  });
});
