import type BetterSqlite3 from 'better-sqlite3';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { isDue, resendDelayMs, type Outbox } from '../../agent/outbox.js';
import { openOutbox, outboxDriver, type NodeSqliteModule, type OutboxDriver } from '../../agent/outbox-open.js';
import { PAGE_CACHE_KIB, SqlOutbox, type SqlDatabase } from '../../agent/outbox-sql.js';
import { linuxNode, REPO_ROOT } from '../../deploy/exe/runtimes.js';
import { tempDir } from '../helpers/env.js';

// Each driver this Node can load. better-sqlite3 is an addon built for one Node ABI; node:sqlite needs Node ≥ 22.5.
const nodeSqlite = process.getBuiltinModule?.('node:sqlite') as NodeSqliteModule | undefined;
const betterSqlite = (() => {
  try {
    return createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  } catch {
    return undefined;
  }
})();
const IMPLEMENTATIONS: Array<[OutboxDriver, ((file: string) => SqlDatabase) | undefined]> = [
  ['better-sqlite3', betterSqlite && ((file) => new betterSqlite(file))],
  ['node:sqlite', nodeSqlite && ((file) => new nodeSqlite.DatabaseSync(file))],
];

/**
 * The contract every outbox implementation keeps (one suite, run against each implementation).
 */
function outboxContract(name: string, open: (dir: string, maxBytes: number) => Outbox, openDb: (file: string) => SqlDatabase) {
  describe(`${name} outbox contract`, () => {
    const opened: Outbox[] = [];
    const make = (maxBytes = 1_000_000, dir = tempDir('lw-outbox-')) => {
      const o = open(dir, maxBytes);
      opened.push(o);
      return { o, dir };
    };
    afterEach(() => {
      for (const o of opened.splice(0)) {
        try {
          o.close();
        } catch {
          /* closed by the test */
        }
      }
    });
    const body = (seq: number, pad = 0) => JSON.stringify({ seq, pad: 'x'.repeat(pad) });

    it('numbers reports consecutively from 0', () => {
      const { o } = make();
      const seqs = [1, 2, 3].map((i) => o.append((seq) => ({ ts: i, body: body(seq) })).entry.seq);
      expect(seqs).toEqual([0, 1, 2]);
      expect(o.depth()).toBe(3);
    });

    it('keeps the sequence and the reports across a reopen', () => {
      const { o, dir } = make();
      o.append((seq) => ({ ts: 1, body: body(seq) }));
      o.append((seq) => ({ ts: 2, body: body(seq) }));
      o.close();
      const again = open(dir, 1_000_000);
      opened.push(again);
      expect(again.depth()).toBe(2);
      expect(again.append((seq) => ({ ts: 3, body: body(seq) })).entry.seq).toBe(2);
    });

    it('returns the committed entry from append, as newest() reads it back', () => {
      const { o } = make();
      const { entry, dropped } = o.append((seq) => ({ ts: 42, body: body(seq) }));
      expect(entry).toEqual({ seq: 0, ts: 42, body: body(0), attempts: 0 });
      expect(dropped).toBe(0);
      expect(o.newest()).toEqual(entry);
    });

    it('counts attempts per send and keeps them across a reopen', () => {
      const { o, dir } = make();
      o.append((seq) => ({ ts: 0, body: body(seq) }));
      o.markSent([0], 1000);
      o.markSent([0], 5000);
      o.close();
      const again = open(dir, 1_000_000);
      opened.push(again);
      expect(again.newest()?.attempts).toBe(2);
      expect(again.due(5000 + 2000, 1000, 10).map((e) => e.attempts)).toEqual([2]);
    });

    it('deletes only what is acknowledged', () => {
      const { o } = make();
      for (let i = 0; i < 5; i++) o.append((seq) => ({ ts: i, body: body(seq) }));
      expect(o.ack([1, 3, 42])).toBe(2);
      expect(o.due(0, 1000, 10).map((e) => e.seq)).toEqual([0, 2, 4]);
    });

    it('offers a sent report again only after the ack timeout, with backoff per attempt', () => {
      const { o } = make();
      o.append((seq) => ({ ts: 0, body: body(seq) }));
      o.markSent([0], 1000);
      expect(o.due(1500, 1000, 10)).toHaveLength(0);
      expect(o.due(2000, 1000, 10).map((e) => e.seq)).toEqual([0]);
      o.markSent([0], 2000); // second attempt: waits 2 × timeout
      expect(o.due(3500, 1000, 10)).toHaveLength(0);
      expect(o.due(4000, 1000, 10)).toHaveLength(1);
      o.resetSent();
      expect(o.due(0, 1000, 10)).toHaveLength(1);
    });

    it('returns the newest report first and the backlog oldest first', () => {
      const { o } = make();
      for (let i = 0; i < 4; i++) o.append((seq) => ({ ts: i, body: body(seq) }));
      expect(o.newest()?.seq).toBe(3);
      expect(o.due(0, 1000, 2).map((e) => e.seq)).toEqual([0, 1]);
    });

    it('drops the oldest when full and counts them', () => {
      const { o } = make(20_000);
      let dropped = 0;
      for (let i = 0; i < 100; i++) dropped += o.append((seq) => ({ ts: i, body: body(seq, 900) })).dropped;
      expect(o.bytes()).toBeLessThanOrEqual(20_000);
      expect(dropped).toBeGreaterThan(70);
      expect(o.dropped()).toBe(dropped);
      expect(o.depth()).toBe(100 - dropped);
      expect(o.due(0, 1000, 1)[0]!.seq).toBe(dropped); // the survivors are the newest
      expect(o.newest()!.seq).toBe(99);
    });

    // better-sqlite3's own default is 16 MB, kept for the agent's life once a backlog scan has filled it.
    it(`bounds SQLite's page cache of its connection to ${PAGE_CACHE_KIB} KiB`, () => {
      let db: SqlDatabase | undefined;
      const o = new SqlOutbox((file) => (db = openDb(file)), { dir: tempDir('lw-outbox-'), maxBytes: 1_000_000 });
      opened.push(o);
      expect(db!.prepare('PRAGMA cache_size').get()).toEqual({ cache_size: -PAGE_CACHE_KIB });
    });
  });
}

for (const [driver, openDb] of IMPLEMENTATIONS) {
  if (openDb) outboxContract(driver, (dir, maxBytes) => new SqlOutbox(openDb, { dir, maxBytes }), openDb);
}

describe('resend policy', () => {
  it.each([
    [1, 30_000],
    [2, 60_000],
    [3, 120_000],
    [4, 240_000],
    [5, 240_000],
    [50, 240_000],
  ])('after %i attempt(s) a report waits %i ms for its ack', (attempts, wait) => {
    expect(resendDelayMs(attempts, 30_000)).toBe(wait);
    expect(isDue(1_000, attempts, 1_000 + wait - 1, 30_000)).toBe(false);
    expect(isDue(1_000, attempts, 1_000 + wait, 30_000)).toBe(true);
  });

  it('sends a report never sent (or reset by a reconnect) at once', () => {
    expect(isDue(null, 0, 0, 30_000)).toBe(true);
    expect(isDue(null, 7, 0, 30_000)).toBe(true);
  });
});

// The executable's Node runs the node:sqlite contract when this Node has no node:sqlite (Node 20): the same suite,
// this same file, under vitest on the pinned Node 24 (deploy/exe/runtimes.ts).
describe.runIf(!nodeSqlite)('node:sqlite outbox under the executable\'s Node', () => {
  it('passes the outbox contract', async () => {
    const node = linuxNode();
    const out = join(tempDir('lw-outbox-'), 'result.json');
    await promisify(execFile)(node, ['node_modules/vitest/vitest.mjs', 'run', 'test/unit/outbox.test.ts', '-t', 'node:sqlite', '--reporter=json', `--outputFile=${out}`], {
      cwd: REPO_ROOT,
      timeout: 120_000,
    }).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`vitest under ${node} failed: ${err.message}\n${err.stderr ?? ''}`);
    });
    const result = JSON.parse(readFileSync(out, 'utf8')) as { numPassedTests: number; numFailedTests: number; testResults: Array<{ assertionResults: Array<{ fullName: string; status: string }> }> };
    const ran = result.testResults.flatMap((f) => f.assertionResults).filter((a) => a.status === 'passed').map((a) => a.fullName);
    expect(result.numFailedTests).toBe(0);
    expect(ran.filter((n) => n.startsWith('node:sqlite outbox contract')).length).toBeGreaterThanOrEqual(8);
    expect(ran.some((n) => n.includes('SIGKILL') && n.includes('node:sqlite'))).toBe(true);
  }, 150_000);
});

describe('SQLite outbox durability', () => {
  it('opens with node:sqlite where Node has it, else better-sqlite3', () => {
    expect(outboxDriver()).toBe(nodeSqlite ? 'node:sqlite' : 'better-sqlite3');
  });

  it('moves a corrupt database aside and starts a new one', () => {
    const dir = tempDir('lw-outbox-');
    writeFileSync(join(dir, 'outbox.db'), 'this is not a database, it is garbage '.repeat(200));
    let reset: { movedTo: string; reason: string } | undefined;
    const o = openOutbox({ dir, maxBytes: 1e6, onReset: (movedTo, reason) => (reset = { movedTo, reason }) });
    expect(reset?.reason).toMatch(/not a database|malformed|quick_check/i);
    expect(existsSync(reset!.movedTo)).toBe(true);
    expect(o.append(() => ({ ts: 0, body: '{}' })).entry.seq).toBe(0);
    o.close();
    expect(readdirSync(dir).filter((f) => f.includes('corrupt'))).toHaveLength(1);
  });

  // The writer runs on the driver's own Node: this one for the driver it has, the executable's Node for node:sqlite.
  const writers: Array<[OutboxDriver, () => string]> = [
    ...(betterSqlite ? [['better-sqlite3', () => process.execPath] as [OutboxDriver, () => string]] : []),
    ['node:sqlite', () => (nodeSqlite ? process.execPath : linuxNode())],
  ];
  it.each(writers)('with %s, keeps every committed report when the writing process is killed with SIGKILL', async (driver, nodePath) => {
    const dir = tempDir('lw-outbox-');
    // A child appends as fast as it can and prints each committed seq; we kill it mid-stream.
    const script = `
      import { openOutbox } from ${JSON.stringify(fileURLToPath(new URL('../../dist/agent/outbox-open.js', import.meta.url)))};
      const o = openOutbox({ dir: ${JSON.stringify(dir)}, maxBytes: 1e9 }, ${JSON.stringify(driver)});
      for (;;) { const { entry } = o.append((s) => ({ ts: Date.now(), body: JSON.stringify({ s }) })); process.stdout.write(entry.seq + '\\n'); }
    `;
    const child = spawn(nodePath(), ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let printed = '';
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`writer exited by itself (${code})`)));
      child.stdout!.on('data', (d: Buffer) => {
        printed += d.toString();
        if (printed.split('\n').length > 300) resolve();
      });
    });
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const confirmed = printed.split('\n').filter(Boolean).map(Number);
    // Read back with this process's driver: the file is the same whichever driver wrote it.
    const o = openOutbox({ dir, maxBytes: 1e9 });
    const stored = new Set(o.due(0, 1, 1_000_000).map((e) => e.seq));
    o.close();
    // Every seq the child saw committed is on disk, and the numbering has no holes.
    for (const s of confirmed) expect(stored.has(s)).toBe(true);
    expect(Math.max(...stored) + 1).toBe(stored.size);
    console.log(`outbox kill -9 (${driver}): ${confirmed.length} confirmed, ${stored.size} on disk after SIGKILL`);
  });
});
