import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SETTINGS } from '../../infra/local/config';
import { freePort } from '../fixtures/runtime-process';
import { answerMatches, readWalkthrough } from '../fixtures/readme-walkthrough';

/**
 * The README's walkthrough, pasted as written into bash against a fresh `npm start`: the only change made to
 * the blocks is the ports (3000, 1883 and 8080 become free ones). It runs in a directory that links to the
 * repository's files, so `.tributary` and `receiver.log` are fresh and the checkout stays clean.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const steps = readWalkthrough(README);

/**
 * The walkthrough's prerequisites (README: curl and jq). CI starts on a clean machine: install what is
 * missing from Debian, as the README tells a newcomer to.
 */
function ensureTools(tools: string[]): void {
  const missing = tools.filter((t) => {
    try {
      execFileSync('bash', ['-c', `command -v ${t}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return;
  execFileSync('bash', ['-c', `apt-get update -qq && apt-get install -y -qq ${missing.join(' ')}`], { stdio: 'inherit', timeout: 240_000 });
}

interface Shell {
  child: ChildProcess;
  out: string;
}

describe('README walkthrough, run as written', () => {
  let dir: string;
  let env: Record<string, string>;
  let ports: { http: number; mqtt: number; receiver: number };
  let shell: Shell;
  const terminals = new Map<string, Shell>();

  const substitute = (text: string) =>
    text
      .replaceAll('127.0.0.1:3000', `127.0.0.1:${ports.http}`)
      .replaceAll('127.0.0.1:1883', `127.0.0.1:${ports.mqtt}`)
      .replaceAll('-p 1883', `-p ${ports.mqtt}`)
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.receiver}`)
      .replaceAll('--port 8080', `--port ${ports.receiver}`);

  const spawnShell = (args: string[]): Shell => {
    const child = spawn('bash', args, { cwd: dir, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const s: Shell = { child, out: '' };
    child.stdout!.on('data', (d: Buffer) => (s.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (s.out += d.toString()));
    return s;
  };

  /** Runs a block in the walkthrough's shell; resolves with what it printed. */
  const run = (script: string, ms = 60_000): Promise<string> => {
    const marker = `__STEP_${randomUUID()}__`;
    const from = shell.out.length;
    shell.child.stdin!.write(`${script}\nprintf '\\n${marker}\\n'\n`);
    return new Promise((resolvePrinted, reject) => {
      const until = Date.now() + ms;
      const poll = setInterval(() => {
        const at = shell.out.indexOf(marker, from);
        if (at >= 0) {
          clearInterval(poll);
          resolvePrinted(shell.out.slice(from, at));
        } else if (Date.now() > until || shell.child.exitCode !== null) {
          clearInterval(poll);
          reject(new Error(`the block did not finish within ${ms} ms; it printed:\n${shell.out.slice(from)}`));
        }
      }, 20);
    });
  };

  beforeAll(async () => {
    ensureTools(['curl', 'jq']);
    dir = await mkdtemp(join(tmpdir(), 'tributary-readme-'));
    for (const name of readdirSync(ROOT)) {
      if (!['.git', '.tributary', 'receiver.log', 'cdk.out'].includes(name)) await symlink(join(ROOT, name), join(dir, name));
    }
    ports = { http: await freePort(), mqtt: await freePort(), receiver: await freePort() };
    // a fresh terminal: none of this process's runtime settings or npm's variables
    env = Object.fromEntries(
      Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^(TRIBUTARY_|npm_|VITEST|RECEIVER_)/.test(k) && !['PORT', 'MQTT_PORT', 'NODE_ENV', 'NODE_OPTIONS'].includes(k)),
    ) as Record<string, string>;
    Object.assign(env, { PORT: String(ports.http), MQTT_PORT: String(ports.mqtt) });
    shell = spawnShell(['--noprofile', '--norc']);
    shell.child.stdin!.write('exec 2>&1\n');
  }, 300_000);

  afterAll(async () => {
    for (const s of [shell, ...terminals.values()]) {
      if (s?.child.pid && s.child.exitCode === null) {
        try {
          process.kill(-s.child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    await new Promise((r) => setTimeout(r, 1_000));
    for (const s of [shell, ...terminals.values()]) {
      try {
        if (s?.child.pid) process.kill(-s.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has a walkthrough whose every block but the last shows its answer', () => {
    expect(steps.length).toBeGreaterThan(10);
    expect(steps.slice(0, -1).filter((s) => s.expected === undefined).map((s) => s.line)).toEqual([]);
  });

  for (const [i, step] of steps.entries()) {
    const title = `step ${i + 1} (README line ${step.line}): ${step.script.split('\n')[0]!.slice(0, 80)}`;
    it(
      title,
      async () => {
        const script = substitute(step.script);
        const expected = step.expected === undefined ? undefined : substitute(step.expected);
        if (step.terminal) {
          const t = spawnShell(['-c', script]);
          terminals.set(step.terminal, t);
          const until = Date.now() + 90_000;
          while (!(expected && answerMatches(expected, t.out, { within: true }))) {
            if (!expected) return;
            if (t.child.exitCode !== null || Date.now() > until) {
              throw new Error(`terminal '${step.terminal}' did not print the README's lines.\nexpected:\n${expected}\nprinted:\n${t.out}`);
            }
            await new Promise((r) => setTimeout(r, 100));
          }
          return;
        }
        const until = Date.now() + (step.eventually ? 30_000 : 0);
        for (;;) {
          const printed = await run(script);
          if (expected === undefined || answerMatches(expected, printed)) return;
          if (Date.now() >= until) {
            expect.fail(`the answer differs from the README's.\nexpected:\n${expected}\nprinted:\n${printed}`);
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      },
      120_000,
    );
  }
});

describe('README and code agree', () => {
  it('lists every local setting in the Settings table', () => {
    const table = README.slice(README.indexOf('## Settings'), README.indexOf('## Deploy to AWS'));
    for (const s of LOCAL_SETTINGS) expect(table, s.name).toContain(`| \`${s.name}\` |`);
  });

  it('compares answers exactly but for the placeholders, so a changed value fails', () => {
    const shown = '{"accepted":2}\n{"state":"active","lastDataAt":"<time>","pointsTotal":3}';
    expect(answerMatches(shown, '{"accepted":2}\n{"state":"active","lastDataAt":"2026-12-03T07:35:17.206Z","pointsTotal":3}\n')).toBe(true);
    expect(answerMatches(shown, '{"accepted":2}\n{"state":"active","lastDataAt":"2026-12-03T07:35:17.206Z","pointsTotal":4}')).toBe(false);
    expect(answerMatches(shown, '{"accepted":2}')).toBe(false);
    expect(answerMatches('<token>', 'trb_abc-DEF_123')).toBe(true);
    expect(answerMatches('<token>', 'null')).toBe(false);
    expect(answerMatches('a\nb', 'npm says\na\nb\nmore', { within: true })).toBe(true);
    expect(answerMatches('a\nb', 'a\nx\nb', { within: true })).toBe(false);
  });
});
