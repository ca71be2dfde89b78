import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteOutbox, type Outbox } from '../../agent/outbox.js';
import { tempDir } from '../helpers/env.js';

/**
 * The contract every outbox implementation keeps (one suite, run against each implementation).
 */
function outboxContract(name: string, open: (dir: string, maxBytes: number) => Outbox) {
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
      const seqs = [1, 2, 3].map((i) => o.append((seq) => ({ ts: i, body: body(seq) })).seq);
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
      expect(again.append((seq) => ({ ts: 3, body: body(seq) })).seq).toBe(2);
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
  });
}

outboxContract('SQLite', (dir, maxBytes) => new SqliteOutbox({ dir, maxBytes }));

describe('SQLite outbox durability', () => {
  it('moves a corrupt database aside and starts a new one', () => {
    const dir = tempDir('lw-outbox-');
    writeFileSync(join(dir, 'outbox.db'), 'this is not a database, it is garbage '.repeat(200));
    let reset: { movedTo: string; reason: string } | undefined;
    const o = new SqliteOutbox({ dir, maxBytes: 1e6, onReset: (movedTo, reason) => (reset = { movedTo, reason }) });
    expect(reset?.reason).toMatch(/not a database|malformed|quick_check/i);
    expect(existsSync(reset!.movedTo)).toBe(true);
    expect(o.append((seq) => ({ ts: 0, body: '{}' })).seq).toBe(0);
    o.close();
    expect(readdirSync(dir).filter((f) => f.includes('corrupt'))).toHaveLength(1);
  });

  it('keeps every committed report when the writing process is killed with SIGKILL', async () => {
    const dir = tempDir('lw-outbox-');
    // A child appends as fast as it can and prints each committed seq; we kill it mid-stream.
    const script = `
      import { SqliteOutbox } from ${JSON.stringify(fileURLToPath(new URL('../../dist/agent/outbox.js', import.meta.url)))};
      const o = new SqliteOutbox({ dir: ${JSON.stringify(dir)}, maxBytes: 1e9 });
      for (;;) { const { seq } = o.append((s) => ({ ts: Date.now(), body: JSON.stringify({ s }) })); process.stdout.write(seq + '\\n'); }
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let printed = '';
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        printed += d.toString();
        if (printed.split('\n').length > 300) resolve();
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const confirmed = printed.split('\n').filter(Boolean).map(Number);
    const o = new SqliteOutbox({ dir, maxBytes: 1e9 });
    const stored = new Set(o.due(0, 1, 1_000_000).map((e) => e.seq));
    o.close();
    // Every seq the child saw committed is on disk, and the numbering has no holes.
    for (const s of confirmed) expect(stored.has(s)).toBe(true);
    expect(Math.max(...stored) + 1).toBe(stored.size);
    console.log(`outbox kill -9: ${confirmed.length} confirmed, ${stored.size} on disk after SIGKILL`);
  });
});
