/**
 * `linkwatch agent --once` checks what the real run needs and exits 2 naming what is missing; the real start refuses
 * the same way, without a stack trace. Run as the CLI in a child process, as an unprivileged user: as root, through
 * setpriv as `nobody` (root may write anywhere); otherwise as the user running the tests.
 * ICMP not permitted is checked where it can be made so, in systemd-unit.test.ts (a namespace at ping_group_range 1 0).
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/linkwatch.js');
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** Runs the CLI as the unprivileged user; resolves with the exit code and everything it printed. */
function run(args: string[]): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  const cmd = isRoot ? ['setpriv', '--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => child.once('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, output, ms: Date.now() - started });
  }));
}

describe.skipIf(process.platform === 'win32')('the agent checks what its real run needs', () => {
  let dir: string;
  let n = 0;

  beforeAll(() => {
    // Not under the run's TMPDIR (mode 700): the unprivileged user must reach its files.
    dir = mkdtempSync('/tmp/lw-preflight-');
    chmodSync(dir, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A directory of the test user's own (the service user's, when root). */
  function own(name: string): string {
    const d = join(dir, name);
    mkdirSync(d);
    if (isRoot) chownSync(d, NOBODY, NOBODY);
    return d;
  }

  /** A directory the unprivileged user cannot write in. */
  function foreign(name: string): string {
    const d = join(dir, name);
    mkdirSync(d, { mode: 0o755 });
    if (!isRoot) chmodSync(d, 0o555);
    return d;
  }

  function config(over: { password_file?: string; outbox: string }): string {
    const file = join(dir, `agent-${++n}.yaml`);
    writeFileSync(file, YAML.stringify({
      station: 'bk-preflight',
      interval: '2s',
      broker: { url: 'mqtt://127.0.0.1:1', ...(over.password_file ? { password_file: over.password_file } : {}) },
      outbox: { path: over.outbox },
      targets: [{ name: 'web', role: 'service', kind: 'tcp', host: '127.0.0.1', port: 1 }],
    }));
    chmodSync(file, 0o644);
    return file;
  }

  function secret(name: string, mode: number): string {
    const file = join(own('s-' + name), 'password');
    writeFileSync(file, 'hunter2\n', { mode });
    if (isRoot) chownSync(file, mode === 0o600 ? NOBODY : 0, mode === 0o600 ? NOBODY : 0);
    return file;
  }

  it('passes --once when the secret is readable and the outbox can be made, and makes no outbox', async () => {
    const outbox = join(own('ready'), 'state', 'outbox');
    const r = await run(['agent', '--config', config({ password_file: secret('ready', 0o600), outbox }), '--once']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/web\s+service\s+tcp/);
    expect(existsSync(join(dir, 'ready', 'state'))).toBe(false);
    expect(readdirSync(join(dir, 'ready'))).toEqual([]); // the probe file is gone too
  });

  it('fails --once with exit 2 naming broker.password_file when the secret file is missing', async () => {
    const r = await run(['agent', '--config', config({ password_file: join(dir, 'no-such-secret'), outbox: join(own('nosecret'), 'outbox') }), '--once']);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toMatch(/not ready: .*: broker\.password_file: cannot read secret file: ENOENT/);
  });

  it('fails --once with exit 2 naming broker.password_file when the secret file is not readable by the user', async () => {
    const file = secret('root-only', 0o640);
    if (!isRoot) chmodSync(file, 0o000);
    const r = await run(['agent', '--config', config({ password_file: file, outbox: join(own('unreadable'), 'outbox') }), '--once']);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toMatch(/not ready: .*: broker\.password_file: cannot read secret file: EACCES/);
  });

  it('fails --once with exit 2 naming outbox.path when the outbox cannot be made, leaving nothing of it', async () => {
    const parent = foreign('ro');
    const r = await run(['agent', '--config', config({ outbox: join(parent, 'state', 'outbox') }), '--once']);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toMatch(/not ready: .*: outbox\.path: cannot create .*\/state\/outbox: cannot write in .*\/ro \(EACCES\)/);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('fails --once with exit 2 naming outbox.path when an outbox made by another user cannot be written', async () => {
    const outbox = own('taken');
    writeFileSync(join(outbox, 'outbox.db'), '');
    if (isRoot) chownSync(join(outbox, 'outbox.db'), 0, 0);
    chmodSync(join(outbox, 'outbox.db'), 0o444);
    const r = await run(['agent', '--config', config({ outbox }), '--once']);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toMatch(/outbox\.path: cannot write .*outbox\.db \(EACCES\)/);
  });

  it('refuses to start with exit 2 naming outbox.path, without a stack trace, when the outbox is not writable', async () => {
    const r = await run(['agent', '--config', config({ outbox: join(foreign('ro-start'), 'outbox') })]);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toMatch(/config error: .*: outbox\.path: cannot create .*outbox: cannot write in .*ro-start \(EACCES\)/);
    expect(r.output).not.toMatch(/\n\s+at /);
    expect(r.ms).toBeLessThan(10_000);
  });
});
