import type { InfluxDB, IPoint } from 'influx';
import type { Logger } from '../lib/log.js';

/** A unit of acknowledgement: one report's points, and who to tell once they are stored. */
export interface PendingReport {
  station: string;
  /** Absent for points nobody waits on (status and event messages). */
  seq?: number;
  points: IPoint[];
  /** The report itself, kept in the dead letters if InfluxDB refuses it for good. */
  report: unknown;
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
}

export interface WriterStats {
  batches: number;
  points: number;
  reports: number;
  retries: number;
  refusedFull: number;
}

type Failure = { kind: 'retry'; message: string } | { kind: 'reject'; message: string } | { kind: 'no_database'; message: string };

/** Classifies a write error: retry what can succeed later (network, 5xx, timeouts), reject what cannot (4xx). */
export function classifyWriteError(err: unknown): Failure {
  const e = err as { res?: { statusCode?: number }; message?: string };
  const message = String(e.message ?? err).slice(0, 500);
  const status = e.res?.statusCode;
  if (status === 404 || /database not found/i.test(message)) return { kind: 'no_database', message };
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'reject', message };
  return { kind: 'retry', message };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Batches reports into InfluxDB writes. A report is acknowledged only after the write that holds it succeeded.
 * While InfluxDB is down the current batch is retried with backoff and new reports wait, up to `maxPendingPoints`;
 * past that they are refused (not acked), and the agents, which still hold them, send them again later.
 */
export class BatchWriter {
  private queue: PendingReport[] = [];
  private queuedPoints = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private stopped = false;
  readonly stats: WriterStats = { batches: 0, points: 0, reports: 0, retries: 0, refusedFull: 0 };

  constructor(private readonly deps: WriterDeps) {}

  /** Queues a report; returns false when the writer is full and the report was not taken. */
  add(r: PendingReport): boolean {
    if (this.queuedPoints + r.points.length > this.deps.maxPendingPoints) {
      this.stats.refusedFull++;
      return false;
    }
    this.queue.push(r);
    this.queuedPoints += r.points.length;
    if (this.queuedPoints >= this.deps.batchPoints) this.kick();
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
    if (this.flushing || this.stopped) return;
    this.flushing = this.drain().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0 && !this.stopped) this.kick();
    });
  }

  /** Writes everything queued now; resolves when it is stored or the writer is stopped. */
  async flush(): Promise<void> {
    this.kick();
    while (this.flushing) await this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.stopped = true;
    await this.flushing;
  }

  private takeBatch(): PendingReport[] {
    const batch: PendingReport[] = [];
    let points = 0;
    while (this.queue.length > 0 && (batch.length === 0 || points + this.queue[0]!.points.length <= this.deps.batchPoints)) {
      const r = this.queue.shift()!;
      batch.push(r);
      points += r.points.length;
    }
    return batch;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const batch = this.takeBatch();
      await this.writeWithRetry(batch);
      for (const r of batch) this.queuedPoints -= r.points.length;
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
      if (failure.kind === 'no_database') {
        await this.deps.ensureDatabase().catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'cannot create database'));
      } else if (failure.kind === 'reject') {
        // InfluxDB refused the batch (a partial write, a type conflict, outside retention): find the culprits one
        // report at a time, store the rest, and keep the refused ones with their reason instead of retrying forever.
        await this.isolate(batch);
        return;
      } else {
        this.stats.retries++;
        this.deps.log.warn({ err: failure.message, retry_in_ms: delay, reports: batch.length }, 'InfluxDB write failed; retrying');
        if (this.stopped) return;
        await sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      }
      if (this.stopped) return;
    }
  }

  private async tryWrite(batch: PendingReport[]): Promise<Failure | undefined> {
    const points: IPoint[] = [];
    for (const r of batch) for (const p of r.points) points.push(p);
    try {
      await this.deps.influx.writePoints(points, { precision: 'ms' });
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
    const byStation = new Map<string, number[]>();
    let points = 0;
    for (const r of batch) {
      points += r.points.length;
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
