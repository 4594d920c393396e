import { describe, expect, it } from 'vitest';
import { dedupe, MAX_SEEN_KEYS } from '../../functions/pull/dedupe';
import { compareCursor } from '../../functions/pull/database-source';
import { BadRequestError } from '../../shared/domain/errors';
import { PullFailedError, SecretUnavailableError } from '../../shared/domain/pull-errors';
import { classifyAddress, firstRunAt, nextRunAfter, parseSchedule, refusalReason, resolveSecretRefs, secretNames, PullSourceSchema, redactSecrets } from '../../shared/domain/pull-source';
import { applyPatch, newStream, parseStreamInput, parseStreamPatch } from '../../shared/domain/stream-definition';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('parseSchedule', () => {
  it('reads EventBridge rates in minutes, hours and days', () => {
    expect(parseSchedule('rate(1 minute)')).toMatchObject({ kind: 'rate', everyMs: 60_000 });
    expect(parseSchedule('rate(5 minutes)')).toMatchObject({ kind: 'rate', everyMs: 300_000 });
    expect(parseSchedule('rate(2 hours)')).toMatchObject({ kind: 'rate', everyMs: 7_200_000 });
    expect(parseSchedule('rate(1 day)')).toMatchObject({ kind: 'rate', everyMs: 86_400_000 });
  });

  it('refuses rates EventBridge refuses', () => {
    expect(() => parseSchedule('rate(0 minutes)')).toThrow(/at least 1/);
    expect(() => parseSchedule('rate(1 minutes)')).toThrow(/rate\(1 minute\)/);
    expect(() => parseSchedule('rate(5 minute)')).toThrow(/rate\(5 minutes\)/);
    expect(() => parseSchedule('rate(30 second)')).toThrow(/rate\(30 seconds\)/);
    expect(() => parseSchedule('rate(30 secs)')).toThrow(/EventBridge schedule/);
  });

  it('reads Tributary\'s rates in seconds (5 to 59), for polled devices, and refuses shorter or longer ones', () => {
    expect(parseSchedule('rate(10 seconds)')).toMatchObject({ kind: 'rate', everyMs: 10_000 });
    expect(parseSchedule('rate(5 seconds)')).toMatchObject({ kind: 'rate', everyMs: 5_000 });
    expect(() => parseSchedule('rate(4 seconds)')).toThrow(/5 to 59 seconds/);
    expect(() => parseSchedule('rate(1 second)')).toThrow(/5 to 59 seconds/);
    expect(() => parseSchedule('rate(60 seconds)')).toThrow(/in minutes/);
  });

  it('turns a 6-field EventBridge cron into a 7-field croner pattern, ? as *', () => {
    expect(parseSchedule('cron(0/15 8-17 ? * MON-FRI *)')).toMatchObject({ kind: 'cron', pattern: '0 0/15 8-17 * * MON-FRI *' });
    expect(parseSchedule('cron(0 12 1 * ? 2027)')).toMatchObject({ pattern: '0 0 12 1 * * 2027' });
  });

  it('refuses a cron without exactly one ? day field, with 5 fields, or with a bad value', () => {
    expect(() => parseSchedule('cron(0 12 * * * *)')).toThrow(/exactly one of day-of-month and day-of-week/);
    expect(() => parseSchedule('cron(0 12 ? * ? *)')).toThrow(/exactly one/);
    expect(() => parseSchedule('cron(0 12 * * ?)')).toThrow(/6 fields/);
    expect(() => parseSchedule('cron(61 12 * * ? *)')).toThrow(/invalid cron/);
  });
});

describe('nextRunAfter', () => {
  it('fires EventBridge crons in UTC with weekdays 1-7 = SUN-SAT', () => {
    const friday = at('2026-12-04T10:00:00Z');
    expect(iso(nextRunAfter(parseSchedule('cron(0 12 ? * 1 *)'), friday))).toBe('2026-12-06T12:00:00.000Z'); // Sunday
    expect(iso(nextRunAfter(parseSchedule('cron(0 12 ? * MON-FRI *)'), friday))).toBe('2026-12-04T12:00:00.000Z');
    expect(iso(nextRunAfter(parseSchedule('cron(0/15 * * * ? *)'), at('2026-12-04T10:07:00Z')))).toBe('2026-12-04T10:15:00.000Z');
    expect(iso(nextRunAfter(parseSchedule('cron(0 0 L * ? *)'), friday))).toBe('2026-12-31T00:00:00.000Z');
  });

  it('adds the rate to the previous run and never fires a cron whose year has passed', () => {
    expect(nextRunAfter(parseSchedule('rate(5 minutes)'), 1_000)).toBe(301_000);
    expect(nextRunAfter(parseSchedule('cron(0 12 1 1 ? 2020)'), at('2026-01-01T00:00:00Z'))).toBeUndefined();
  });

  it('makes a new rate stream due at once and a new cron stream at its first match', () => {
    const created = at('2026-12-04T10:07:00Z');
    expect(firstRunAt(parseSchedule('rate(1 hour)'), created)).toBe(created);
    expect(iso(firstRunAt(parseSchedule('cron(0 12 * * ? *)'), created))).toBe('2026-12-04T12:00:00.000Z');
  });
});

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.1.2.3', 'private'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['224.0.0.1', 'reserved'],
    ['not an address', 'reserved'],
    ['172.32.0.1', 'public'],
    ['93.184.216.34', 'public'],
    ['2606:4700::1111', 'public'],
  ])('classifies %s as %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('allows private addresses only when the stream opts in, loopback only when the runtime does, link-local never', () => {
    const none = { allowPrivate: false, allowLoopback: false };
    const all = { allowPrivate: true, allowLoopback: true };
    expect(refusalReason('10.0.0.1', none)).toMatch(/allowPrivateTargets/);
    expect(refusalReason('10.0.0.1', { ...none, allowPrivate: true })).toBeUndefined();
    expect(refusalReason('127.0.0.1', { ...none, allowPrivate: true })).toMatch(/loopback/);
    expect(refusalReason('127.0.0.1', { ...none, allowLoopback: true })).toBeUndefined();
    expect(refusalReason('169.254.169.254', all)).toMatch(/link-local/);
    expect(refusalReason('0.0.0.0', all)).toMatch(/unspecified/);
    expect(refusalReason('8.8.8.8', none)).toBeUndefined();
  });
});

describe('pull sources in stream definitions', () => {
  const schema = { v: { type: 'number' } };
  const api = { kind: 'api_pull', url: 'https://api.example.com/v1/x?key=${secret:API_KEY}', schedule: 'rate(5 minutes)', headers: { authorization: 'Bearer ${secret:TOKEN}' } };

  it('fills the defaults of an api_pull source', () => {
    const input = parseStreamInput({ name: 'x', type: 'api_pull', schema, source: api });
    expect(input.source).toMatchObject({ method: 'GET', timeoutMs: 10_000, maxBytes: 5 * 1024 * 1024, allowPrivateTargets: false });
  });

  it('reports each problem with its path', () => {
    const bad = () =>
      parseStreamInput({
        name: 'x',
        type: 'api_pull',
        schema,
        source: { ...api, url: 'ftp://x', timeoutMs: 60_000, headers: { 'bad header': 'x', ok: '${secret:no-dash}' }, dedupe: { key: [] } },
      });
    expect(bad).toThrow(BadRequestError);
    try {
      bad();
    } catch (err) {
      const paths = (err as BadRequestError).issues.map((i) => i.path.join('.'));
      expect(paths).toEqual(expect.arrayContaining(['source.url', 'source.timeoutMs', 'source.headers.bad header', 'source.headers.ok', 'source.dedupe.key']));
    }
  });

  it('requires the source kind to match the stream type', () => {
    expect(() => parseStreamInput({ name: 'x', type: 'database', schema, source: api })).toThrow(BadRequestError);
  });

  it('keeps a database password out of the definition: only a secret reference is accepted', () => {
    const db = (password: string) => ({
      kind: 'database',
      engine: 'postgresql',
      connection: { host: 'db.internal', database: 'inv', user: 'reader', password },
      query: 'SELECT * FROM t WHERE id > $1',
      incrementalColumn: 'id',
      schedule: 'rate(1 hour)',
    });
    expect(PullSourceSchema.safeParse(db('${secret:PG}')).success).toBe(true);
    expect(PullSourceSchema.safeParse(db('hunter2')).success).toBe(false);
    expect(PullSourceSchema.safeParse({ ...db('${secret:PG}'), query: 'SELECT * FROM t' }).success).toBe(false);
    expect(PullSourceSchema.safeParse({ ...db('${secret:PG}'), query: 'SELECT * FROM t WHERE id > $1 AND x = $2' }).success).toBe(false);
  });

  it('lists and fills secret references', () => {
    const source = PullSourceSchema.parse(api);
    expect(secretNames(source).sort()).toEqual(['API_KEY', 'TOKEN']);
    expect(resolveSecretRefs('Bearer ${secret:TOKEN}', { TOKEN: 'abc' })).toBe('Bearer abc');
  });

  it('replaces the source on patch and checks it again', () => {
    const stream = newStream(parseStreamInput({ name: 'x', type: 'api_pull', schema, source: api }), new Date(0), () => 'a');
    const next = applyPatch(stream, parseStreamPatch({ source: { ...api, schedule: 'rate(1 hour)' } }), new Date(1));
    expect(next.source?.schedule).toBe('rate(1 hour)');
    expect(() => parseStreamPatch({ source: { ...api, schedule: 'hourly' } })).toThrow(BadRequestError);
  });
});

describe('dedupe', () => {
  const rec = (sensor: string) => ({ sensor });

  it('drops a key already sent with the same or an older time, keeps newer ones', () => {
    const first = dedupe([rec('a'), rec('b')], [100, 100], ['sensor'], {});
    expect(first.keep).toEqual([0, 1]);
    const second = dedupe([rec('a'), rec('a'), rec('b')], [100, 200, 50], ['sensor'], first.seen);
    expect(second.keep).toEqual([1]);
    expect(second.deduped).toBe(2);
  });

  it('keeps several times of one key in one run, in any order, and drops exact repeats', () => {
    const r = dedupe([rec('a'), rec('a'), rec('a'), rec('a')], [300, 100, 200, 300], ['sensor'], {});
    expect(r.keep).toEqual([0, 1, 2]);
    expect(Object.values(r.seen)).toEqual([300]);
  });

  it('keeps its memory bounded to the newest keys', () => {
    const n = MAX_SEEN_KEYS + 10;
    const r = dedupe(Array.from({ length: n }, (_, i) => rec(`k${i}`)), Array.from({ length: n }, (_, i) => i), ['sensor'], {});
    expect(Object.keys(r.seen)).toHaveLength(MAX_SEEN_KEYS);
    expect(Math.min(...Object.values(r.seen))).toBe(10);
  });
});

describe('compareCursor', () => {
  it('orders numbers and bigint text numerically, timestamps as text', () => {
    expect(compareCursor(10, 9)).toBeGreaterThan(0);
    expect(compareCursor('9007199254740993', '9007199254740992')).toBe(1);
    expect(compareCursor('10', '9')).toBe(1);
    expect(compareCursor('2026-12-01T10:00:00.000Z', '2026-12-01T09:00:00.000Z')).toBe(1);
  });
});

describe('pull errors', () => {
  it('keep their name, stable code, cause and issues', () => {
    const cause = new Error('ECONNREFUSED');
    const failed = new PullFailedError('records.invalid', 'bad', { cause, issues: [{ index: 2, path: ['t'], message: 'must be a number' }] });
    expect(failed).toMatchObject({ name: 'PullFailedError', code: 'records.invalid', cause, issues: [{ index: 2, path: ['t'] }] });
    expect(new PullFailedError('db.auth', 'no').issues).toEqual([]);
    const secret = new SecretUnavailableError('TOKEN', 'not set', { cause });
    expect(secret).toMatchObject({ name: 'SecretUnavailableError', code: 'secret.unavailable', secretName: 'TOKEN', cause });
    expect(secret.message).toBe("secret 'TOKEN' is unavailable: not set");
  });
});

describe('redactSecrets', () => {
  it('hides every secret value, plain and URL-encoded, and leaves the rest of the message as it was', () => {
    const secrets = { KEY: 's3cr3t/+key', TOKEN: 'tok-123456' };
    const message = 'more than 5 redirects from https://api.example/r?key=s3cr3t%2F%2Bkey&t=tok-123456 (Bearer tok-123456)';
    expect(redactSecrets(message, secrets)).toBe('more than 5 redirects from https://api.example/r?key=***&t=*** (Bearer ***)');
  });

  it('leaves values too short to find without hiding ordinary words', () => {
    expect(redactSecrets('port 5432 refused', { PORT: '54' })).toBe('port 5432 refused');
  });
});
