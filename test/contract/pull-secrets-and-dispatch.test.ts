import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../functions/pull-dispatcher/app';
import { PULL_SECRET_PREFIX, SecretsManagerSecretSource } from '../../shared/aws/secrets-manager-source';
import { decodePullMessage, sqsPullDispatch } from '../../shared/aws/sqs-pull-dispatch';
import { QueueUnavailableError } from '../../shared/domain/errors';
import { SecretUnavailableError } from '../../shared/domain/pull-errors';
import { FileSecretSource } from '../../shared/local/file-secret-source';
import { silentLog, usePullWorld } from '../fixtures/pull-world';

describe('FileSecretSource (local secrets)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-secrets-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads TRIBUTARY_SECRET_<NAME> first, then secrets.json', async () => {
    const file = join(dir, 'secrets.json');
    await writeFile(file, JSON.stringify({ A: 'from-file', B: 'file-b' }), { mode: 0o600 });
    const source = new FileSecretSource({ env: { TRIBUTARY_SECRET_A: 'from-env' }, file });
    expect(await source.get(['A', 'B'])).toEqual({ A: 'from-env', B: 'file-b' });
  });

  it('names a missing secret and where to put it', async () => {
    const source = new FileSecretSource({ env: {}, file: join(dir, 'absent.json') });
    await expect(source.get(['MISSING'])).rejects.toThrow(/TRIBUTARY_SECRET_MISSING/);
  });

  it('refuses a secrets file that others may read', async () => {
    const file = join(dir, 'open.json');
    await writeFile(file, JSON.stringify({ A: 'x' }));
    await chmod(file, 0o644);
    await expect(new FileSecretSource({ env: {}, file }).get(['A'])).rejects.toThrow(/chmod 600/);
  });
});

describe('SecretsManagerSecretSource (responses shaped from the API reference)', () => {
  it('reads tributary/pull/<NAME> and caches it', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand, { SecretId: `${PULL_SECRET_PREFIX}TOKEN` }).resolves({ Name: `${PULL_SECRET_PREFIX}TOKEN`, SecretString: 's3cr3t', VersionId: 'v1' });
    const source = new SecretsManagerSecretSource({ client: new SecretsManagerClient({}), prefix: PULL_SECRET_PREFIX });
    expect(await source.get(['TOKEN'])).toEqual({ TOKEN: 's3cr3t' });
    await source.get(['TOKEN']);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    sm.restore();
  });

  it('turns ResourceNotFoundException into a SecretUnavailableError naming the secret id', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
    const source = new SecretsManagerSecretSource({ client: new SecretsManagerClient({}), prefix: PULL_SECRET_PREFIX });
    const err = await source.get(['NOPE']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretUnavailableError);
    expect((err as Error).message).toMatch(/tributary\/pull\/NOPE/);
    sm.restore();
  });
});

describe('sqsPullDispatch (responses shaped from the API reference)', () => {
  it('sends one message per stream, ten per batch, that the pull function reads back', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({ Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m${e.Id}`, MD5OfMessageBody: 'x' })), Failed: [] }));
    const ids = Array.from({ length: 13 }, (_, i) => `s${i}`);
    await sqsPullDispatch(new SQSClient({}), 'https://sqs.eu-west-1.amazonaws.com/123/pulls')(ids);
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries!.length)).toEqual([10, 3]);
    expect(calls.flatMap((c) => c.args[0].input.Entries!.map((e) => decodePullMessage(e.MessageBody!)?.streamId))).toEqual(ids);
    sqs.restore();
  });

  it('delays each message of a later run within the tick by delaySeconds', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({ Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m${e.Id}`, MD5OfMessageBody: 'x' })), Failed: [] }));
    const dispatch = sqsPullDispatch(new SQSClient({}), 'https://sqs.eu-west-1.amazonaws.com/123/pulls');
    await dispatch(['line-7']);
    await dispatch(['line-7', 'line-8'], 20);
    const entries = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!.map((e) => e.DelaySeconds));
    expect(entries).toEqual([[undefined], [20, 20]]);
    sqs.restore();
  });

  it('fails when SQS reports an entry it did not take', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '0', SenderFault: false, Code: 'InternalError' }] });
    await expect(sqsPullDispatch(new SQSClient({}), 'https://sqs.eu-west-1.amazonaws.com/123/pulls')(['a'])).rejects.toBeInstanceOf(QueueUnavailableError);
    sqs.restore();
  });
});

describe('the dispatcher on dynalite', () => {
  const world = usePullWorld();

  it('dispatches each due run once, even with two dispatchers, and skips paused and push streams', async () => {
    const source = (schedule: string) => ({ kind: 'api_pull', url: 'https://api.example.com/x', schedule });
    const schema = { v: { type: 'number' } };
    await world.create({ id: 'every-5', name: 'a', type: 'api_pull', schema, source: source('rate(5 minutes)') });
    await world.create({ id: 'noon', name: 'b', type: 'api_pull', schema, source: source('cron(0 12 * * ? *)') });
    const paused = await world.create({ id: 'paused', name: 'c', type: 'api_pull', schema, source: source('rate(1 minute)') });
    await world.registry.update({ ...paused, state: 'paused', version: paused.version + 1 });
    await world.create({ id: 'push', name: 'd', type: 'iot_sensor', schema });

    const dispatched: string[] = [];
    const make = () => makeDispatcher({ registry: world.registry, state: world.state, clock: world.clock, log: silentLog, dispatch: async (ids) => void dispatched.push(...ids) });
    const [a, b] = [make(), make()];

    world.clock.set(Date.parse('2026-12-01T12:00:30.000Z')); // streams were created at 12:00:00
    await Promise.all([a(), b()]);
    expect(dispatched.sort()).toEqual(['every-5']); // noon's first match is 12:00 tomorrow (created at 12:00:00 exactly)
    expect((await world.state.get('every-5'))?.nextRunAt).toBe('2026-12-01T12:05:30.000Z');

    world.clock.set(Date.parse('2026-12-01T12:03:00.000Z'));
    await Promise.all([a(), b()]);
    expect(dispatched).toHaveLength(1);

    world.clock.set(Date.parse('2026-12-02T12:00:10.000Z'));
    await Promise.all([a(), b()]);
    expect(dispatched.sort()).toEqual(['every-5', 'every-5', 'noon']);
    expect((await world.state.get('noon'))?.nextRunAt).toBe('2026-12-03T12:00:00.000Z');

    // a changed schedule counts from the change: noon becomes 12:30 the same day, not tomorrow's noon
    const noon = (await world.registry.get('noon'))!;
    world.clock.set(Date.parse('2026-12-02T12:10:00.000Z'));
    await world.registry.update({ ...noon, source: { ...noon.source!, schedule: 'cron(30 12 * * ? *)' }, updatedAt: new Date(world.clock.now()).toISOString(), version: noon.version + 1 });
    await a();
    expect(await world.state.get('noon')).toMatchObject({ nextRunAt: '2026-12-02T12:30:00.000Z', schedule: 'cron(30 12 * * ? *)' });
    expect(dispatched.filter((id) => id === 'noon')).toHaveLength(1);
    world.clock.set(Date.parse('2026-12-02T12:30:05.000Z'));
    await a();
    expect(dispatched.filter((id) => id === 'noon')).toHaveLength(2);
  });

  it('spreads a 10-second poll over EventBridge\'s minute: six runs 10 s apart per tick, each once with two dispatchers', async () => {
    const schema = { lineSpeed: { type: 'number' }, timestamp: { type: 'datetime' } };
    const source = { kind: 'modbus_tcp', host: '10.0.0.7', registers: { lineSpeed: 40002 }, schedule: 'rate(10 seconds)' };
    await world.create({ id: 'line-7', name: 'l', type: 'iot_sensor', schema, source });
    const runs: { id: string; delay: number }[] = [];
    const make = () =>
      makeDispatcher({ registry: world.registry, state: world.state, clock: world.clock, log: silentLog, tickMs: 60_000, dispatch: async (ids, delay) => void runs.push(...ids.map((id) => ({ id, delay: delay ?? 0 }))) });
    const [a, b] = [make(), make()];
    world.clock.set(Date.parse('2026-12-01T12:00:30.000Z'));
    await Promise.all([a(), b()]);
    expect(runs).toEqual([0, 10, 20, 30, 40, 50].map((delay) => ({ id: 'line-7', delay })));
    expect((await world.state.get('line-7'))?.nextRunAt).toBe('2026-12-01T12:01:30.000Z');
    world.clock.set(Date.parse('2026-12-01T12:01:30.500Z'));
    await a();
    expect(runs).toHaveLength(12);
  });

  it('dispatches a 10-second poll once per tick on its 10 s grid when the tick is finer (one machine)', async () => {
    const schema = { lineSpeed: { type: 'number' }, timestamp: { type: 'datetime' } };
    await world.create({ id: 'line-9', name: 'l', type: 'iot_sensor', schema, source: { kind: 'modbus_tcp', host: '10.0.0.9', registers: { lineSpeed: 40002 }, schedule: 'rate(10 seconds)' } });
    const dispatched: string[] = [];
    const tick = makeDispatcher({ registry: world.registry, state: world.state, clock: world.clock, log: silentLog, dispatch: async (ids) => void dispatched.push(...ids) });
    world.clock.set(Date.parse('2026-12-01T12:00:00.300Z'));
    await tick();
    expect((await world.state.get('line-9'))?.nextRunAt).toBe('2026-12-01T12:00:10.000Z');
    world.clock.set(Date.parse('2026-12-01T12:00:05.300Z'));
    await tick();
    world.clock.set(Date.parse('2026-12-01T12:00:10.200Z'));
    await tick();
    expect(dispatched).toEqual(['line-9', 'line-9']);
    expect((await world.state.get('line-9'))?.nextRunAt).toBe('2026-12-01T12:00:20.000Z');
  });
});
