import { describe, expect, it } from 'vitest';
import { REDACTED, redactFields } from '../../functions/commons/log-redaction';

describe('redactFields', () => {
  it('replaces fields whose names hold secrets or client content', () => {
    const out = redactFields({ streamId: 's1', token: 'x', Authorization: 'Bearer y', adminSecret: 'z', password: 'p', body: '{"a":1}', headers: { a: 1 }, apiKey: 'k' });
    expect(out).toEqual({ streamId: 's1', token: REDACTED, Authorization: REDACTED, adminSecret: REDACTED, password: REDACTED, body: REDACTED, headers: REDACTED, apiKey: REDACTED });
  });

  it('masks a Tributary token or signing secret inside any string, nested too', () => {
    const out = redactFields({ reason: 'token trb_AbCdEf0123456789 refused', nested: { list: ['whsec_c2VjcmV0c2VjcmV0'] } });
    expect(JSON.stringify(out)).not.toMatch(/AbCdEf0123456789|c2VjcmV0c2VjcmV0/);
    expect(out.reason).toBe(`token trb_${REDACTED} refused`);
  });

  it('masks live tickets and the WebSocket subprotocol that carries a token', () => {
    const out = redactFields({ ticket: 'tkt_x', 'sec-websocket-protocol': 'tributary.v1, bearer.trb_x', url: '/v1/streams/s/live?ticket=tkt_AbCdEf0123456789' });
    expect(out).toEqual({ ticket: REDACTED, 'sec-websocket-protocol': REDACTED, url: `/v1/streams/s/live?ticket=tkt_${REDACTED}` });
  });

  it('keeps only name and message of an error and cuts deep structures', () => {
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 20; i++) at = (at.next = {}) as Record<string, unknown>;
    const out = redactFields({ error: new Error('failed for trb_secretsecret'), deep });
    expect(out.error).toEqual({ name: 'Error', message: `failed for trb_${REDACTED}` });
    expect(JSON.stringify(out.deep)).toContain(REDACTED);
  });

  it('leaves harmless fields as they are', () => {
    const fields = { streamId: 'a', count: 3, ok: true, none: null, list: [1, 'b'] };
    expect(redactFields(fields)).toEqual(fields);
  });
});
