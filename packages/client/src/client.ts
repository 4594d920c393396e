import { splitBatches, type BatchLimits } from './batches';
import { Transport, type TransportOptions } from './transport';
import { liveEvents, liveSocketEvents, type LiveMessage, type LiveOptions, type LiveSocketOptions } from './live';
import type {
  AlertConfig,
  AnalyzeAnswer,
  AnalyzeRequest,
  AlertPage,
  Alert,
  CreatedStream,
  DataRecord,
  IngestAccepted,
  Issue,
  LatestResult,
  NewToken,
  Point,
  Processor,
  QueryParams,
  QueryResult,
  Receipt,
  ReceiptPage,
  Stream,
  StreamDefinition,
  StreamPage,
  StreamStatus,
  StreamUpdate,
  AppendEntry,
  AppendResults,
  DeletedStreams,
  DownsampledStreams,
  StreamTags,
  Tags,
  UploadCompleted,
  UploadCreated,
  Verification,
} from './types';

export interface ClientOptions extends Omit<TransportOptions, 'baseUrl'> {
  /** The API's base URL, e.g. `http://127.0.0.1:3000` or `https://api.example.com`. */
  baseUrl: string;
  /** An admin or read token for management and queries; ingest may take a stream's own token. */
  token?: string;
}

export interface IngestOptions {
  /** The stream's ingest token, when the client's token is not admin. */
  token?: string;
  /** The request's key; a fresh UUID unless given. The same key is sent on every retry, so nothing is stored twice. */
  idempotencyKey?: string;
  /** An event stream's request: metadata kept with every event (`x-flowcore-metadata-json`), and its times. */
  event?: EventHeaders;
  /** The document's `check_timestamp`: refuse (409 `InvalidTimestamp`) records older than the stream's newest point. */
  checkTimestamp?: boolean;
}

/** What the Flowcore ingestion document sends in headers: metadata (TTL, archive), event and valid time. */
export interface EventHeaders {
  metadata?: Record<string, unknown>;
  eventTime?: string | Date;
  validTime?: string | Date;
  /** In a batch, the field of each event that holds its event time / valid time. */
  eventTimeKey?: string;
  validTimeKey?: string;
}

/** The headers of `EventHeaders`, as `POST …/data` reads them. */
function eventHeaders(e: EventHeaders | undefined): Record<string, string> {
  if (!e) return {};
  const iso = (t: string | Date) => (t instanceof Date ? t.toISOString() : t);
  return {
    ...(e.metadata && { 'x-flowcore-metadata-json': base64(JSON.stringify(e.metadata)) }),
    ...(e.eventTime !== undefined && { 'x-flowcore-event-time': iso(e.eventTime) }),
    ...(e.validTime !== undefined && { 'x-flowcore-valid-time': iso(e.validTime) }),
    ...(e.eventTimeKey !== undefined && { 'x-flowcore-event-time-key': e.eventTimeKey }),
    ...(e.validTimeKey !== undefined && { 'x-flowcore-valid-time-key': e.validTimeKey }),
  };
}

/** Base64 of text's UTF-8 bytes, in browsers as in Node. */
function base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** What `uploadFile` says of the file, as `POST …/uploads` takes it. */
export interface UploadFileOptions {
  /** The file's name, as the part events carry it. */
  fileName: string;
  /** Required, any text (the Flowcore document's `type`): the part events' `fileType`. */
  type: string;
  /** The file's media type (the PUT's Content-Type); `application/octet-stream` unless given. */
  fileType?: string;
  /** Other fields added to every part event. */
  fields?: Record<string, string>;
  /** The stream's ingest token, when the client's token is not admin. */
  token?: string;
  /** Metadata and times of the part events, as `ingest` sends them. */
  event?: EventHeaders;
  /** Told once the intent is made, before the PUT (its `uploadId` completes it later, should this call fail). */
  onCreated?: (upload: UploadCreated) => void;
}

/** Lower-case hex SHA-256 of bytes, with Web Crypto (browsers and Node alike). */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** `GET /v1/streams/{id}/events` parameters. */
export interface EventsParams {
  start?: string | number | Date;
  end?: string | number | Date;
  timeAxis?: 'event' | 'valid';
  asOf?: string | number | Date;
  /** Event types, as the stream's `eventTypes` name them. */
  type?: string | string[];
  limit?: number;
  order?: 'asc' | 'desc';
  cursor?: string;
}

/** One event as `GET …/events` answers it. */
export interface StoredEventAnswer {
  id: string;
  eventTime: string;
  validTime: string;
  metadata?: Record<string, unknown>;
  data: Record<string, unknown>;
  storage: 'hot' | 'cold';
}

export interface IngestBatchOptions extends BatchLimits {
  token?: string;
  /** Requests in flight at once; 2 unless given. */
  concurrency?: number;
  /** The key of each batch (`first` is its first record's index); fresh UUIDs unless given. */
  idempotencyKey?: (batch: { first: number; count: number }) => string;
  /** Told after each batch is accepted. */
  onBatch?: (info: { first: number; count: number; accepted: number; rejected: Issue[] }) => void;
}

export interface IngestBatchResult {
  accepted: number;
  batches: number;
  /** Invalid records of a lenient stream, `index` counted from the start of the whole input. */
  rejected: Issue[];
  filtered: number;
}

const enc = encodeURIComponent;
const streamPath = (id: string, rest = '') => `/v1/streams/${enc(id)}${rest}`;
const json = (body: unknown) => JSON.stringify(body);

function queryString(params: QueryParams = {}): URLSearchParams {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (key === 'dimensions') {
      for (const [d, v] of Object.entries(value as Record<string, unknown>)) q.append(`dim.${d}`, String(v));
    } else if (key === 'aggregation' && typeof value === 'object' && !(value instanceof Date)) {
      // the documents' per-field aggregation: aggregation.<field>=<function>
      for (const [f, fn] of Object.entries(value as Record<string, unknown>)) q.append(`aggregation.${f}`, String(fn));
    } else q.set(key, value instanceof Date ? value.toISOString() : String(value));
  }
  return q;
}

/**
 * A Tributary API client, shaped like the Data Streams document's SDK (`client.streams.create`, `ingest`,
 * `ingestBatch`, `update`, `setProcessor`, `setAlerts`, `query`, `status`, `pause`, `resume`).
 *
 * @example
 * const client = new TributaryClient({ baseUrl: 'http://127.0.0.1:3000', token: process.env.TRIBUTARY_TOKEN });
 * const stream = await client.streams.create({ name: 'Freezers', type: 'iot_sensor', schema: { temperature: { type: 'number' } } });
 * await client.streams.ingestBatch(stream.id, readings, { token: stream.ingestToken });
 * for await (const point of client.streams.points(stream.id, { start: '2026-01-01T00:00:00Z' })) console.log(point);
 */
export class TributaryClient {
  readonly #http: Transport;
  readonly streams: StreamsApi;
  readonly alerts: AlertsApi;

  constructor(options: ClientOptions) {
    this.#http = new Transport(options);
    this.streams = new StreamsApi(this.#http);
    this.alerts = new AlertsApi(this.#http);
  }

  /** The OpenAPI 3.1 document the API serves (no token needed). */
  async openapi(): Promise<Record<string, unknown>> {
    return (await this.#http.send<Record<string, unknown>>({ method: 'GET', path: '/v1/openapi.json' })).body;
  }

  toJSON() {
    return this.#http.toJSON();
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `TributaryClient ${JSON.stringify(this.toJSON())}`;
  }
}

export class StreamsApi {
  constructor(readonly http: Transport) {}

  async #send<T>(req: Parameters<Transport['send']>[0]): Promise<T> {
    return (await this.http.send<T>(req)).body;
  }

  /** Creates a stream; the answer carries its `ingestToken`, shown once. */
  create(definition: StreamDefinition): Promise<CreatedStream> {
    return this.#send({ method: 'POST', path: '/v1/streams', body: json(definition) });
  }

  /** One page of streams; `tags` (string tags) and `match` (the document's `find_streams`: nested JSON values) must all match. */
  list(options: { tags?: Record<string, string>; match?: Tags; limit?: number; cursor?: string; vaultId?: string } = {}): Promise<StreamPage> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(options.tags ?? {})) q.set(`tag.${k}`, v);
    if (options.match) q.set('tags', JSON.stringify(options.match));
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    if (options.cursor) q.set('cursor', options.cursor);
    if (options.vaultId) q.set('vaultId', options.vaultId);
    return this.#send({ method: 'GET', path: '/v1/streams', query: q });
  }

  /** Every stream, page after page. */
  async *listAll(options: { tags?: Record<string, string>; match?: Tags; vaultId?: string } = {}): AsyncGenerator<Stream> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...options, limit: 1000, ...(cursor && { cursor }) });
      yield* page.streams;
      cursor = page.nextCursor;
    } while (cursor);
  }

  get(id: string): Promise<Stream> {
    return this.#send({ method: 'GET', path: streamPath(id) });
  }

  /**
   * The document's `ensure_stream`: the stream `queryTags` identify, created from `definition` (with its
   * `ingestToken`) when none has them; a 409 `InconsistentStreamConfiguration` when one has another configuration.
   */
  ensure(queryTags: Tags, definition: StreamDefinition): Promise<Stream | CreatedStream> {
    return this.#send({ method: 'POST', path: '/v1/streams/ensure', body: json({ ...definition, queryTags }) });
  }

  /** The document's `get_tags`. */
  async getTags(id: string): Promise<Tags> {
    return (await this.#send<StreamTags>({ method: 'GET', path: streamPath(id, '/tags') })).tags;
  }

  /** The document's `update_tags`: merged into the stream's, objects member by member; the tags after. */
  async updateTags(id: string, tags: Tags): Promise<Tags> {
    return (await this.#send<StreamTags>({ method: 'PATCH', path: streamPath(id, '/tags'), body: json(tags), repeatable: true })).tags;
  }

  /** The document's `remove_tag`: each path a key, or nested keys (`['visualization', 'hidden']`); the tags after. */
  async removeTags(id: string, paths: (string | string[])[]): Promise<Tags> {
    const key = paths.map((p) => (Array.isArray(p) ? p.join('/') : p)).join(',');
    return (await this.#send<StreamTags>({ method: 'DELETE', path: streamPath(id, '/tags'), query: new URLSearchParams({ key }), repeatable: true })).tags;
  }

  /** The document's `clear_tags`. */
  async clearTags(id: string): Promise<void> {
    await this.#send({ method: 'DELETE', path: streamPath(id, '/tags'), repeatable: true });
  }

  /** The document's `delete_streams(query_tags)`: every stream the tags match, with its points (1000 a call: see `more`). */
  deleteMatching(match: Tags): Promise<DeletedStreams> {
    return this.#send({ method: 'DELETE', path: '/v1/streams', query: new URLSearchParams({ tags: JSON.stringify(match) }), repeatable: true });
  }

  /**
   * The document's `backprocess_streams`: recomputes the derived streams `ids` names (or, without it, every
   * derived stream) from their sources' history.
   */
  backprocess(ids?: string[]): Promise<{ streams: { streamId: string; points: number }[]; more: boolean }> {
    return this.#send({ method: 'POST', path: '/v1/streams/backprocess', ...(ids && { query: new URLSearchParams({ ids: ids.join(',') }) }), repeatable: true });
  }

  /**
   * The document's `downsample_streams(query_tags, until)`: closes the stored rollups' bins ending at or before
   * `until` (default now) on every stream the tags match (all streams without `match`); answers per stream and
   * level the bins closed since the previous call. Late points still update closed bins.
   */
  downsample(options: { match?: Tags; until?: string | Date } = {}): Promise<DownsampledStreams> {
    const query = new URLSearchParams();
    if (options.match) query.set('tags', JSON.stringify(options.match));
    if (options.until !== undefined) query.set('until', options.until instanceof Date ? options.until.toISOString() : options.until);
    return this.#send({ method: 'POST', path: '/v1/streams/downsample', query, repeatable: true });
  }

  /**
   * The document's `append_multiple`: several streams' records in one request, each stream taken or refused
   * on its own (`results`), with an `Idempotency-Key` kept across its retries, so a retried request is
   * stored once.
   */
  appendMultiple(entries: AppendEntry[], options: { token?: string; idempotencyKey?: string } = {}): Promise<AppendResults> {
    const key = options.idempotencyKey ?? globalThis.crypto.randomUUID();
    return this.#send({ method: 'POST', path: '/v1/streams/data', body: json(entries), token: options.token, headers: { 'idempotency-key': key }, repeatable: true });
  }

  update(id: string, patch: StreamUpdate): Promise<Stream> {
    return this.#send({ method: 'PATCH', path: streamPath(id), body: json(patch) });
  }

  /** The document's `setAlerts`: replaces the stream's alert rules. */
  setAlerts(id: string, config: AlertConfig): Promise<Stream> {
    return this.update(id, config);
  }

  /** The document's `setProcessor`: its transformations and aggregations replace the stream's. */
  setProcessor(id: string, processor: Processor): Promise<Stream> {
    return this.#send({ method: 'PUT', path: streamPath(id, '/processor'), body: json(processor) });
  }

  async delete(id: string): Promise<void> {
    await this.#send({ method: 'DELETE', path: streamPath(id) });
  }

  pause(id: string): Promise<Stream> {
    return this.#send({ method: 'POST', path: streamPath(id, '/pause'), repeatable: true });
  }

  resume(id: string): Promise<Stream> {
    return this.#send({ method: 'POST', path: streamPath(id, '/resume'), repeatable: true });
  }

  /**
   * The stream's live messages (`data_update`, `stream_status`, `error_alert`, `metrics_update`) as Server-Sent
   * Events, reconnecting until `options.signal` aborts.
   */
  live(id: string, options: LiveOptions = {}): AsyncGenerator<LiveMessage> {
    return liveEvents(this.http, streamPath(id, '/live'), options);
  }

  /**
   * The stream's live messages over a WebSocket (the only way in AWS: `options.url` is the stack's `LiveUrl`), a new
   * ticket per connection, pinging every 5 min and reconnecting after any close until `options.signal` aborts.
   */
  liveSocket(id: string, options: LiveSocketOptions = {}): AsyncGenerator<LiveMessage> {
    return liveSocketEvents(this.http, id, () => this.liveTicket(id), options);
  }

  /** A single-use ticket (60 s) that opens one live subscription: `…/live?ticket=` for a browser WebSocket or EventSource. */
  liveTicket(id: string): Promise<{ streamId: string; ticket: string; expiresAt: string }> {
    return this.#send({ method: 'POST', path: streamPath(id, '/live-ticket') });
  }

  status(id: string): Promise<StreamStatus> {
    return this.#send({ method: 'GET', path: streamPath(id, '/status') });
  }

  createToken(id: string, scope: 'read' | 'ingest', label?: string): Promise<NewToken> {
    return this.#send({ method: 'POST', path: streamPath(id, '/tokens'), body: json({ scope, ...(label && { label }) }) });
  }

  /** One record or up to 10 000, in one request with an `Idempotency-Key`: retried, it is stored once. */
  ingest(id: string, records: DataRecord | DataRecord[], options: IngestOptions = {}): Promise<IngestAccepted> {
    return this.ingestText(id, json(records), options);
  }

  /** A JSON body already serialized (one record or an array), sent as `ingest` sends it. */
  ingestText(id: string, body: string, options: IngestOptions = {}): Promise<IngestAccepted> {
    const key = options.idempotencyKey ?? globalThis.crypto.randomUUID();
    const query = options.checkTimestamp ? new URLSearchParams({ checkTimestamp: 'true' }) : undefined;
    return this.#send({ method: 'POST', path: streamPath(id, '/data'), body, token: options.token, query, headers: { 'idempotency-key': key, ...eventHeaders(options.event) }, repeatable: true });
  }

  /**
   * A file of any size up to the upload limit (64 MiB) as an event stream's 512 KB part events: makes the upload
   * (its SHA-256 computed here), PUTs the file straight to the presigned `uploadUrl` (S3, never through the
   * API, so no request limit applies), then completes it. Completing is safe to retry: an upload is completed
   * once. Small files may also go as a multipart POST to the stream's batch URL.
   *
   * @example
   * const done = await client.streams.uploadFile('scans', bytes, { fileName: 'scan.tif', type: 'image/tiff', token: ingestToken });
   * done.parts; // 24 for a 12 MB file
   */
  async uploadFile(id: string, file: Uint8Array | Blob, options: UploadFileOptions): Promise<UploadCompleted> {
    const bytes = file instanceof Uint8Array ? file : new Uint8Array(await file.arrayBuffer());
    const created = await this.#send<UploadCreated>({
      method: 'POST',
      path: streamPath(id, '/uploads'),
      token: options.token,
      body: json({ fileName: options.fileName, fileSize: bytes.length, checksum: await sha256Hex(bytes), type: options.type, ...(options.fileType && { fileType: options.fileType }), ...(options.fields && { fields: options.fields }) }),
      // a second intent for a lost answer is harmless: only a completed upload becomes events
      repeatable: true,
    });
    options.onCreated?.(created);
    await this.http.putPresigned(created.uploadUrl, created.headers, bytes);
    return this.completeUpload(id, created.uploadId, { ...(options.token && { token: options.token }), ...(options.event && { event: options.event }) });
  }

  /** Completes an upload whose file was PUT: its part events are queued (once, however often this is called). */
  completeUpload(id: string, uploadId: string, options: { token?: string; event?: EventHeaders } = {}): Promise<UploadCompleted> {
    return this.#send({ method: 'POST', path: streamPath(id, `/uploads/${enc(uploadId)}`), token: options.token, headers: eventHeaders(options.event), repeatable: true });
  }

  /** A page of an event stream's events, with their metadata and both times. */
  events(id: string, params: EventsParams = {}): Promise<{ streamId: string; timeAxis: 'event' | 'valid'; asOf?: string; events: StoredEventAnswer[]; nextCursor?: string }> {
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined) continue;
      q.set(key, value instanceof Date ? value.toISOString() : Array.isArray(value) ? value.join(',') : String(value));
    }
    return this.#send({ method: 'GET', path: streamPath(id, '/events'), query: q });
  }

  /** Every event of a range, across its pages. */
  async *allEvents(id: string, params: Omit<EventsParams, 'cursor'> = {}): AsyncGenerator<StoredEventAnswer> {
    let cursor: string | undefined;
    do {
      const page = await this.events(id, { ...params, ...(cursor && { cursor }) });
      yield* page.events;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /**
   * Any number of records, split into requests under the body and record limits, each with its own
   * `Idempotency-Key` kept across its retries; `concurrency` requests in flight.
   */
  async ingestBatch(id: string, records: Iterable<DataRecord>, options: IngestBatchOptions = {}): Promise<IngestBatchResult> {
    const result: IngestBatchResult = { accepted: 0, batches: 0, rejected: [], filtered: 0 };
    const batches = splitBatches(records, options);
    const worker = async () => {
      for (let next = batches.next(); !next.done; next = batches.next()) {
        const batch = next.value;
        const key = options.idempotencyKey?.({ first: batch.first, count: batch.count });
        const answer = await this.ingestText(id, batch.body, { ...(options.token && { token: options.token }), ...(key && { idempotencyKey: key }) });
        const rejected = (answer.rejected ?? []).map((i) => ({ ...i, ...(i.index !== undefined && { index: i.index + batch.first }) }));
        result.accepted += answer.accepted;
        result.filtered += answer.filtered ?? 0;
        result.batches++;
        result.rejected.push(...rejected);
        options.onBatch?.({ first: batch.first, count: batch.count, accepted: answer.accepted, rejected });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
    result.rejected.sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return result;
  }

  /** One page of points (raw or downsampled); follow `nextCursor`, or use `pages` / `points`. */
  query(id: string, params: QueryParams = {}): Promise<QueryResult> {
    return this.#send({ method: 'GET', path: streamPath(id, '/data'), query: queryString(params) });
  }

  /** Every page of a query, following the cursors. */
  async *pages(id: string, params: QueryParams = {}): AsyncGenerator<QueryResult> {
    let cursor = typeof params.cursor === 'string' ? params.cursor : undefined;
    do {
      const page = await this.query(id, { ...params, ...(cursor && { cursor }) });
      yield page;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** Every point of a query, across its pages. */
  async *points(id: string, params: QueryParams = {}): AsyncGenerator<Point> {
    for await (const page of this.pages(id, params)) yield* page.points;
  }

  /**
   * The whole range as a file (`GET …/export`): CSV (formula cells escaped), NDJSON or Parquet, read page by
   * page by the server; a large one is fetched from the presigned URL the answer names.
   */
  export(id: string, params: { format?: 'csv' | 'ndjson' | 'parquet'; start?: string | Date; end?: string | Date; fields?: string | string[]; dimensions?: Record<string, string> } = {}): Promise<{ bytes: Uint8Array; contentType: string; filename?: string }> {
    const q = new URLSearchParams();
    if (params.format) q.set('format', params.format);
    for (const key of ['start', 'end'] as const) {
      const v = params[key];
      if (v !== undefined) q.set(key, v instanceof Date ? v.toISOString() : v);
    }
    if (params.fields) q.set('fields', Array.isArray(params.fields) ? params.fields.join(',') : params.fields);
    for (const [name, value] of Object.entries(params.dimensions ?? {})) q.set(`dim.${name}`, value);
    return this.http.download(streamPath(id, '/export'), q);
  }

  /** The newest record of each series. */
  latest(id: string, params: { fields?: string; dimensions?: Record<string, string> } = {}): Promise<LatestResult> {
    return this.#send({ method: 'GET', path: streamPath(id, '/latest'), query: queryString(params) });
  }

  /** The documents' `streams.analyze`: trends, anomalies, correlations and a forecast over a time range. */
  analyze(id: string, request: AnalyzeRequest): Promise<AnalyzeAnswer> {
    return this.#send({ method: 'POST', path: streamPath(id, '/analyze'), body: json(request) });
  }

  /** Runs a pull stream's pull now. */
  pull(id: string): Promise<Record<string, unknown>> {
    return this.#send({ method: 'POST', path: streamPath(id, '/pull') });
  }

  /** One page of the stream's receipts (one per stored batch, chained), oldest first, after `after`. */
  receipts(id: string, options: { after?: number; limit?: number } = {}): Promise<ReceiptPage> {
    const q = new URLSearchParams();
    if (options.after !== undefined) q.set('after', String(options.after));
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    return this.#send({ method: 'GET', path: streamPath(id, '/receipts'), query: q });
  }

  /** Every receipt of the stream, page after page. */
  async *allReceipts(id: string): AsyncGenerator<Receipt> {
    let after: number | undefined;
    do {
      const page = await this.receipts(id, { ...(after !== undefined && { after }), limit: 1000 });
      yield* page.receipts;
      after = page.nextCursor === undefined ? undefined : Number(page.nextCursor);
    } while (after !== undefined);
  }

  /**
   * Recomputes the stream's receipt chain and compares every record the stores hold in the window with the
   * receipts': `verified` is false, and `problems` name each batch, when anything was altered, dropped or
   * inserted. Without a window, the whole stream (large streams: verify a window at a time).
   */
  verify(id: string, window: { start?: string | number | Date; end?: string | number | Date } = {}): Promise<Verification> {
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(window)) if (value !== undefined) q.set(key, value instanceof Date ? value.toISOString() : String(value));
    return this.#send({ method: 'GET', path: streamPath(id, '/verify'), query: q });
  }
}

export class AlertsApi {
  constructor(readonly http: Transport) {}

  async list(options: { streamId?: string; state?: 'firing' | 'resolved'; limit?: number; cursor?: string } = {}): Promise<AlertPage> {
    const q = new URLSearchParams();
    if (options.state && !options.streamId) q.set('state', options.state);
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    if (options.cursor) q.set('cursor', options.cursor);
    const path = options.streamId ? streamPath(options.streamId, '/alerts') : '/v1/alerts';
    return (await this.http.send<AlertPage>({ method: 'GET', path, query: q })).body;
  }

  async acknowledge(alertId: string): Promise<Alert> {
    return (await this.http.send<Alert>({ method: 'POST', path: `/v1/alerts/${enc(alertId)}/ack`, repeatable: true })).body;
  }
}
