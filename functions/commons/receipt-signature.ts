import { createPublicKey, verify } from 'node:crypto';
import type { Receipt, ReceiptKey, VerifyProblem } from '../../shared/domain/receipts';

/**
 * Each receipt whose signature is missing, made by another key, or not a signature of its chain hash by
 * `key` (ECDSA P-256, SHA-256, DER), as verification problems.
 *
 * @example
 * problems.push(...signatureProblems(receipts, await signer.publicKey()));
 */
export function signatureProblems(receipts: readonly Receipt[], key: ReceiptKey): VerifyProblem[] {
  const publicKey = createPublicKey(key.publicKeyPem);
  const problems: VerifyProblem[] = [];
  for (const r of receipts) {
    const reason = !r.signature
      ? `receipt ${r.seq} is not signed`
      : r.keyId !== key.keyId
        ? `receipt ${r.seq} is signed by ${r.keyId}, not by the receipt key ${key.keyId}`
        : !verify('sha256', Buffer.from(r.chain, 'ascii'), { key: publicKey, dsaEncoding: 'der' }, Buffer.from(r.signature, 'base64'))
          ? `receipt ${r.seq}'s signature is not the receipt key's signature of its chain hash`
          : undefined;
    if (reason) problems.push({ kind: 'signature', seq: r.seq, reason });
  }
  return problems;
}
