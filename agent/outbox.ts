/** A report waiting in the outbox. `body` is the report's JSON text. */
export interface OutboxEntry {
  seq: number;
  ts: number;
  body: string;
  attempts: number;
}

/** What `append` committed: the entry itself, and how many old reports made room for it. */
export interface Appended {
  entry: OutboxEntry;
  dropped: number;
}

/**
 * The agent's only durable queue. Every report is committed before it is sent and leaves only when the collector
 * acknowledges that InfluxDB has it. Bounded in bytes: when full the oldest go, and are counted.
 */
export interface Outbox {
  /** Allocates the next sequence number, builds the report with it, and commits it; returns the committed entry. */
  append(build: (seq: number) => { ts: number; body: string }): Appended;
  /** The newest report not yet acknowledged, if any. */
  newest(): OutboxEntry | undefined;
  /** Up to `limit` reports, oldest first, that `isDue` under an ack timeout of `ackTimeoutMs`. */
  due(now: number, ackTimeoutMs: number, limit: number): OutboxEntry[];
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

/** The longest wait before a re-send, as a multiple of the ack timeout. */
export const MAX_BACKOFF_FACTOR = 8;

/**
 * The resend policy: how long after its last send a report waits for its ack before it goes again. The first wait is
 * the ack timeout; each further attempt doubles it, up to MAX_BACKOFF_FACTOR×, so a collector that refuses or an
 * uplink that loses everything is not flooded with the same backlog. Pure.
 */
export function resendDelayMs(attempts: number, ackTimeoutMs: number): number {
  return ackTimeoutMs * Math.min(2 ** Math.max(attempts - 1, 0), MAX_BACKOFF_FACTOR);
}

/** Whether a report last sent at `sentAt` (null: never, or reset by a reconnect) should be sent now. Pure. */
export function isDue(sentAt: number | null, attempts: number, now: number, ackTimeoutMs: number): boolean {
  return sentAt === null || sentAt + resendDelayMs(attempts, ackTimeoutMs) <= now;
}
