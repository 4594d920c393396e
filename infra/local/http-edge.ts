import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpResult } from '../../functions/commons/http';
import { problemResponse } from '../../functions/commons/problem';
import { fileTooLarge } from '../../functions/ingest/file-events';

/**
 * What the local gateway allows a client before a handler runs: how long it may take to send its headers
 * and its body, and how many bodies (and bytes) the whole server reads at once. API Gateway has limits of
 * its own in AWS (30 s, 10 MB, its throttling); these keep one machine from being held or filled.
 */
export interface EdgeLimits {
  /** The whole header block must arrive within this (node's `headersTimeout`). */
  headersTimeoutMs: number;
  /** The whole request, headers and body, must arrive within this (node's `requestTimeout`). */
  requestTimeoutMs: number;
  /** A body that sends nothing for this long is cut with a 408. */
  bodyIdleMs: number;
  /** Bodies read at once across all connections; one more gets a 503 with `Retry-After`. */
  maxBodiesInFlight: number;
  /** Bytes of bodies held at once (declared lengths are reserved up front); past it, a 503. */
  maxBytesInFlight: number;
}

export const EDGE_LIMITS: EdgeLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  bodyIdleMs: 10_000,
  maxBodiesInFlight: 64,
  maxBytesInFlight: 64 * 1024 * 1024,
};

/** Seconds a client is told to wait after a 503 for capacity. */
export const RETRY_AFTER_SECONDS = 1;

/** After a refusal the connection stops reading, lets the client read the answer for this long, then closes. */
const LINGER_MS = 2_000;

/**
 * The bytes of bodies being read, across the server: a request reserves its declared length (or grows
 * its share chunk by chunk when it has none) and releases it when the body is read or abandoned.
 *
 * @example
 * const budget = new BodyBudget(EDGE_LIMITS);
 * const share = budget.take(1024); // undefined when the server is full
 * share?.release();
 */
export class BodyBudget {
  private bodies = 0;
  private bytes = 0;

  constructor(private readonly limits: Pick<EdgeLimits, 'maxBodiesInFlight' | 'maxBytesInFlight'>) {}

  /** A share of `bytes` for one body, or `undefined` if that would pass either cap. */
  take(bytes: number): BodyShare | undefined {
    if (this.bodies >= this.limits.maxBodiesInFlight || this.bytes + bytes > this.limits.maxBytesInFlight) return undefined;
    this.bodies++;
    this.bytes += bytes;
    let held = bytes;
    let released = false;
    return {
      grow: (more) => {
        if (released || this.bytes + more > this.limits.maxBytesInFlight) return false;
        this.bytes += more;
        held += more;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.bodies--;
        this.bytes -= held;
      },
    };
  }
}

export interface BodyShare {
  /** Adds `more` bytes to the share; false (nothing added) if the server has no room for them. */
  grow(more: number): boolean;
  release(): void;
}

/** The body's declared length: a number, `'chunked'` when it has none, 0 when there is no body. */
export function declaredLength(req: IncomingMessage): number | 'chunked' {
  if (req.headers['transfer-encoding'] !== undefined) return 'chunked';
  const length = Number(req.headers['content-length'] ?? 0);
  return Number.isFinite(length) && length >= 0 ? length : 0;
}

export type BodyOutcome = { body: Buffer } | { refused: 'too_large' | 'idle' | 'busy' } | { refused: 'gone' };

/**
 * Reads a body under the size cap, the server's budget (for a body of no declared length) and an idle
 * timeout; a body is never held past the cap: reading stops at the first chunk that passes it.
 */
export function readBody(req: IncomingMessage, opts: { maxBytes: number; idleMs: number; share: BodyShare; reserved: boolean }): Promise<BodyOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (outcome: BodyOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onData);
      chunks.length = 0;
      resolve(outcome);
    };
    let timer = setTimeout(() => finish({ refused: 'idle' }), opts.idleMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > opts.maxBytes) return finish({ refused: 'too_large' });
      if (!opts.reserved && !opts.share.grow(chunk.length)) return finish({ refused: 'busy' });
      chunks.push(chunk);
      timer.refresh();
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      finish({ body: Buffer.concat(chunks, size) });
    });
    req.once('error', () => finish({ refused: 'gone' }));
    req.once('close', () => finish({ refused: 'gone' }));
  });
}

/**
 * Answers before (or instead of) reading the rest of a body: the answer is written, then the connection is
 * closed: the socket stops reading (what the client still sends waits in the kernel's buffers, never in
 * ours: reading and dropping it made 60 refused half-sent 5 MB bodies grow RSS by ~85 MB on Node 24), the
 * client has a moment to read the answer, then the socket is cut.
 */
export function answerAndClose(req: IncomingMessage, res: ServerResponse, result: HttpResult): void {
  const socket = req.socket as Socket & { destroySoon?: () => void };
  // node ends a `connection: close` answer with `socket.destroySoon()` (end, then destroy once written): a
  // destroy while the client is still sending resets the connection, and the client may lose the answer
  socket.destroySoon = () => linger(socket);
  send(res, { ...result, headers: { ...result.headers, connection: 'close' } });
  res.once('finish', () => linger(socket));
}

/** Writes a handler's result; a base64 body goes out as its bytes, as API Gateway sends it. */
export function send(res: ServerResponse, result: HttpResult): void {
  res.statusCode = result.statusCode ?? 200;
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, String(value));
  res.end(result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? ''));
}

const lingering = new WeakSet<Socket>();

function linger(socket: Socket): void {
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  socket.end();
  // stop reading: what the client still sends stays in the kernel's buffers (and the client's), not ours
  (socket as Socket & { _handle?: { readStop?: () => void } })._handle?.readStop?.();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** The answers for a request refused at the edge, as problem+json. */
export const edgeProblems = {
  busy: () =>
    problemResponse(
      { type: 'about:blank', title: 'Service unavailable', status: 503, detail: `The server is reading as many request bodies as it can; retry in ${RETRY_AFTER_SECONDS} s.`, code: 'ServiceUnavailable' },
      { 'retry-after': String(RETRY_AFTER_SECONDS) },
    ),
  idle: (ms: number) =>
    problemResponse({ type: 'about:blank', title: 'Request timeout', status: 408, detail: `The body sent nothing for ${ms / 1000} s; the request was dropped.`, code: 'RequestTimeout' }),
  /** With `fileStream`: a multipart file for that stream, pointed to its uploads, which take larger files. */
  tooLarge: (max: number, fileStream?: string) =>
    problemResponse({
      type: fileStream === undefined ? 'about:blank' : 'https://tributary.dev/problems/request-too_large',
      title: 'Payload too large',
      status: 413,
      detail: fileStream === undefined ? `The body exceeds ${max} bytes; split it into several requests.` : fileTooLarge(fileStream, `The body exceeds the ${max} bytes a request may carry.`),
      code: 'PayloadTooLarge',
    }),
};

/**
 * Sets node's header and request timeouts, and answers what node refuses before a request exists (headers
 * too large, a request that took too long, bytes that are not HTTP) with problem+json instead of node's
 * bare status line.
 */
export function guardServer(server: Server, limits: EdgeLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  // node's parser keeps reading a socket after its first error and reports each next chunk again
  const answered = new WeakSet<Socket>();
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (answered.has(socket)) return;
    answered.add(socket);
    const answer = clientErrorAnswer(err.code, limits);
    // once a response has started on this socket nothing more can be written to it (a kept-alive socket
    // has written earlier responses: only the current one counts)
    const started = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage?.headersSent === true;
    if (!answer || !socket.writable || started) {
      socket.destroy();
      return;
    }
    socket.write(rawResponse(answer));
    linger(socket);
  });
}

function clientErrorAnswer(code: string | undefined, limits: EdgeLimits): { status: number; title: string; detail: string; code: string } | undefined {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, title: 'Request header fields too large', detail: 'The request headers exceed 16 KiB; a bearer token is far shorter.', code: 'HeadersTooLarge' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, title: 'Request timeout', detail: `The request did not arrive in time (headers within ${limits.headersTimeoutMs / 1000} s, the whole request within ${limits.requestTimeoutMs / 1000} s).`, code: 'RequestTimeout' };
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    default:
      return { status: 400, title: 'Bad request', detail: 'The request is not valid HTTP/1.1.', code: 'BadRequest' };
  }
}

function rawResponse(p: { status: number; title: string; detail: string; code: string }): string {
  const body = JSON.stringify({ type: 'about:blank', ...p });
  return [
    `HTTP/1.1 ${p.status} ${p.title}`,
    'content-type: application/problem+json',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    '',
    body,
  ].join('\r\n');
}
