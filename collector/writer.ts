import type { InfluxDB } from 'influx';
import type { Logger } from '../lib/log.js';

/** A unit of acknowledgement: one report's points, and who to tell once they are stored. */
export interface PendingReport {
  station: string;
  /** Absent for points nobody waits on (status and event messages). */
  seq?: number;
  /** The report's points in line protocol, one a line (collector/points.ts). */
  lines: string;
  /** How many points `lines` holds. */
  points: number;
  /** When the collector received it (ms epoch), to time its ack. */
  received?: number;
}

export interface WriterDeps {
  influx: InfluxDB;
  log: Logger;
  /** Called once a batch is in InfluxDB, with each station's stored sequence numbers. */
  onStored: (byStation: Map<string, number[]>) => void;
  /** Called for a report InfluxDB refuses for good (bad type, outside retention…): it is kept, counted, acked. */
  onRejected: (r: PendingReport, reason: string) => void;
  /** Called when the database is missing (first run, or dropped): create it, then the write is retried. */
  ensureDatabase: () => Promise<void>;
  batchPoints: number;
  flushIntervalMs: number;
  maxPendingPoints: number;
  /** Time from a report's arrival to its ack, for the collector's /metrics. */
  observeAckLatency?: (ms: number) => void;
  now?: () => number;
}

export interface WriterStats {
  batches: number;
  points: number;
  reports: number;
  retries: number;
  refusedFull: number;
}

type Failure = { kind: 'retry' | 'auth' | 'reject' | 'no_database'; message: string };

/** Classifies a write error: retry what can succeed later (network, 5xx, timeouts), reject what cannot (4xx). */
export function classifyWriteError(err: unknown): Failure {
  const e = err as { res?: { statusCode?: number }; message?: string };
  const message = String(e.message ?? err).slice(0, 500);
  const status = e.res?.statusCode;
  if (status === 404 || /database not found/i.test(message)) return { kind: 'no_database', message };
  // A wrong password or a missing grant is the operator's to fix, not the data's fault: keep retrying (and say so
  // loudly) rather than dead-letter and ack reports that the agents would then delete.
  if (status === 401 || status === 403) return { kind: 'auth', message };
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'reject', message };
  return { kind: 'retry', message };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes in flight at once. */
const MAX_IN_FLIGHT = 2;

interface InfluxInternals {
  _pool?: { discard(req: { method: string; path: string; body: string; query: Record<string, string | undefined>; auth?: string }): Promise<void> };
  _options?: { database?: string; username?: string; password?: string };
}

/**
 * POSTs a body already in line protocol to the v1 `/write` of the client's database. The influx package has no public
 * call for that: its writePoints builds the body from point objects, coercing each through the schema, which cost
 * more than everything else the collector does per report (docs/performance.md). This makes the very request
 * writePoints makes (influx 5.x `src/index.ts`), through the same pool, so auth, failover, timeouts and the errors
 * that classifyWriteError reads stay the package's. Fails at construction if a future version moved them.
 */
export function lineProtocolWriter(influx: InfluxDB, precision: 'ms' = 'ms'): (body: string) => Promise<void> {
  const internals = influx as unknown as InfluxInternals;
  const pool = internals._pool;
  const options = internals._options;
  if (typeof pool?.discard !== 'function' || !options) throw new Error('influx package internals changed: cannot write line protocol through its pool');
  return (body) => {
    if (!options.database) return Promise.reject(new Error('no default database set on the InfluxDB client'));
    return pool.discard({
      method: 'POST',
      path: '/write',
      body,
      query: { db: options.database, precision },
      ...(typeof options.username === 'string' ? { auth: `${options.username}:${options.password ?? ''}` } : {}),
    });
  };
}

/**
 * Batches reports into InfluxDB writes. A report is acknowledged only after the write that holds it succeeded.
 * While InfluxDB is down the current batch is retried with backoff and new reports wait, up to `maxPendingPoints`;
 * past that they are refused (not acked), and the agents, which still hold them, send them again later.
 */
export class BatchWriter {
  private queue: PendingReport[] = [];
  /** Points queued or being written: what `maxPendingPoints` bounds. */
  private queuedPoints = 0;
  /** Points queued and not yet taken into a write. */
  private waitingPoints = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly lanes = new Set<Promise<void>>();
  private stopped = false;
  readonly stats: WriterStats = { batches: 0, points: 0, reports: 0, retries: 0, refusedFull: 0 };
  private readonly writeLines: (body: string) => Promise<void>;
  /** Since when writes have been failing (ms epoch); undefined while they succeed. */
  failingSince: number | undefined;

  constructor(private readonly deps: WriterDeps) {
    this.writeLines = lineProtocolWriter(deps.influx);
  }

  /** Queues a report; returns false when the writer is full and the report was not taken. */
  add(r: PendingReport): boolean {
    if (this.queuedPoints + r.points > this.deps.maxPendingPoints) {
      this.stats.refusedFull++;
      return false;
    }
    this.queue.push(r);
    this.queuedPoints += r.points;
    this.waitingPoints += r.points;
    if (this.waitingPoints >= this.deps.batchPoints) this.kick();
    else if (!this.timer) this.timer = setTimeout(() => this.kick(), this.deps.flushIntervalMs);
    return true;
  }

  pendingPoints(): number {
    return this.queuedPoints;
  }

  private kick() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // A second write goes out only when a full batch waits: InfluxDB takes two requests in parallel on more cores
    // (research/ceilings.md: 5k-point batches, 73k points/s at 2 in flight against 48k at 1).
    while (
      !this.stopped && this.queue.length > 0 && this.lanes.size < MAX_IN_FLIGHT &&
      (this.lanes.size === 0 || this.waitingPoints >= this.deps.batchPoints)
    ) {
      const lane: Promise<void> = this.drain().finally(() => {
        this.lanes.delete(lane);
        if (this.queue.length > 0 && !this.stopped) this.kick();
      });
      this.lanes.add(lane);
    }
  }

  /** Writes everything queued now; resolves when it is stored or the writer is stopped. */
  async flush(): Promise<void> {
    this.kick();
    while (this.lanes.size > 0) await Promise.all(this.lanes);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.stopped = true;
    await Promise.all(this.lanes);
  }

  private takeBatch(): PendingReport[] {
    const q = this.queue;
    let points = 0;
    let n = 0;
    while (n < q.length && (n === 0 || points + q[n]!.points <= this.deps.batchPoints)) points += q[n++]!.points;
    this.waitingPoints -= points;
    // One splice per batch: shift() per report moves the whole queue each time, which shows at 200,000 pending.
    return q.splice(0, n);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const batch = this.takeBatch();
      await this.writeWithRetry(batch);
      for (const r of batch) this.queuedPoints -= r.points;
    }
  }

  private async writeWithRetry(batch: PendingReport[]): Promise<void> {
    let delay = 250;
    for (;;) {
      const failure = await this.tryWrite(batch);
      if (!failure) {
        this.stored(batch);
        return;
      }
      this.failingSince ??= (this.deps.now ?? Date.now)();
      if (failure.kind === 'no_database') {
        await this.deps.ensureDatabase().catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'cannot create database'));
      } else if (failure.kind === 'reject') {
        // InfluxDB refused the batch (a partial write, a type conflict, outside retention): find the culprits one
        // report at a time, store the rest, and keep the refused ones with their reason instead of retrying forever.
        await this.isolate(batch);
        return;
      } else {
        this.stats.retries++;
        if (failure.kind === 'auth') this.deps.log.error({ err: failure.message, retry_in_ms: delay }, 'InfluxDB refused the credentials; check influx.username and password; retrying');
        else this.deps.log.warn({ err: failure.message, retry_in_ms: delay, reports: batch.length }, 'InfluxDB write failed; retrying');
        if (this.stopped) return;
        await sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      }
      if (this.stopped) return;
    }
  }

  private async tryWrite(batch: PendingReport[]): Promise<Failure | undefined> {
    let body = '';
    for (const r of batch) body += body.length === 0 ? r.lines : `\n${r.lines}`;
    try {
      await this.writeLines(body);
      return undefined;
    } catch (err) {
      return classifyWriteError(err);
    }
  }

  private async isolate(batch: PendingReport[]): Promise<void> {
    for (const r of batch) {
      let delay = 250;
      for (;;) {
        const failure = await this.tryWrite([r]);
        if (!failure) {
          this.stored([r]);
          break;
        }
        if (failure.kind === 'reject') {
          this.deps.onRejected(r, failure.message);
          break;
        }
        if (failure.kind === 'no_database') await this.deps.ensureDatabase().catch(() => {});
        if (this.stopped) return;
        await sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  private stored(batch: PendingReport[]) {
    this.failingSince = undefined;
    const byStation = new Map<string, number[]>();
    const observe = this.deps.observeAckLatency;
    const now = observe ? (this.deps.now ?? Date.now)() : 0;
    let points = 0;
    for (const r of batch) {
      points += r.points;
      if (observe && r.received !== undefined) observe(now - r.received);
      if (r.seq === undefined) continue;
      let seqs = byStation.get(r.station);
      if (!seqs) byStation.set(r.station, (seqs = []));
      seqs.push(r.seq);
    }
    this.stats.batches++;
    this.stats.points += points;
    this.stats.reports += batch.length;
    this.deps.onStored(byStation);
  }
}
