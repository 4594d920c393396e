import {
  QueueDoesNotExist,
  RequestThrottled,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeEnvelopeBody, decodeIotRuleMessage, decodeQueueMessage, encodeEnvelope, encodeEnvelopeMessages } from '../../shared/aws/ingest-message';
import { SqsIngestQueue } from '../../shared/aws/sqs-ingest-queue';
import { PayloadTooLargeError, QueueUnavailableError } from '../../shared/domain/errors';
import type { IngestEnvelope } from '../../shared/ports';

// Shapes from the SQS API reference: SendMessageBatch takes at most 10 entries and 256 KiB in total
// (262,144 bytes, also the limit of one message); partial failures come back with HTTP 200 in
// `Failed: [{Id, SenderFault, Code, Message}]` next to `Successful: [{Id, MessageId, MD5OfMessageBody}]`.

const LIMIT = 256 * 1024;
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/tributary-ingest';
const T0 = Date.parse('2026-01-01T00:00:00Z');

const client = new SQSClient({ region: 'eu-west-1' });
const sqs = mockClient(client);
let sleeps: number[];

const makeQueue = (maxAttempts?: number) =>
  new SqsIngestQueue({
    client,
    queueUrl: QUEUE_URL,
    ...(maxAttempts !== undefined && { maxAttempts }),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });

const calls = (): SendMessageBatchCommandInput[] => sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
const bodiesOf = (input: SendMessageBatchCommandInput) => input.Entries!.map((e) => e.MessageBody!);
const sentEnvelopes = () => calls().flatMap((c) => bodiesOf(c).map(decodeEnvelopeBody));

/** SQS's answer when it takes every entry of the call. */
const takeAll = (input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput => ({
  $metadata: {},
  Successful: input.Entries!.map((e, i) => ({ Id: e.Id!, MessageId: `m-${i}`, MD5OfMessageBody: 'x' })),
  Failed: [],
});

const envelope = (streamId: string, records: unknown[], extra: Partial<IngestEnvelope> = {}): IngestEnvelope => ({
  streamId,
  receivedAt: T0,
  source: 'http',
  records,
  ...extra,
});

beforeEach(() => {
  sqs.reset();
  sleeps = [];
});

describe('SqsIngestQueue.send: batching', () => {
  it('sends 25 envelopes as SendMessageBatch calls of 10, 10 and 5 entries with ids unique per call and the envelopes as JSON bodies', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(takeAll);
    const envelopes = Array.from({ length: 25 }, (_, i) => envelope(`s${i}`, [{ n: i }], { deviceId: `d${i}` }));

    await makeQueue().send(envelopes);

    expect(calls().map((c) => c.Entries!.length)).toEqual([10, 10, 5]);
    for (const c of calls()) {
      expect(c.QueueUrl).toBe(QUEUE_URL);
      expect(new Set(c.Entries!.map((e) => e.Id)).size).toBe(c.Entries!.length);
    }
    expect(sentEnvelopes()).toEqual(envelopes);
  });

  it('keeps every call under 256 KiB in total, however many messages would fit in 10 entries', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(takeAll);
    const big = (i: number) => envelope('big', [{ i, pad: 'x'.repeat(60_000) }]);
    const envelopes = Array.from({ length: 9 }, (_, i) => big(i));

    await makeQueue().send(envelopes);

    expect(calls().length).toBeGreaterThanOrEqual(3);
    for (const c of calls()) expect(bodiesOf(c).reduce((n, b) => n + Buffer.byteLength(b), 0)).toBeLessThanOrEqual(LIMIT);
    expect(sentEnvelopes()).toEqual(envelopes);
  });

  it('splits a 5,000-record envelope of about 700 KB into messages under the limit whose records concatenate back to the original', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(takeAll);
    const records = Array.from({ length: 5_000 }, (_, i) => ({
      deviceId: `freezer-${i % 40}`,
      timestamp: new Date(T0 + i * 1000).toISOString(),
      temperature: -18 - (i % 17) / 10,
      note: `reading ${i} ${'·'.repeat(30)}`,
    }));
    const original = envelope('freezers', records, { source: 'pull', deviceId: 'gateway-7' });
    expect(Buffer.byteLength(encodeEnvelope(original))).toBeGreaterThan(650_000);

    await makeQueue().send([original]);

    const bodies = calls().flatMap(bodiesOf);
    expect(bodies.length).toBeGreaterThanOrEqual(3);
    for (const b of bodies) expect(Buffer.byteLength(b)).toBeLessThanOrEqual(LIMIT);
    for (const c of calls()) expect(bodiesOf(c).reduce((n, b) => n + Buffer.byteLength(b), 0)).toBeLessThanOrEqual(LIMIT);
    const parts = bodies.map(decodeEnvelopeBody);
    for (const p of parts) expect({ ...p, records: [] }).toEqual({ ...original, records: [] });
    expect(parts.flatMap((p) => p.records)).toEqual(records);
  });

  it('refuses a single record larger than a message before calling SQS, instead of looping', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(takeAll);
    const failure = await makeQueue().send([envelope('s', [{ ok: 1 }, { huge: 'x'.repeat(LIMIT) }])]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PayloadTooLargeError);
    expect((failure as Error).message).toMatch(/^Record 1 is \d+ bytes/);
    expect(calls()).toHaveLength(0);
  });

  it('escapes U+FFFF, which SQS refuses in a body, and the record decodes to the same string', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(takeAll);
    const original = envelope('s', [{ label: 'a\uFFFFb\uFFFEc' }]);
    await makeQueue().send([original]);
    const [body] = calls().flatMap(bodiesOf);
    expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(decodeEnvelopeBody(body!)).toEqual(original);
  });
});

describe('SqsIngestQueue.send: failures', () => {
  it('sends again only the entries that failed on the SQS side, then resolves', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .callsFakeOnce((input: SendMessageBatchCommandInput) => ({
        $metadata: {},
        Successful: input.Entries!.filter((e) => e.Id !== '1' && e.Id !== '3').map((e) => ({ Id: e.Id!, MessageId: 'm', MD5OfMessageBody: 'x' })),
        Failed: [
          { Id: '1', SenderFault: false, Code: 'InternalError', Message: 'Internal error' },
          { Id: '3', SenderFault: false, Code: 'ServiceUnavailable', Message: 'try again' },
        ],
      }))
      .callsFake(takeAll);
    const envelopes = Array.from({ length: 5 }, (_, i) => envelope(`s${i}`, [{ i }]));

    await makeQueue().send(envelopes);

    expect(calls()).toHaveLength(2);
    expect(bodiesOf(calls()[1]!).map((b) => decodeEnvelopeBody(b).streamId)).toEqual(['s1', 's3']);
    expect(sleeps).toHaveLength(1);
  });

  it('retries a throttled call as a whole', async () => {
    sqs.on(SendMessageBatchCommand).rejectsOnce(new RequestThrottled({ message: 'Rate exceeded', $metadata: {} })).callsFake(takeAll);
    await makeQueue().send([envelope('s', [1])]);
    expect(calls()).toHaveLength(2);
  });

  it('throws QueueUnavailableError with the failed entry as cause when SQS calls it the sender\'s fault', async () => {
    const entry = { Id: '0', SenderFault: true, Code: 'InvalidMessageContents', Message: 'Invalid characters found.' };
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [entry] });
    const failure = await makeQueue().send([envelope('s', [1])]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QueueUnavailableError);
    expect((failure as QueueUnavailableError).message).toContain('InvalidMessageContents');
    expect((failure as QueueUnavailableError).cause).toEqual(entry);
    expect(calls()).toHaveLength(1);
  });

  it('throws QueueUnavailableError after maxAttempts when SQS keeps failing an entry', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '0', SenderFault: false, Code: 'InternalError' }] });
    const failure = await makeQueue(3).send([envelope('s', [1])]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QueueUnavailableError);
    expect((failure as Error).message).toBe('SQS did not take 1 of 1 messages after 3 attempts.');
    expect(calls()).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it('does not retry a missing queue', async () => {
    const error = new QueueDoesNotExist({ message: 'The specified queue does not exist.', $metadata: {} });
    sqs.on(SendMessageBatchCommand).rejects(error);
    const failure = await makeQueue().send([envelope('s', [1])]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QueueUnavailableError);
    expect((failure as QueueUnavailableError).cause).toBe(error);
    expect(calls()).toHaveLength(1);
  });

  it('does not treat an entry SQS left out of both lists as taken', async () => {
    sqs.on(SendMessageBatchCommand).resolvesOnce({ Successful: [], Failed: [] }).callsFake(takeAll);
    await makeQueue().send([envelope('s', [1])]);
    expect(calls()).toHaveLength(2);
  });
});

// ---- the IoT topic rule's message -------------------------------------------------------------------------

/** What `SELECT encode(*, 'base64') AS payload, topic(2) AS streamId, clientid() AS deviceId, timestamp() AS receivedAt` sends. */
const iotMessage = (payload: string | Buffer, extra: Record<string, unknown> = {}) => ({
  payload: (typeof payload === 'string' ? Buffer.from(payload) : payload).toString('base64'),
  streamId: 'freezers',
  deviceId: 'freezer-1',
  receivedAt: 1767225600123,
  ...extra,
});

describe('decodeQueueMessage: IoT topic rule messages', () => {
  it('reads a JSON object payload as one MQTT record of the topic\'s stream, from the client, at the rule\'s time', () => {
    expect(decodeQueueMessage(JSON.stringify(iotMessage('{"temperature":-18.5}')))).toEqual({
      ok: true,
      envelope: { streamId: 'freezers', receivedAt: 1767225600123, source: 'mqtt', deviceId: 'freezer-1', records: [{ temperature: -18.5 }], unprocessed: true, payload: Buffer.from('{"temperature":-18.5}') },
    });
  });

  it('reads a JSON array payload as one record per element', () => {
    const decoded = decodeQueueMessage(JSON.stringify(iotMessage('[{"t":1},{"t":2}]')));
    expect(decoded.ok && decoded.envelope.records).toEqual([{ t: 1 }, { t: 2 }]);
  });

  it('passes any other JSON value on as one record, for the writer\'s validation to refuse and count', () => {
    const decoded = decodeIotRuleMessage(iotMessage('42'));
    expect(decoded.ok && decoded.envelope.records).toEqual([42]);
  });

  it('keeps a payload that is not JSON, with why, for the writer to decode in the stream\'s mqttFormat or count, without throwing', () => {
    const decoded = decodeQueueMessage(JSON.stringify(iotMessage('{"temperature": -18.5')));
    expect(decoded).toMatchObject({ ok: true, envelope: { streamId: 'freezers', records: [], payloadProblem: expect.stringContaining('not JSON') } });
    expect(decoded.ok && decoded.envelope.payload?.toString()).toBe('{"temperature": -18.5');
  });

  it('reports a payload that is not valid base64, and keeps one that is not UTF-8 (MessagePack, CBOR, protobuf) as bytes', () => {
    expect(decodeIotRuleMessage({ ...iotMessage(''), payload: 'not base64!' })).toEqual({ ok: false, streamId: 'freezers', reason: 'the MQTT payload is not valid base64' });
    const binary = decodeIotRuleMessage(iotMessage(Buffer.from([0xff, 0xfe, 0x7b])));
    expect(binary).toMatchObject({ ok: true, envelope: { records: [], payloadProblem: 'the MQTT payload is not UTF-8 text' } });
    expect(binary.ok && [...binary.envelope.payload!]).toEqual([0xff, 0xfe, 0x7b]);
  });

  it('reports a rule message whose topic is not a stream id without a stream to count it against', () => {
    const decoded = decodeQueueMessage(JSON.stringify(iotMessage('{}', { streamId: '../admin' })));
    expect(decoded.ok).toBe(false);
    expect(decoded).not.toHaveProperty('streamId');
  });
});

describe('decodeQueueMessage: envelopes and unreadable bodies', () => {
  it('reads back what SqsIngestQueue sends', () => {
    const original = envelope('freezers', [{ a: 1 }, null, 'x'], { deviceId: 'd1' });
    expect(decodeQueueMessage(encodeEnvelope(original))).toEqual({ ok: true, envelope: original });
  });

  it('reports a body that is not JSON', () => {
    expect(decodeQueueMessage('<xml/>')).toEqual({ ok: false, reason: 'the message body is not JSON' });
  });

  it('reports an envelope with a bad field, keeping its stream id and naming the field', () => {
    const decoded = decodeQueueMessage(JSON.stringify({ streamId: 'freezers', receivedAt: 'soon', source: 'http', records: [] }));
    expect(decoded).toEqual({ ok: false, streamId: 'freezers', reason: expect.stringContaining('receivedAt') });
  });
});

describe('the processing stage\'s filtered count in queue messages', () => {
  it('travels with the envelope, and in the first message only when the records are split', () => {
    const envelope: IngestEnvelope = { streamId: 'freezers', receivedAt: 1767225600000, source: 'http', records: Array.from({ length: 50 }, (_, i) => ({ t: i, pad: 'x'.repeat(100) })), filtered: 7 };
    const bodies = encodeEnvelopeMessages(envelope, 1024);
    expect(bodies.length).toBeGreaterThan(2);
    const decoded = bodies.map(decodeEnvelopeBody);
    expect(decoded.map((e) => e.filtered)).toEqual([7, ...decoded.slice(1).map(() => undefined)]);
    expect(decoded.flatMap((e) => e.records)).toEqual(envelope.records);
    expect(decodeEnvelopeBody(encodeEnvelope({ ...envelope, records: [] }))).toEqual({ streamId: 'freezers', receivedAt: 1767225600000, source: 'http', records: [], filtered: 7 });
  });
});
