import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DisabledException, GetPublicKeyCommand, type GetPublicKeyCommandOutput, KMSClient, KMSInternalException, NotFoundException, SignCommand, type SignCommandInput } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { KmsReceiptSigner } from '../../shared/aws/kms-receipt-signer';
import { StoreUnavailableError } from '../../shared/domain/errors';
import type { Receipt } from '../../shared/domain/receipts';
import { FileReceiptSigner } from '../../shared/local/receipt-key-file';
import { batchContent, nextReceipt } from '../../functions/commons/receipt-hash';
import { signatureProblems } from '../../functions/commons/receipt-signature';

// The two receipt signers: KMS (mocked, with Sign and GetPublicKey shaped as the AWS KMS API Reference gives
// them, signing with a real P-256 key so the signatures check) and the local key file; both are checked by
// the same `signatureProblems` the verify route runs.

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const meta = { $metadata: {} };
const names = { dimensions: ['deviceId'], fields: ['v'] };
const receipts = (n: number): Receipt[] => {
  const out: Receipt[] = [];
  for (let i = 0; i < n; i++) out.push(nextReceipt(out[i - 1], batchContent([{ time: i, dimensions: { deviceId: 'd' }, values: { v: i } }], [], names), 1_000 + i));
  return out;
};
const signAll = async (signer: { sign(chain: string): Promise<{ keyId: string; signature: string }> }, rs: Receipt[]) => Promise.all(rs.map(async (r) => ({ ...r, ...(await signer.sign(r.chain)) })));

describe('KmsReceiptSigner (KMS Sign and GetPublicKey, mocked)', () => {
  const client = new KMSClient({ region: 'eu-west-1' });
  const kms = mockClient(client);
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // GetPublicKey: the DER SubjectPublicKeyInfo, with the key's spec, usage and algorithms
  const publicKeyAnswer = { KeyId: KEY_ARN, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'], PublicKey: pair.publicKey.export({ type: 'spki', format: 'der' }) } satisfies Omit<GetPublicKeyCommandOutput, '$metadata'>;
  beforeEach(() => {
    kms.reset();
    // Sign: RAW messages are hashed with SHA-256 by KMS; the answer's Signature is DER (RFC 3279) for ECDSA
    kms.on(SignCommand).callsFake((input: SignCommandInput) => ({ KeyId: KEY_ARN, SigningAlgorithm: input.SigningAlgorithm, Signature: sign('sha256', Buffer.from(input.Message!), { key: pair.privateKey, dsaEncoding: 'der' }) }));
    kms.on(GetPublicKeyCommand).resolves(publicKeyAnswer);
  });

  it('signs the chain hash as a raw ECDSA_SHA_256 message, and the public key checks it', async () => {
    const signer = new KmsReceiptSigner({ client, keyId: KEY_ARN });
    const signed = await signAll(signer, receipts(3));
    const [call] = kms.commandCalls(SignCommand);
    expect(call!.args[0].input).toEqual({ KeyId: KEY_ARN, Message: Buffer.from(signed[0]!.chain, 'ascii'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(signed.every((r) => r.keyId === KEY_ARN)).toBe(true);
    const key = await signer.publicKey();
    expect(key).toMatchObject({ keyId: KEY_ARN, algorithm: 'ECDSA_SHA_256' });
    expect(key.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(signatureProblems(signed, key)).toEqual([]);
    // what a user runs with the answer alone: node's (or openssl's) ECDSA check of the chain hash
    expect(verify('sha256', Buffer.from(signed[1]!.chain), { key: createPublicKey(key.publicKeyPem), dsaEncoding: 'der' }, Buffer.from(signed[1]!.signature!, 'base64'))).toBe(true);
    await signer.publicKey();
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
  });

  it('turns a refused or failed Sign into a StoreUnavailableError naming it (the batch waits in the queue)', async () => {
    const signer = new KmsReceiptSigner({ client, keyId: KEY_ARN });
    kms.on(SignCommand).rejects(new DisabledException({ message: `${KEY_ARN} is disabled.`, ...meta }));
    await expect(signer.sign('ab'.repeat(32))).rejects.toThrow(new StoreUnavailableError('KMS Sign failed: DisabledException.'));
    kms.on(SignCommand).rejects(new KMSInternalException({ message: 'internal', ...meta }));
    await expect(signer.sign('ab'.repeat(32))).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('asks for the public key again after a failure instead of keeping it', async () => {
    const signer = new KmsReceiptSigner({ client, keyId: KEY_ARN });
    kms.on(GetPublicKeyCommand).rejectsOnce(new NotFoundException({ message: 'Key not found', ...meta })).resolves(publicKeyAnswer);
    await expect(signer.publicKey()).rejects.toThrow('KMS GetPublicKey failed: NotFoundException.');
    await expect(signer.publicKey()).resolves.toMatchObject({ keyId: KEY_ARN });
  });
});

describe('FileReceiptSigner (a key file of the data dir)', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const fresh = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-receipt-key-'));
    dirs.push(dir);
    return join(dir, 'receipt-signing-key.pem');
  };

  it('makes a P-256 key readable by its owner only on the first open, and signs with the same one after', async () => {
    const path = await fresh();
    const first = await FileReceiptSigner.open(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(createPrivateKey(await readFile(path, 'utf8')).asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    const signed = await signAll(first, receipts(4));
    const again = await FileReceiptSigner.open(path);
    expect(await again.publicKey()).toEqual(await first.publicKey());
    expect((await again.publicKey()).keyId).toMatch(/^local:[0-9a-f]{16}$/);
    expect(signatureProblems(signed, await again.publicKey())).toEqual([]);
  });

  it('names each receipt whose signature is missing, forged, moved to another receipt or made by another key', async () => {
    const signer = await FileReceiptSigner.open(await fresh());
    const other = await FileReceiptSigner.open(await fresh());
    const [a, b, c, d, e] = await signAll(signer, receipts(5));
    const { signature: _gone, keyId: _k, ...unsigned } = b!;
    const forged = { ...c!, signature: Buffer.from('not a signature').toString('base64') };
    const moved = { ...d!, signature: a!.signature! };
    const foreign = { ...e!, ...(await other.sign(e!.chain)) };
    const key = await signer.publicKey();
    expect(signatureProblems([a!, unsigned, forged, moved, foreign], key)).toEqual([
      { kind: 'signature', seq: 2, reason: 'receipt 2 is not signed' },
      { kind: 'signature', seq: 3, reason: "receipt 3's signature is not the receipt key's signature of its chain hash" },
      { kind: 'signature', seq: 4, reason: "receipt 4's signature is not the receipt key's signature of its chain hash" },
      { kind: 'signature', seq: 5, reason: `receipt 5 is signed by ${(await other.publicKey()).keyId}, not by the receipt key ${key.keyId}` },
    ]);
  });
});
