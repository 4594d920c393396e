import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

// The guard resolves names with node:dns/promises; here a name answers what each test says, so a
// hostname can "resolve" to an embedded-IPv4 form or change its answer between two lookups (rebinding).
// Connections themselves are real: a loopback server counts what reaches it.
const answers: { address: string; family: number }[][] = [];
const lookups: string[] = [];
vi.mock('node:dns/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:dns/promises')>();
  const lookup = async (host: string) => {
    lookups.push(host);
    const next = answers.length > 1 ? answers.shift()! : answers[0];
    if (!next) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return next;
  };
  return { ...real, lookup, default: { ...real, lookup } };
});

const { postChecked, resolveChecked } = await import('../../functions/commons/guarded-target');
const { guardedRequest } = await import('../../functions/pull/http-source');

const strict = { allowPrivate: false, allowLoopback: false };
const loopbackOnly = { allowPrivate: false, allowLoopback: true };

let server: Server;
let port: number;
let hits: string[];
beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/redirect') res.writeHead(302, { location: 'http://internal.example/metadata' }).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  answers.length = 0;
  lookups.length = 0;
  hits = [];
});

describe('a hostname is refused when any address it resolves to is not public, in any form', () => {
  it.each([
    ['::169.254.169.254', 'IPv4-compatible'],
    ['::ffff:169.254.169.254', 'IPv4-mapped'],
    ['::ffff:0:a9fe:a9fe', 'IPv4-translated'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 well-known prefix'],
    ['2002:a9fe:a9fe::1', '6to4'],
    ['2001:0:5db8:d822:8000:f227:5601:5601', 'Teredo'],
    ['64:ff9b:1::a9fe:a9fe', undefined],
  ])('a name resolving to %s (%s) is refused before any connection', async (address, form) => {
    answers.push([{ address, family: 6 }]);
    const refused = await resolveChecked('metadata.example', strict).catch((e: unknown) => e as Error);
    expect(refused).toMatchObject({ code: 'target.forbidden' });
    if (form) expect((refused as Error).message).toContain(`the ${form} form of 169.254.169.254`);
  });

  it('a name with one public and one forbidden address is refused (every address is checked, not only the first)', async () => {
    answers.push([
      { address: '93.184.216.34', family: 4 },
      { address: '::a9fe:a9fe', family: 6 },
    ]);
    await expect(resolveChecked('mixed.example', strict)).rejects.toMatchObject({ code: 'target.forbidden' });
  });
});

describe('the connection goes to the address that was checked (no DNS rebinding gap)', () => {
  it('a pull connects to the checked address even when the name would answer differently afterwards', async () => {
    // first answer: loopback (allowed here); every later answer: the metadata service
    answers.push([{ address: '127.0.0.1', family: 4 }], [{ address: '169.254.169.254', family: 4 }]);
    const res = await guardedRequest({ url: `http://rebind.example:${port}/data`, method: 'GET', headers: {}, timeoutMs: 5_000, maxBytes: 1024, policy: loopbackOnly });
    expect(res.status).toBe(200);
    expect(hits).toEqual(['/data']);
    // one resolution, and node did not resolve the name again itself (it could not: the name does not exist)
    expect(lookups).toEqual(['rebind.example']);
  });

  it('a webhook POST does the same', async () => {
    answers.push([{ address: '127.0.0.1', family: 4 }], [{ address: '10.0.0.1', family: 4 }]);
    const errors = { forbidden: (h: string) => new Error(`refused ${h}`), unresolvable: (m: string) => new Error(m) };
    const { status } = await postChecked({ url: new URL(`http://hook.example:${port}/hook`), headers: {}, body: '{}', policy: loopbackOnly, errors, signal: AbortSignal.timeout(5_000), maxResponseBytes: 1024 });
    expect(status).toBe(200);
    expect(hits).toEqual(['/hook']);
    expect(lookups).toEqual(['hook.example']);
  });

  it('a redirect to a name is resolved and checked again: one that now resolves to an embedded private address is refused', async () => {
    answers.push([{ address: '127.0.0.1', family: 4 }], [{ address: '::ffff:0:a00:1', family: 6 }]);
    await expect(
      guardedRequest({ url: `http://vendor.example:${port}/redirect`, method: 'GET', headers: {}, timeoutMs: 5_000, maxBytes: 1024, policy: loopbackOnly }),
    ).rejects.toMatchObject({ code: 'target.forbidden', message: expect.stringContaining('IPv4-translated form of 10.0.0.1') });
    expect(hits).toEqual(['/redirect']);
    expect(lookups).toEqual(['vendor.example', 'internal.example']);
  });

  it('an IPv6 literal in embedded form is refused without a lookup, and the loopback server is never reached', async () => {
    for (const host of ['[::127.0.0.1]', '[::ffff:127.0.0.1]', '[::ffff:0:7f00:1]', '[64:ff9b::7f00:1]']) {
      await expect(guardedRequest({ url: `http://${host}:${port}/x`, method: 'GET', headers: {}, timeoutMs: 5_000, maxBytes: 1024, policy: strict })).rejects.toMatchObject({ code: 'target.forbidden' });
    }
    expect(hits).toEqual([]);
    expect(lookups).toEqual([]);
  });
});
