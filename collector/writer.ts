import { InfluxWriteError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Room } from './acks.js';

/** A unit of acknowledgement: one report's points, and who to tell once they are stored. */
export interface PendingReport {
  station: string;
  /** Absent for points nobody waits on (status and event messages, the collector's counters). */
  seq?: number;
  /** The report's points in line protocol, one a line (collector/points.ts). */
  lines: string;
  /** How many points `lines` holds. */
  points: number;
  /** When the collector received it (ms epoch), to time its ack. */
  received?: number;
}

export interface WriterDeps {
  /** POSTs line protocol to InfluxDB (`Influx.writeLines`); rejects with an InfluxWriteError. */
  write: (body: string) => Promise<void>;
  log: Logger;
  /** Called once a batch is in InfluxDB (`Acks.stored`). */
  onStored: (batch: readonly PendingReport[]) => void;
  /** Called for a report InfluxDB refuses for good (bad type, outside retention…): it is kept, counted, acked (`Acks.refused`). */
  onRejected: (r: PendingReport, reason: string) => void;
  /** Called when the database is missing (first run, or dropped): create it, then the write is retried. */
  ensureDatabase: () => Promise<void>;
  batchPoints: number;
  flushIntervalMs: number;
  /** Points held at most (while InfluxDB is down); past this `add` refuses. */
  maxPendingPoints: number;
  /** Points queued past which `whenRoom` waits (flow control); default 4 batches, at most `maxPendingPoints`. */
  highWaterPoints?: number;
  /** The clock of `failingSince`. */
  now?: () => number;
}

export interface WriterStats {
  batches: number;
  points: number;
  reports: number;
  retries: number;
  refusedFull: number;
}

type Failure = { kind: 'retry' | 'auth' | 'reject' | 'no_database'; err: unknown };

/** Classifies a write error: retry what can succeed later (network, 5xx, timeouts), reject what cannot (4xx). */
export function classifyWriteError(err: unknown): Failure['kind'] {
  const status = err instanceof InfluxWriteError ? err.status : undefined;
  const message = String((err as Error | undefined)?.message ?? err);
  if (status === 404 || /database not found/i.test(message)) return 'no_database';
  // A wrong password or a missing grant is the operator's to fix, not the data's fault: keep retrying (and say so
  // loudly) rather than dead-letter and ack reports that the agents would then delete.
  if (status === 401 || status === 403) return 'auth';
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) return 'reject';
  return 'retry';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes in flight at once. */
const MAX_IN_FLIGHT = 2;

/**
 * Batches reports into InfluxDB writes. A report is acknowledged only after the write that holds it succeeded.
 * While InfluxDB is down the current batch is retried with backoff and new reports wait, up to `maxPendingPoints`;
 * past that they are refused (not acked), and the agents, which still hold them, send them again later.
 * `whenRoom` is the flow control in front of it: past `highWaterPoints` new messages wait in the broker instead.
 */
export class BatchWriter implements Room {
  private queue: PendingReport[] = [];
  /** Points queued or being written: what `maxPendingPoints` bounds. */
  private queuedPoints = 0;
  /** Points queued and not yet taken into a write. */
  private waitingPoints = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly lanes = new Set<Promise<void>>();
  private stopped = false;
  /** The last write failed and is being retried: the queue does not drain, so flow control lets messages through. */
  private failing = false;
  private readonly waiters: Array<() => void> = [];
  private readonly highWater: number;
  readonly stats: WriterStats = { batches: 0, points: 0, reports: 0, retries: 0, refusedFull: 0 };
  /** Since when writes have been failing (ms epoch); undefined while they succeed. */
  failingSince: number | undefined;

  constructor(private readonly deps: WriterDeps) {
    this.highWater = Math.min(deps.maxPendingPoints, deps.highWaterPoints ?? 4 * deps.batchPoints);
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

  /**
   * Calls `cb` once fewer than `highWaterPoints` wait. While InfluxDB fails it does not wait: an outage is met by
   * `maxPendingPoints` and the agents' re-sends, and a message held for minutes would stall the MQTT connection
   * (its keepalive answers queue behind it).
   */
  whenRoom(cb: () => void): void {
    if (this.queuedPoints < this.highWater || this.failing || this.stopped) cb();
    else this.waiters.push(cb);
  }

  private release(): void {
    while (this.waiters.length > 0 && (this.queuedPoints < this.highWater || this.failing || this.stopped)) this.waiters.shift()!();
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
    this.release();
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
      this.release();
    }
  }

  private setFailing(failing: boolean): void {
    this.failing = failing;
    if (failing) this.release();
  }

  private async writeWithRetry(batch: PendingReport[]): Promise<void> {
    let delay = 250;
    for (;;) {
      const failure = await this.tryWrite(batch);
      if (!failure) {
        this.setFailing(false);
        this.stored(batch);
        return;
      }
      this.failingSince ??= (this.deps.now ?? Date.now)();
      if (failure.kind === 'no_database') {
        await this.deps.ensureDatabase().catch((err: unknown) => this.deps.log.warn({ err }, 'cannot create database'));
      } else if (failure.kind === 'reject') {
        // InfluxDB refused the batch (a partial write, a type conflict, outside retention): find the culprits one
        // report at a time, store the rest, and keep the refused ones with their reason instead of retrying forever.
        await this.isolate(batch);
        return;
      } else {
        this.stats.retries++;
        this.setFailing(true);
        if (failure.kind === 'auth') this.deps.log.error({ err: failure.err, retry_in_ms: delay }, 'InfluxDB refused the credentials; check influx.username and password; retrying');
        else this.deps.log.warn({ err: failure.err, retry_in_ms: delay, reports: batch.length }, 'InfluxDB write failed; retrying');
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
      await this.deps.write(body);
      return undefined;
    } catch (err) {
      return { kind: classifyWriteError(err), err };
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
          this.deps.onRejected(r, (failure.err as Error).message);
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
    let points = 0;
    for (const r of batch) points += r.points;
    this.stats.batches++;
    this.stats.points += points;
    this.stats.reports += batch.length;
    this.deps.onStored(batch);
  }
}
