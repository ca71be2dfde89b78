import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Reads an agent's outbox from outside the agent (WAL lets a reader in while the agent writes). */
export function peekOutbox(dir: string): { nextSeq: number; depth: number; dropped: number } {
  const file = join(dir, 'outbox.db');
  if (!existsSync(file)) return { nextSeq: 0, depth: 0, dropped: 0 };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const meta = Object.fromEntries((db.prepare('SELECT k, v FROM meta').all() as Array<{ k: string; v: number }>).map((r) => [r.k, r.v]));
    const depth = (db.prepare('SELECT COUNT(*) AS n FROM report').get() as { n: number }).n;
    return { nextSeq: meta.next_seq ?? 0, depth, dropped: meta.dropped ?? 0 };
  } finally {
    db.close();
  }
}
