import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log.js';
import { readSecret } from '../../lib/secrets.js';

const dir = mkdtempSync(join(tmpdir(), 'lw-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A pino logger that keeps its lines, with the same options as the product's. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(JSON.parse(chunk.toString())); cb(); } });
  return { lines, log: pino({ level: 'debug' }, sink) };
}

describe('secrets', () => {
  it.skipIf(process.platform === 'win32')('warns, naming the key and the file, when a secret file is readable by others', () => {
    const f = join(dir, 'open');
    writeFileSync(f, 'hunter2\n');
    chmodSync(f, 0o644);
    const { lines, log } = capture();
    expect(readSecret({ file: f, envName: 'X', key: 'influx.password_file', configFile: 'c.yaml', log })).toBe('hunter2');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, key: 'influx.password_file', file: f, mode: '644' });
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });

  it('says nothing about a file only its owner can read', () => {
    const f = join(dir, 'closed');
    writeFileSync(f, 's3cret', { mode: 0o600 });
    chmodSync(f, 0o600);
    const { lines, log } = capture();
    expect(readSecret({ file: f, envName: 'X', key: 'broker.password_file', configFile: 'c.yaml', log })).toBe('s3cret');
    expect(lines).toEqual([]);
  });

  it('takes the secret from the environment when no file is named, and refuses an empty file', () => {
    process.env.LW_TEST_SECRET = 'from-env';
    expect(readSecret({ file: undefined, envName: 'LW_TEST_SECRET', key: 'k', configFile: 'c' })).toBe('from-env');
    delete process.env.LW_TEST_SECRET;
    const f = join(dir, 'empty');
    writeFileSync(f, '\n', { mode: 0o600 });
    expect(() => readSecret({ file: f, envName: 'X', key: 'broker.password_file', configFile: 'c.yaml' })).toThrow(/broker.password_file.*empty/);
    expect(() => readSecret({ file: join(dir, 'missing'), envName: 'X', key: 'broker.password_file', configFile: 'c.yaml' })).toThrow(/ENOENT/);
  });

  it('never logs a password through the product logger', () => {
    const chunks: string[] = [];
    // pino writes to fd 1 synchronously through sonic-boom; capture by swapping the stream's write.
    const log = createLogger({ level: 'info' });
    const stream = (log as unknown as { [k: symbol]: { write(s: string): void } });
    const sym = Object.getOwnPropertySymbols(log).find((s) => String(s) === 'Symbol(pino.stream)')!;
    const original = stream[sym]!;
    stream[sym] = { write: (s: string) => void chunks.push(s) };
    try {
      log.info({ password: 'p1', broker: { password: 'p2', url: 'mqtts://h' }, influx: { password: 'p3' } }, 'config');
      log.child({ component: 'x' }).info({ password: 'p4' }, 'child');
    } finally {
      stream[sym] = original;
    }
    const out = chunks.join('');
    expect(out).toContain('mqtts://h');
    for (const p of ['p1', 'p2', 'p3', 'p4']) expect(out).not.toContain(`"${p}"`);
    expect(out).toContain('[secret]');
  });
});
