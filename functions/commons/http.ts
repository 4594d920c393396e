import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { streamOfAlert } from '../../shared/domain/alert-id';
import { AlertNotFoundError, BadRequestError, StreamNotFoundError } from '../../shared/domain/errors';
import { STREAM_ID } from '../../shared/domain/stream-names';
import { decodeUtf8 } from './body';
import { problemResponse, toProblem } from './problem';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;
export type HttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

/** Where handlers write one structured line; never given bodies, headers or tokens. */
export interface Logger {
  error(message: string, fields: Record<string, unknown>): void;
  info(message: string, fields: Record<string, unknown>): void;
}

export const jsonLogger: Logger = {
  error: (message, fields) => console.error(JSON.stringify({ level: 'error', message, ...fields })),
  info: (message, fields) => console.log(JSON.stringify({ level: 'info', message, ...fields })),
};

/**
 * middy middleware: any error becomes problem+json through the one table; 5xx details are logged with
 * the request id and the error's name and message only.
 *
 * @example
 * middy().use(problemErrors(jsonLogger)).handler(app)
 */
export function problemErrors(log: Logger): middy.MiddlewareObj<HttpEvent, HttpResult, Error, Context> {
  return {
    onError: async (request) => {
      const { problem, internal } = toProblem(request.error);
      if (internal) {
        const err = request.error as Error | null;
        log.error('request failed', {
          requestId: request.context?.awsRequestId ?? request.event?.requestContext?.requestId,
          route: request.event?.routeKey,
          error: err?.name,
          reason: err?.message,
          cause: (err?.cause as Error | undefined)?.name,
        });
      }
      request.response = problemResponse(problem, retryAfter(problem.status));
    },
  };
}

/**
 * `Retry-After` for the answers that mean "later": 429 (back-pressure, seconds away) and 503 (a store or
 * the queue unavailable, safe to retry).
 *
 * @example
 * problemResponse(problem, retryAfter(problem.status));
 */
export function retryAfter(status: number): Record<string, string> {
  if (status === 429) return { 'retry-after': '1' };
  if (status === 503) return { 'retry-after': '5' };
  return {};
}

/**
 * The event's body as text. API Gateway base64s a body it does not take for text: those bytes are decoded
 * strictly, so bytes that are not UTF-8 are a 400 naming their offset, never U+FFFD in an accepted value.
 */
export function bodyText(event: HttpEvent): string {
  if (!event.body) return '';
  return event.isBase64Encoded ? decodeUtf8(Buffer.from(event.body, 'base64')) : event.body;
}

export function header(event: HttpEvent, name: string): string | undefined {
  return event.headers?.[name] ?? event.headers?.[name.toLowerCase()];
}

/**
 * The path's `{id}`, checked against the id rule before any store sees it: an id no stream (or alert) can
 * have is a 404 here, not a store's validation error (DynamoDB refuses keys over 2 KB) turned into a 503.
 *
 * @example
 * const id = pathId(event); // 'freezers'
 * const alertId = pathId(event, 'alert'); // 'freezers.0mjv3wdc0k3x9qa'
 */
export function pathId(event: HttpEvent, kind: 'stream' | 'alert' = 'stream'): string {
  const id = event.pathParameters?.id;
  if (!id) throw new BadRequestError(`The path has no ${kind} id.`);
  const shown = id.length > 80 ? `${id.slice(0, 80)}…` : id;
  if (kind === 'alert') {
    if (streamOfAlert(id) === undefined) throw new AlertNotFoundError(shown);
  } else if (!STREAM_ID.test(id)) {
    throw new StreamNotFoundError(shown);
  }
  return id;
}
