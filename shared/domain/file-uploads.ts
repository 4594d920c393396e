import * as z from 'zod';
import { BadRequestError, UploadIncompleteError } from './errors';
import { findUnsafeJson } from './json-safety';
import { toIssues } from './stream-names';

/**
 * File events (the Flowcore document's multipart file events) and the uploads that bring files too large for
 * one request: the rules both paths share, and an upload's intent from its creation to its completion.
 */

/** The Flowcore document's fixed part size. */
export const PART_BYTES = 512 * 1024;
/** How many fields besides the file and its type a file event may carry, and how long each. */
export const MAX_FILE_FIELDS = 50;
export const MAX_FILE_FIELD_BYTES = 8192;
/** Field names a file event keeps for itself (its part's bytes, their reference) or that no object may take. */
export const RESERVED_FILE_FIELDS: readonly string[] = ['__proto__', 'constructor', 'prototype', 'dataRef', 'data'];
/** The largest file an upload takes: 128 parts, which completion reads and cuts in one invocation. */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
/** How long an upload's PUT URL is valid. */
export const UPLOAD_URL_SECONDS = 15 * 60;
/** How long an upload (its intent and its bytes) is kept before it is swept, completed or not. */
export const UPLOAD_RETENTION_MS = 24 * 3_600_000;
/** An upload id: URL-safe, as `newUploadId` makes them (also the request id of its part events). */
export const UPLOAD_ID = /^[A-Za-z0-9_-]{16,64}$/;

const FieldName = z.string().min(1).max(256).refine((n) => !RESERVED_FILE_FIELDS.includes(n) && n !== 'file' && n !== 'type', { message: 'is a name a file event keeps for itself' });

/** `POST /v1/streams/{id}/uploads`: the file that is coming, so its PUT URL can be signed for exactly it. */
export const UploadRequestSchema = z
  .strictObject({
    fileName: z.string().min(1).max(255).meta({ description: 'The file’s name, as the part events carry it.' }),
    fileSize: z.number().int().min(1).max(MAX_UPLOAD_BYTES).meta({ description: `Its size in bytes (at most ${MAX_UPLOAD_BYTES}): the PUT must carry exactly this Content-Length.` }),
    checksum: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be the SHA-256 of the whole file, 64 hex digits')
      .transform((s) => s.toLowerCase())
      .meta({ description: 'SHA-256 of the whole file (hex): the PUT is signed for these bytes alone, and the part events carry it.' }),
    type: z.string().min(1).max(MAX_FILE_FIELD_BYTES).meta({ description: 'Required, any text (the document’s `type`): the part events’ `fileType`.' }),
    fileType: z.string().min(1).max(255).optional().meta({ description: 'The file’s media type, stored with the upload (Content-Type of the PUT); `application/octet-stream` unless given.' }),
    fields: z
      .record(FieldName, z.string().max(MAX_FILE_FIELD_BYTES))
      .refine((f) => Object.keys(f).length <= MAX_FILE_FIELDS, { message: `at most ${MAX_FILE_FIELDS} fields` })
      .optional()
      .meta({ description: 'Other fields added to every part event, as the other form fields of a multipart file event.' }),
  })
  .meta({ id: 'UploadRequest' });
export type UploadRequest = z.output<typeof UploadRequestSchema>;

/** What an upload is, kept from its creation until it is completed or swept. */
export interface UploadIntent {
  uploadId: string;
  streamId: string;
  fileName: string;
  fileSize: number;
  checksum: string;
  type: string;
  fileType: string;
  fields: Record<string, string>;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms: when its PUT URL stops working. */
  urlExpiresAt: number;
}

/**
 * Parses an upload request, or throws a `BadRequestError` listing every problem with its path.
 *
 * @example
 * parseUploadRequest({ fileName: 'scan.tif', fileSize: 12_582_912, checksum: 'ab…', type: 'image/tiff' });
 */
export function parseUploadRequest(body: unknown): UploadRequest {
  const unsafe = findUnsafeJson(body);
  if (unsafe) throw new BadRequestError('Invalid upload.', [unsafe]);
  const r = UploadRequestSchema.safeParse(body);
  if (!r.success) throw new BadRequestError('Invalid upload.', toIssues(r.error));
  return r.data;
}

/**
 * The intent of a new upload of `request` to a stream, its PUT URL valid for `UPLOAD_URL_SECONDS` from `now`.
 *
 * @example
 * const intent = uploadIntent(request, { streamId: 'scans', uploadId: 'q0ZbJ4o1n2wE8s7d', now: Date.now() });
 */
export function uploadIntent(request: UploadRequest, at: { streamId: string; uploadId: string; now: number }): UploadIntent {
  return {
    uploadId: at.uploadId,
    streamId: at.streamId,
    fileName: request.fileName,
    fileSize: request.fileSize,
    checksum: request.checksum,
    type: request.type,
    fileType: request.fileType ?? 'application/octet-stream',
    fields: { ...request.fields },
    createdAt: at.now,
    urlExpiresAt: at.now + UPLOAD_URL_SECONDS * 1000,
  };
}

/**
 * Checks that what was uploaded is the file the intent declared; throws `UploadIncompleteError` saying what
 * differs (nothing uploaded yet, another size, other bytes).
 *
 * @example
 * checkUploaded(intent, { size: bytes.length, checksum: sha256Hex(bytes) });
 */
export function checkUploaded(intent: UploadIntent, uploaded: { size: number; checksum?: string } | undefined): void {
  if (!uploaded) {
    throw new UploadIncompleteError(`Nothing was uploaded for upload '${intent.uploadId}' yet: PUT the file to its uploadUrl first, then complete it.`);
  }
  if (uploaded.size !== intent.fileSize) {
    throw new UploadIncompleteError(`The uploaded file is ${uploaded.size} bytes; the upload declared ${intent.fileSize}.`);
  }
  if (uploaded.checksum !== undefined && uploaded.checksum !== intent.checksum) {
    throw new UploadIncompleteError(`The uploaded file's SHA-256 is ${uploaded.checksum}; the upload declared ${intent.checksum}.`);
  }
}

/**
 * How many part events a file of `size` bytes becomes (an empty file is one empty part).
 *
 * @example
 * partCount(12 * 1024 * 1024); // 24
 */
export function partCount(size: number): number {
  return Math.max(1, Math.ceil(size / PART_BYTES));
}

/**
 * Whether an upload made at `createdAt` is past its retention at `now` (the local sweep's rule; a lifecycle
 * rule's in AWS).
 *
 * @example
 * isStaleUpload(Date.now() - 25 * 3_600_000, Date.now()); // true
 */
export function isStaleUpload(createdAt: number, now: number): boolean {
  return now - createdAt > UPLOAD_RETENTION_MS;
}
