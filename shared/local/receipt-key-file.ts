import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { ReceiptKey } from '../domain/receipts';
import type { ReceiptSigner } from '../ports';

/**
 * `ReceiptSigner` on one machine: an ECDSA P-256 key in a PKCS #8 PEM file of the data dir (mode 0600),
 * made on the first start, signing as KMS does (DER signatures over SHA-256 of the chain hash), so the same
 * check verifies both. Whoever can read the data dir can sign: keep a copy of the chain head elsewhere.
 *
 * @example
 * const signer = await FileReceiptSigner.open(join(dataDir, 'receipt-signing-key.pem'));
 */
export class FileReceiptSigner implements ReceiptSigner {
  private constructor(
    private readonly privateKey: KeyObject,
    private readonly key: ReceiptKey,
  ) {}

  static async open(path: string): Promise<FileReceiptSigner> {
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      // written whole, then renamed: a crash leaves no half key behind
      await writeFile(`${path}.tmp`, pem, { mode: 0o600 });
      await rename(`${path}.tmp`, path);
    }
    const privateKey = createPrivateKey(pem);
    const publicKey = createPublicKey(privateKey);
    const fingerprint = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
    return new FileReceiptSigner(privateKey, { keyId: `local:${fingerprint}`, algorithm: 'ECDSA_SHA_256', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
  }

  async sign(chain: string): Promise<{ keyId: string; signature: string }> {
    return { keyId: this.key.keyId, signature: sign('sha256', Buffer.from(chain, 'ascii'), { key: this.privateKey, dsaEncoding: 'der' }).toString('base64') };
  }

  async publicKey(): Promise<ReceiptKey> {
    return this.key;
  }
}
