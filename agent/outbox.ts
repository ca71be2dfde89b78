import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/** A report waiting in the outbox. `body` is the report's JSON text. */
export interface OutboxEntry {
  seq: number;
  ts: number;
  body: string;
  attempts: number;
}

/**
 * The agent's only durable queue. Every report is committed before it is sent and leaves only when the collector
 * acknowledges that InfluxDB has it. Bounded in bytes: when full the oldest go, and are counted.
 */
export interface Outbox {
  /** Allocates the next sequence number, builds the report with it, and commits it; returns the seq and body. */
  append(build: (seq: number) => { ts: number; body: string }): { seq: number; dropped: number };
  /** The newest report not yet acknowledged, if any. */
  newest(): OutboxEntry | undefined;
  /**
   * Up to `limit` reports, oldest first, that were never sent or whose last send is older than
   * `resendAfterMs × 2^(attempts−1)` (capped at 8×).
   */
  due(now: number, resendAfterMs: number, limit: number): OutboxEntry[];
  markSent(seqs: readonly number[], now: number): void;
  /** Makes every unacknowledged report due now (after a reconnect, nothing sent before can be counted on). */
  resetSent(): void;
  /** Deletes acknowledged reports; returns how many were present. */
  ack(seqs: readonly number[]): number;
  depth(): number;
  bytes(): number;
  /** Reports dropped because the outbox was full, since it was created. */
  dropped(): number;
  close(): void;
}

export interface SqliteOutboxOptions {
  dir: string;
  maxBytes: number;
  /** Called when a corrupt database was moved aside, with where it went and why. */
  onReset?: (movedTo: string, reason: string) => void;
}

const FILE = 'outbox.db';
// Per-row overhead beyond the body (keys, page slack), so max_bytes bounds the file, not just the bodies.
const ROW_OVERHEAD = 64;

/**
 * SQLite outbox: WAL mode with synchronous=FULL, so a committed report survives kill -9 and power loss.
 */
export class SqliteOutbox implements Outbox {
  private db!: Database.Database;
  private total = 0;
  private droppedCount = 0;
  private count = 0;
  private stmts!: ReturnType<SqliteOutbox['prepare']>;

  constructor(private readonly opts: SqliteOutboxOptions) {
    mkdirSync(opts.dir, { recursive: true });
    const file = join(opts.dir, FILE);
    try {
      this.open(file);
    } catch (err) {
      // A corrupt or unreadable outbox must never stop the agent from measuring: move it aside, start afresh.
      try {
        this.db?.close();
      } catch {
        /* already unusable */
      }
      const movedTo = `${file}.corrupt-${Date.now()}`;
      for (const suffix of ['', '-wal', '-shm']) {
        if (existsSync(file + suffix)) renameSync(file + suffix, movedTo + suffix);
      }
      this.open(file);
      opts.onReset?.(movedTo, (err as Error).message);
    }
  }

  private open(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    const check = this.db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`outbox quick_check: ${String(check)}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS report (
        seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, body TEXT NOT NULL, bytes INTEGER NOT NULL,
        sent_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      INSERT OR IGNORE INTO meta (k, v) VALUES ('next_seq', 0), ('dropped', 0);
    `);
    this.stmts = this.prepare();
    const agg = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM report').get() as { n: number; b: number };
    this.count = agg.n;
    this.total = agg.b;
    this.droppedCount = this.stmts.getMeta.get('dropped') as number;
  }

  private prepare() {
    const db = this.db;
    return {
      getMeta: db.prepare('SELECT v FROM meta WHERE k = ?').pluck(),
      setMeta: db.prepare('UPDATE meta SET v = ? WHERE k = ?'),
      insert: db.prepare('INSERT INTO report (seq, ts, body, bytes) VALUES (?, ?, ?, ?)'),
      oldest: db.prepare('SELECT seq, bytes FROM report ORDER BY seq LIMIT ?'),
      del: db.prepare('DELETE FROM report WHERE seq = ? RETURNING bytes').pluck(),
      newest: db.prepare('SELECT seq, ts, body, attempts FROM report ORDER BY seq DESC LIMIT 1'),
      due: db.prepare(
        `SELECT seq, ts, body, attempts FROM report
         WHERE sent_at IS NULL OR sent_at + ? * (1 << MIN(MAX(attempts - 1, 0), 3)) <= ?
         ORDER BY seq LIMIT ?`,
      ),
      sent: db.prepare('UPDATE report SET sent_at = ?, attempts = attempts + 1 WHERE seq = ?'),
      resetSent: db.prepare('UPDATE report SET sent_at = NULL WHERE sent_at IS NOT NULL'),
    };
  }

  append(build: (seq: number) => { ts: number; body: string }): { seq: number; dropped: number } {
    const run = this.db.transaction(() => {
      const seq = this.stmts.getMeta.get('next_seq') as number;
      const { ts, body } = build(seq);
      const bytes = Buffer.byteLength(body) + ROW_OVERHEAD;
      let dropped = 0;
      // Make room first: drop the oldest until the new report fits.
      if (this.total + bytes > this.opts.maxBytes && this.count > 0) {
        let batch = 64;
        while (this.total + bytes > this.opts.maxBytes && this.count > 0) {
          const rows = this.stmts.oldest.all(batch) as Array<{ seq: number; bytes: number }>;
          for (const r of rows) {
            if (this.total + bytes <= this.opts.maxBytes) break;
            this.stmts.del.get(r.seq);
            this.total -= r.bytes;
            this.count--;
            dropped++;
          }
          batch *= 2;
        }
        this.droppedCount += dropped;
        this.stmts.setMeta.run(this.droppedCount, 'dropped');
      }
      this.stmts.insert.run(seq, ts, body, bytes);
      this.stmts.setMeta.run(seq + 1, 'next_seq');
      this.total += bytes;
      this.count++;
      return { seq, dropped };
    });
    return run.immediate();
  }

  newest(): OutboxEntry | undefined {
    return this.stmts.newest.get() as OutboxEntry | undefined;
  }

  due(now: number, resendAfterMs: number, limit: number): OutboxEntry[] {
    return this.stmts.due.all(resendAfterMs, now, limit) as OutboxEntry[];
  }

  markSent(seqs: readonly number[], now: number): void {
    this.db.transaction(() => {
      for (const s of seqs) this.stmts.sent.run(now, s);
    })();
  }

  resetSent(): void {
    this.stmts.resetSent.run();
  }

  ack(seqs: readonly number[]): number {
    return this.db.transaction(() => {
      let n = 0;
      for (const s of seqs) {
        const bytes = this.stmts.del.get(s) as number | undefined;
        if (bytes !== undefined) {
          this.total -= bytes;
          this.count--;
          n++;
        }
      }
      return n;
    })();
  }

  depth(): number {
    return this.count;
  }

  bytes(): number {
    return this.total;
  }

  dropped(): number {
    return this.droppedCount;
  }

  close(): void {
    this.db.close();
  }
}
