import type * as z from 'zod';
import type * as S from '../../../functions/commons/api-schemas';
import type { StreamInputSchema, StreamPatchSchema } from '../../../shared/domain/stream-definition';
import type { AnalyzeRequestSchema, AnalyzeResult } from '../../../shared/domain/analytics';

/**
 * The API's types, inferred from the zod schemas the server validates with and answers by (the same ones the
 * OpenAPI document is generated from). Type-only: nothing of the server is loaded at run time.
 */
export type Stream = z.infer<typeof S.StreamSchema>;
export type CreatedStream = z.infer<typeof S.CreatedStreamSchema>;
export type StreamPage = z.infer<typeof S.StreamPageSchema>;
export type StreamStatus = z.infer<typeof S.StreamStatusSchema>;
export type NewToken = z.infer<typeof S.NewTokenSchema>;
export type Processor = z.input<typeof S.ProcessorSchema>;
export type IngestAccepted = z.infer<typeof S.IngestAcceptedSchema>;
export type Point = z.infer<typeof S.PointSchema>;
export type QueryResult = z.infer<typeof S.QueryResultSchema>;
export type LatestResult = z.infer<typeof S.LatestResultSchema>;
export type Alert = z.infer<typeof S.AlertSchema>;
export type AlertPage = z.infer<typeof S.AlertPageSchema>;
export type Problem = z.infer<typeof S.ProblemSchema>;
export type Issue = z.infer<typeof S.IssueSchema>;
export type Receipt = z.infer<typeof S.ReceiptSchema>;
export type ReceiptPage = z.infer<typeof S.ReceiptPageSchema>;
export type Verification = z.infer<typeof S.VerificationSchema>;
export type UploadCreated = z.infer<typeof S.UploadCreatedSchema>;
export type UploadCompleted = z.infer<typeof S.UploadCompletedSchema>;
export type StreamTags = z.infer<typeof S.StreamTagsSchema>;
export type DeletedStreams = z.infer<typeof S.DeletedStreamsSchema>;
export type DownsampledStreams = z.infer<typeof S.DownsampledStreamsSchema>;
export type AppendResults = z.infer<typeof S.AppendResultsSchema>;
/** Tags: any JSON value under each key. */
export type Tags = Record<string, unknown>;
/** One entry of `appendMultiple`: a stream's records. */
export type AppendEntry = { streamId: string; records: Record<string, unknown> | Record<string, unknown>[]; checkTimestamp?: boolean };

/** A canonical definition (what `POST /v1/streams` validates), or one in the Data Streams document's dialect. */
export type StreamDefinition = z.input<typeof StreamInputSchema> | { name: string; type: string; schema: Record<string, unknown>; [key: string]: unknown };
/** A canonical patch, or the document's `setAlerts` body `{streamId?, rules}`. */
export type StreamUpdate = z.input<typeof StreamPatchSchema> | Record<string, unknown>;
export type AlertConfig = { streamId?: string; rules: unknown[] };
/** `POST /v1/streams/{id}/analyze`: the documents' `streams.analyze` body and answer. */
export type AnalyzeRequest = z.input<typeof AnalyzeRequestSchema>;
export type AnalyzeAnswer = AnalyzeResult & { streamId: string; start: string; end: string; granularity: string; points: number; series: number };
/** One record: the stream's schema decides its fields. */
export type DataRecord = Record<string, unknown>;

/** `GET /v1/streams/{id}/data` parameters; `dimensions` become `dim.NAME=VALUE`. */
export type QueryParams = Omit<z.input<typeof S.DataQuerySchema>, 'start' | 'end' | 'startExclusive' | 'endExclusive' | 'reverse' | 'limit' | 'aggregation'> & {
  /** `hourly`, a stream's named aggregation, or per field: `{productionCount: 'sum', qualityStatus: 'mode'}`. */
  aggregation?: string | Record<string, 'sum' | 'average' | 'mean' | 'min' | 'max' | 'count' | 'first' | 'last' | 'mode'>;
  start?: string | number | Date;
  end?: string | number | Date;
  /** Instead of `start`: the range starts after this time (the datastream document's `start_exclusive`). */
  startExclusive?: string | number | Date;
  /** Instead of `end`: excluded, as `end` is. */
  endExclusive?: string | number | Date;
  /** Newest first (`order: 'desc'`), as the datastream document's `reverse`. */
  reverse?: boolean;
  limit?: number;
  dimensions?: Record<string, string | number | boolean>;
};
