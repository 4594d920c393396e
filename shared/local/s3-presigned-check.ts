import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import { getCanonicalHeaders, getSigningKey, SignatureV4Base } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, HttpRequest, SourceData } from '@smithy/types';

/** What S3 answers a request it refuses before touching a bucket: its error code, HTTP status and message. */
export interface S3Refusal {
  code: 'AccessDenied' | 'SignatureDoesNotMatch' | 'InvalidAccessKeyId' | 'RequestTimeTooSkewed' | 'AuthorizationQueryParametersError';
  status: 400 | 403;
  message: string;
}

/** A request as it reached the server: the target exactly as sent (path still percent-encoded) and its headers. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** S3's limit on a presigned URL's lifetime, and on a header-signed request's clock skew. */
const MAX_EXPIRES_SECONDS = 604_800;
const MAX_SKEW_MS = 15 * 60_000;

/**
 * Checks a request to the local S3 (s3rver) as S3 checks it, which s3rver itself does not for Signature V4:
 * a presigned URL (`X-Amz-Algorithm` in the query) or an `Authorization: AWS4-HMAC-SHA256 …` header must be
 * signed by the known key over the method, path, query and every header it names (a presigned PUT's
 * `content-length` and `x-amz-checksum-sha256` among them), and a presigned URL must not have expired.
 * Anonymous requests are refused. The canonical request and the signing key are the SDK's own
 * (`@smithy/signature-v4`), so this checks exactly what the SDK signs. Resolves to `undefined` when the
 * request may pass, else to the refusal (403, as S3 answers).
 *
 * @example
 * const check = makeS3SignatureCheck({ credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
 * const refusal = await check({ method: req.method!, url: req.url!, headers: req.headers });
 */
export function makeS3SignatureCheck(options: { credentials: AwsCredentialIdentity; now?: () => number }) {
  const now = options.now ?? Date.now;
  const signer = new CanonicalSigner(options.credentials);
  return async function check(req: ReceivedRequest): Promise<S3Refusal | undefined> {
    const at = req.url.indexOf('?');
    const path = at < 0 ? req.url : req.url.slice(0, at);
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of new URLSearchParams(at < 0 ? '' : req.url.slice(at + 1))) {
      const known = query[name];
      query[name] = known === undefined ? value : [...(Array.isArray(known) ? known : [known]), value];
    }
    const headers = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(',') : v;
    };
    const parsed = typeof query['X-Amz-Algorithm'] === 'string' ? presigned(query, now()) : headers('authorization') !== undefined ? headerSigned(headers, now()) : denied('Anonymous requests are refused: sign the request or use a presigned URL.');
    if ('code' in parsed) return parsed;
    const [accessKeyId, shortDate, region, service, terminator] = parsed.credential.split('/');
    if (accessKeyId !== options.credentials.accessKeyId) return { code: 'InvalidAccessKeyId', status: 403, message: 'The AWS Access Key Id you provided does not exist in our records.' };
    if (!shortDate || !region || !service || terminator !== 'aws4_request' || !parsed.longDate.startsWith(shortDate)) return mismatch();
    if (!parsed.signedHeaders.includes('host')) return mismatch();
    const bag: Record<string, string> = {};
    for (const name of parsed.signedHeaders) {
      const value = headers(name);
      // a header the signature names but the request lacks (a PUT without its signed content-length) cannot match
      if (value === undefined) return mismatch();
      bag[name] = value;
    }
    const request: HttpRequest = { method: req.method, protocol: 'http:', hostname: '', path, query: withoutSignature(query), headers: bag };
    const expected = await signer.signature(request, parsed, { shortDate, region, service });
    const given = Buffer.from(parsed.signature, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, Buffer.from(expected, 'utf8')) ? undefined : mismatch();
  };
}

interface SignedParts {
  credential: string;
  longDate: string;
  signedHeaders: string[];
  signature: string;
  payloadHash: string;
}

function presigned(query: Record<string, string | string[]>, now: number): SignedParts | S3Refusal {
  const one = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
  const credential = one('X-Amz-Credential');
  const longDate = one('X-Amz-Date');
  const expires = Number(one('X-Amz-Expires'));
  const signedHeaders = one('X-Amz-SignedHeaders');
  const signature = one('X-Amz-Signature');
  if (one('X-Amz-Algorithm') !== ALGORITHM || !credential || !longDate || !signedHeaders || !signature || !Number.isInteger(expires)) {
    return { code: 'AuthorizationQueryParametersError', status: 400, message: 'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.' };
  }
  const signedAt = amzDate(longDate);
  if (signedAt === undefined || expires < 1 || expires > MAX_EXPIRES_SECONDS) return { code: 'AuthorizationQueryParametersError', status: 400, message: 'X-Amz-Date or X-Amz-Expires is not valid.' };
  if (now > signedAt + expires * 1000) return denied('Request has expired');
  if (now < signedAt - MAX_SKEW_MS) return denied('Request is not yet valid');
  return { credential, longDate, signedHeaders: signedHeaders.split(';'), signature, payloadHash: one('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD' };
}

function headerSigned(header: (name: string) => string | undefined, now: number): SignedParts | S3Refusal {
  const m = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})\s*$/.exec(header('authorization') ?? '');
  const longDate = header('x-amz-date');
  const payloadHash = header('x-amz-content-sha256');
  if (!m || !longDate || !payloadHash) return denied('Only Signature Version 4 (AWS4-HMAC-SHA256) with x-amz-date and x-amz-content-sha256 is accepted.');
  const signedAt = amzDate(longDate);
  if (signedAt === undefined || Math.abs(now - signedAt) > MAX_SKEW_MS) return { code: 'RequestTimeTooSkewed', status: 403, message: 'The difference between the request time and the current time is too large.' };
  return { credential: m[1]!, longDate, signedHeaders: m[2]!.split(';'), signature: m[3]!, payloadHash };
}

/** `20261207T152213Z` as epoch ms. */
function amzDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
}

function withoutSignature(query: Record<string, string | string[]>): Record<string, string | string[]> {
  const { 'X-Amz-Signature': _signature, ...rest } = query;
  return rest;
}

const denied = (message: string): S3Refusal => ({ code: 'AccessDenied', status: 403, message });
const mismatch = (): S3Refusal => ({ code: 'SignatureDoesNotMatch', status: 403, message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' });

/** The SDK's canonical request and string to sign (S3's: the path signed as sent, not escaped again). */
class CanonicalSigner extends SignatureV4Base {
  constructor(private readonly credentials: AwsCredentialIdentity) {
    super({ service: 's3', region: 'us-east-1', credentials, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  }

  async signature(request: HttpRequest, parts: SignedParts, scope: { shortDate: string; region: string; service: string }): Promise<string> {
    const canonicalHeaders = getCanonicalHeaders(request, undefined, new Set(parts.signedHeaders));
    const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, parts.payloadHash);
    const credentialScope = `${scope.shortDate}/${scope.region}/${scope.service}/aws4_request`;
    const stringToSign = await this.createStringToSign(parts.longDate, credentialScope, canonicalRequest, ALGORITHM);
    const key = await getSigningKey(NodeSha256, this.credentials, scope.shortDate, scope.region, scope.service);
    return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  }
}

/** SHA-256 and HMAC-SHA256 on node:crypto, in the shape the SDK's signer takes. */
class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const key = typeof this.secret === 'string' ? Buffer.from(this.secret, 'utf8') : ArrayBuffer.isView(this.secret) ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength) : Buffer.from(this.secret);
    return createHmac('sha256', key);
  }
}
