import { createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { StoreUnavailableError } from '../domain/errors';
import type { ReceiptKey } from '../domain/receipts';
import type { ReceiptSigner } from '../ports';

/**
 * `ReceiptSigner` on an asymmetric KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`): `Sign` with `ECDSA_SHA_256` over
 * the chain hash as a raw message (KMS hashes it), `GetPublicKey` once per function instance. The private key
 * never leaves KMS; the writer's role may only sign, the query function's only read the public key.
 *
 * @example
 * const signer = new KmsReceiptSigner({ client: new KMSClient({}), keyId: process.env.RECEIPT_KEY_ARN! });
 */
export class KmsReceiptSigner implements ReceiptSigner {
  private key: Promise<ReceiptKey> | undefined;

  constructor(private readonly options: { client: KMSClient; keyId: string }) {
    if (!options.keyId) throw new TypeError('KmsReceiptSigner needs the receipt key’s id or ARN.');
  }

  async sign(chain: string): Promise<{ keyId: string; signature: string }> {
    try {
      const out = await this.options.client.send(new SignCommand({ KeyId: this.options.keyId, Message: Buffer.from(chain, 'ascii'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
      return { keyId: out.KeyId ?? this.options.keyId, signature: Buffer.from(out.Signature!).toString('base64') };
    } catch (err) {
      // throttled, the key disabled or pending deletion, KMS unavailable: the batch waits in the queue
      throw new StoreUnavailableError(`KMS Sign failed: ${(err as Error).name}.`, { cause: err });
    }
  }

  publicKey(): Promise<ReceiptKey> {
    this.key ??= this.fetchKey().catch((err: unknown) => {
      this.key = undefined;
      throw err;
    });
    return this.key;
  }

  private async fetchKey(): Promise<ReceiptKey> {
    let out;
    try {
      out = await this.options.client.send(new GetPublicKeyCommand({ KeyId: this.options.keyId }));
    } catch (err) {
      throw new StoreUnavailableError(`KMS GetPublicKey failed: ${(err as Error).name}.`, { cause: err });
    }
    const publicKeyPem = createPublicKey({ key: Buffer.from(out.PublicKey!), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString();
    return { keyId: out.KeyId ?? this.options.keyId, algorithm: 'ECDSA_SHA_256', publicKeyPem };
  }
}
