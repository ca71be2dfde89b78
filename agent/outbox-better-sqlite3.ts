import type BetterSqlite3 from 'better-sqlite3';
import { SqlOutbox, type SqlOutboxOptions } from './outbox-sql.js';

/** The outbox on the `better-sqlite3` addon (Node 20, where `node:sqlite` does not exist). */
export function betterSqliteOutbox(Database: typeof BetterSqlite3, opts: SqlOutboxOptions): SqlOutbox {
  return new SqlOutbox((file) => new Database(file), opts);
}
