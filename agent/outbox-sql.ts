import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { isDue, type Appended, type Outbox, type OutboxEntry } from './outbox.js';

/** The part of a synchronous SQLite driver the outbox uses; `better-sqlite3` and `node:sqlite` both have it. */
export interface SqlDatabase {
  prepare(sql: string): SqlStatement;
  exec(sql: string): unknown;
  close(): unknown;
}
export interface SqlStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
}

export interface SqlOutboxOptions {
  dir: string;
  maxBytes: number;
  /** Called when a corrupt database was moved aside, with where it went and why. */
  onReset?: (movedTo: string, reason: string) => void;
}

export const OUTBOX_FILE = 'outbox.db';
// Per-row overhead beyond the body (keys, page slack), so max_bytes bounds the file, not just the bodies.
const ROW_OVERHEAD = 64;
/**
 * SQLite's page cache for the outbox connection, KiB. better-sqlite3 builds SQLite with a 16 MB default (node:sqlite
 * 2 MB), which a backlog scan after an outage fills and keeps for as long as the agent runs. The outbox reads its
 * rows in order, once per send, and the OS caches the file anyway, so 1 MB is enough (docs/performance.md).
 */
export const PAGE_CACHE_KIB = 1024;

interface Row {
  seq: number;
  ts: number;
  body: string;
  attempts: number;
  sent_at: number | null;
}

const entryOf = (r: Row): OutboxEntry => ({ seq: r.seq, ts: r.ts, body: r.body, attempts: r.attempts });

/**
 * The SQLite outbox, whichever driver opens the file: WAL mode with synchronous=FULL, so a committed report survives
 * kill -9 and power loss. SQL stores and finds; when a report is due again is `isDue`'s decision (agent/outbox.ts).
 */
export class SqlOutbox implements Outbox {
  private db!: SqlDatabase;
  private total = 0;
  private droppedCount = 0;
  private count = 0;
  private stmts!: ReturnType<SqlOutbox['prepare']>;

  constructor(
    private readonly openDb: (file: string) => SqlDatabase,
    private readonly opts: SqlOutboxOptions,
  ) {
    mkdirSync(opts.dir, { recursive: true });
    const file = join(opts.dir, OUTBOX_FILE);
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
    this.db = this.openDb(file);
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = FULL');
    this.db.exec(`PRAGMA cache_size = -${PAGE_CACHE_KIB}`);
    const check = (this.db.prepare('PRAGMA quick_check').get() as { quick_check: string } | undefined)?.quick_check;
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
    this.droppedCount = this.meta('dropped');
  }

  private prepare() {
    const db = this.db;
    return {
      getMeta: db.prepare('SELECT v FROM meta WHERE k = ?'),
      setMeta: db.prepare('UPDATE meta SET v = ? WHERE k = ?'),
      insert: db.prepare('INSERT INTO report (seq, ts, body, bytes) VALUES (?, ?, ?, ?)'),
      oldest: db.prepare('SELECT seq, bytes FROM report ORDER BY seq LIMIT ?'),
      del: db.prepare('DELETE FROM report WHERE seq = ? RETURNING bytes'),
      newest: db.prepare('SELECT seq, ts, body, attempts, sent_at FROM report ORDER BY seq DESC LIMIT 1'),
      // Only narrows by the shortest possible wait (one ack timeout); `isDue` decides.
      candidates: db.prepare('SELECT seq, ts, body, attempts, sent_at FROM report WHERE sent_at IS NULL OR sent_at <= ? ORDER BY seq'),
      sent: db.prepare('UPDATE report SET sent_at = ?, attempts = attempts + 1 WHERE seq = ?'),
      resetSent: db.prepare('UPDATE report SET sent_at = NULL WHERE sent_at IS NOT NULL'),
    };
  }

  private meta(k: string): number {
    return (this.stmts.getMeta.get(k) as { v: number }).v;
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE: the write lock is taken up front). */
  private transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  append(build: (seq: number) => { ts: number; body: string }): Appended {
    return this.transaction(() => {
      const seq = this.meta('next_seq');
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
      return { entry: { seq, ts, body, attempts: 0 }, dropped };
    });
  }

  newest(): OutboxEntry | undefined {
    const row = this.stmts.newest.get() as Row | undefined;
    return row && entryOf(row);
  }

  due(now: number, ackTimeoutMs: number, limit: number): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    if (limit <= 0) return out;
    for (const row of this.stmts.candidates.iterate(now - ackTimeoutMs) as IterableIterator<Row>) {
      if (!isDue(row.sent_at, row.attempts, now, ackTimeoutMs)) continue;
      out.push(entryOf(row));
      if (out.length >= limit) break; // leaving the loop early closes the statement's iterator
    }
    return out;
  }

  markSent(seqs: readonly number[], now: number): void {
    this.transaction(() => {
      for (const s of seqs) this.stmts.sent.run(now, s);
    });
  }

  resetSent(): void {
    this.stmts.resetSent.run();
  }

  ack(seqs: readonly number[]): number {
    return this.transaction(() => {
      let n = 0;
      for (const s of seqs) {
        const row = this.stmts.del.get(s) as { bytes: number } | undefined;
        if (row !== undefined) {
          this.total -= row.bytes;
          this.count--;
          n++;
        }
      }
      return n;
    });
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
