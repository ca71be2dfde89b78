import { SqlOutbox, type SqlDatabase, type SqlOutboxOptions } from './outbox-sql.js';

/** The part of `node:sqlite` used here (its types are not in @types/node 20). */
export interface NodeSqliteModule {
  DatabaseSync: new (file: string) => SqlDatabase;
}

/** The outbox on the SQLite built into Node (≥ 22.5): no native addon, so it fits in a single-file executable. */
export function nodeSqliteOutbox(sqlite: NodeSqliteModule, opts: SqlOutboxOptions): SqlOutbox {
  return new SqlOutbox((file) => new sqlite.DatabaseSync(file), opts);
}
