import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type { Outbox } from './outbox.js';
import { SqlOutbox, type SqlDatabase, type SqlOutboxOptions } from './outbox-sql.js';

export type OutboxDriver = 'node:sqlite' | 'better-sqlite3';

/** The part of `node:sqlite` used here (its types are not in @types/node 20). */
export interface NodeSqliteModule {
  DatabaseSync: new (file: string) => SqlDatabase;
}

/**
 * The SQLite driver this process can use: Node's built-in `node:sqlite` (Node ≥ 22.5, the single-file executable),
 * else the `better-sqlite3` addon (Node 20). Both write the same file, so an outbox survives a change of driver.
 */
export function outboxDriver(): OutboxDriver {
  return builtinSqlite() ? 'node:sqlite' : 'better-sqlite3';
}

function builtinSqlite(): NodeSqliteModule | undefined {
  // getBuiltinModule keeps `node:sqlite` out of the static import graph: it does not exist on Node 20.
  return process.getBuiltinModule?.('node:sqlite') as NodeSqliteModule | undefined;
}

/** Opens (or creates) the outbox in `opts.dir` with the driver this process has (see `outboxDriver`). */
export function openOutbox(opts: SqlOutboxOptions, driver: OutboxDriver = outboxDriver()): Outbox {
  if (driver === 'node:sqlite') {
    const sqlite = builtinSqlite();
    if (!sqlite) throw new Error(`node:sqlite is not available in Node ${process.version}`);
    return new SqlOutbox((file) => new sqlite.DatabaseSync(file), opts);
  }
  // Loaded only when chosen, so the single-file executable (which has node:sqlite) carries no native addon.
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  return new SqlOutbox((file) => new Database(file), opts);
}
