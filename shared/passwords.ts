/**
 * Device passwords (an `iot_sensor`'s `credentials.password`): chosen by people, so stored only as a salted
 * scrypt hash, and compared in constant time. Kept out of `shared/domain` because it needs `node:crypto`.
 *
 * @example
 * const stored = await hashPassword('sensor_pass'); // 'scrypt$16384$8$1$<salt>$<hash>'
 * await verifyPassword('sensor_pass', stored); // true
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 16_384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;

function scrypt(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCallback(password, salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/**
 * `scrypt$N$r$p$salt$hash` (salt and hash in base64url) of the password, with a fresh 16-byte salt.
 *
 * @example
 * await hashPassword('sensor_pass'); // 'scrypt$16384$8$1$…$…'
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, { N, r: R, p: P });
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/**
 * Whether `password` hashes to `stored`; `false` for a stored value this module did not write.
 *
 * @example
 * await verifyPassword('wrong', stored); // false
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64url');
  const got = await scrypt(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return got.length === want.length && timingSafeEqual(got, want);
}
