import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashToken, newToken, sameHash, TOKEN_PREFIX } from '../../shared/tokens';

describe('newToken', () => {
  it('is trb_ followed by 32 random bytes in base64url', () => {
    const token = newToken();
    expect(token.startsWith(TOKEN_PREFIX)).toBe(true);
    const body = token.slice(TOKEN_PREFIX.length);
    expect(body).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(body, 'base64url')).toHaveLength(32);
  });

  it('never repeats across a thousand tokens', () => {
    const tokens = new Set(Array.from({ length: 1000 }, newToken));
    expect(tokens.size).toBe(1000);
  });
});

describe('hashToken', () => {
  it('is the SHA-256 of the token in lowercase hex', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes the UTF-8 bytes, so a non-ASCII token hashes as its encoding', () => {
    expect(hashToken('trb_é')).toBe(createHash('sha256').update(Buffer.from('trb_é', 'utf8')).digest('hex'));
  });

  it('gives different hashes for tokens that differ in one character', () => {
    expect(hashToken('trb_a')).not.toBe(hashToken('trb_b'));
  });
});

describe('sameHash', () => {
  const h = hashToken('trb_x');

  it('accepts the same hash', () => {
    expect(sameHash(h, hashToken('trb_x'))).toBe(true);
  });

  it('rejects a hash that differs in its last character', () => {
    const other = h.slice(0, -1) + (h.endsWith('0') ? '1' : '0');
    expect(sameHash(h, other)).toBe(false);
  });

  it('rejects hashes of different lengths instead of throwing', () => {
    expect(sameHash(h, h.slice(0, 10))).toBe(false);
    expect(sameHash('', h)).toBe(false);
  });
});
