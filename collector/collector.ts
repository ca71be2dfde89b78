import { PayloadError, type RejectReason } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { decodePayload } from '../protocol/codec.js';
import { eventMessage, report, statusMessage } from '../protocol/report.js';
import { parseTopic } from '../protocol/topics.js';
import type { Acks } from './acks.js';
import type { DeadLetters } from './dead-letters.js';
import { pointToLine, type Point } from './influx.js';
import { reportToLines, stationTags } from './points.js';
import type { Station } from './registry.js';
import type { BatchWriter, PendingReport } from './writer.js';

export type { RejectReason };

export interface IngestDeps {
  log: Logger;
  now: () => number;
  writer: Pick<BatchWriter, 'add'>;
  deadLetters: DeadLetters;
  /** Acks refused reports to their agents (`Acks.rejected`). */
  acks: Pick<Acks, 'rejected'>;
  /** The current registry (it may be reloaded while running). */
  registry: () => ReadonlyMap<string, Station>;
  maxPayloadBytes: number;
  retentionMs: number;
}

export interface IngestStats {
  messages: number;
  reports: number;
  rejected: number;
}

// A report from further ahead than this is from a station whose clock is wrong.
const MAX_FUTURE_MS = 5 * 60_000;

/**
 * validate → enrich → write. Stateless: what it holds is in flight to InfluxDB; anything not acknowledged is still in
 * the agent's outbox. Never throws on bad input: every refusal is counted by reason and kept for inspection.
 */
export class Ingest {
  readonly stats: IngestStats = { messages: 0, reports: 0, rejected: 0 };

  constructor(private readonly deps: IngestDeps) {}

  /** Handles one MQTT message. */
  handle(topic: string, payload: Buffer): void {
    this.stats.messages++;
    const t = parseTopic(topic);
    if (!t) return this.reject('bad_topic', { topic });
    if (t.kind === 'report') return this.handleReports(topic, t.station, payload);
    if (t.kind === 'status') return this.handleStatus(topic, t.station, payload);
    if (t.kind === 'event') return this.handleEvent(topic, t.station, payload);
  }

  private handleReports(topic: string, station: string, payload: Buffer) {
    const registered = this.deps.registry().get(station);
    if (!registered) return this.reject('unknown_station', { topic, station, payload: preview(payload) });
    let value: unknown;
    try {
      value = decodePayload(payload, this.deps.maxPayloadBytes);
    } catch (err) {
      const reason = err instanceof PayloadError ? err.reason : 'bad_encoding';
      return this.reject(reason, { topic, station, detail: (err as Error).message, payload: preview(payload) });
    }
    const items = Array.isArray(value) ? value : [value];
    const now = this.deps.now();
    const rejectedSeqs: number[] = [];
    for (const item of items) {
      const parsed = report.safeParse(item);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const seq = seqOf(item);
        this.reject('schema', { topic, station, ...(seq !== undefined ? { seq } : {}), detail: `${issue.path.join('.')}: ${issue.message}`, payload: item });
        if (seq !== undefined) rejectedSeqs.push(seq);
        continue;
      }
      const r = parsed.data;
      if (r.station !== station) {
        // Identity comes from authentication (the topic); a payload naming another station is a forgery or a bug.
        this.reject('station_mismatch', { topic, station, seq: r.seq, detail: `payload says ${r.station}` });
        rejectedSeqs.push(r.seq);
        continue;
      }
      if (r.ts < now - this.deps.retentionMs || r.ts > now + MAX_FUTURE_MS) {
        this.reject(r.ts > now ? 'future_ts' : 'stale_ts', { topic, station, seq: r.seq, detail: `ts ${new Date(r.ts).toISOString()}`, payload: r });
        rejectedSeqs.push(r.seq);
        continue;
      }
      const { lines, points } = reportToLines(r, registered, now);
      // The parsed report is not kept: holding thousands of them until the write made them outlive the young
      // generation, and the collector spent a fifth of its time in GC. The lines say what was refused, if it comes to that.
      const pending: PendingReport = { station, seq: r.seq, lines, points, received: now };
      // A full writer (counted there as refused_full) is not a rejection: not acked, the agent sends it again later.
      if (this.deps.writer.add(pending)) this.stats.reports++;
    }
    this.deps.acks.rejected(station, rejectedSeqs);
  }

  private handleStatus(topic: string, station: string, payload: Buffer) {
    const registered = this.deps.registry().get(station);
    if (!registered) return this.reject('unknown_station', { topic, station });
    const parsed = statusMessage.safeParse(safeJson(payload));
    // An empty retained message clears a status: nothing to record.
    if (payload.length === 0) return;
    if (!parsed.success) return this.reject('schema', { topic, station, payload: preview(payload) });
    // Stamped when received: a last will carries the time the agent connected, not the time it went away.
    this.write(station, { measurement: 'status', tags: stationTags(registered), fields: { state: parsed.data.state }, timestamp: this.deps.now() });
  }

  private handleEvent(topic: string, station: string, payload: Buffer) {
    const registered = this.deps.registry().get(station);
    if (!registered) return this.reject('unknown_station', { topic, station });
    const parsed = eventMessage.safeParse(safeJson(payload));
    if (!parsed.success) return this.reject('schema', { topic, station, payload: preview(payload) });
    const e = parsed.data;
    if (e.station !== station) return this.reject('station_mismatch', { topic, station, detail: `payload says ${e.station}` });
    const fields: Record<string, string | number> = {};
    if (e.name !== undefined) fields.name = e.name;
    if (e.count !== undefined) fields.count = e.count;
    if (e.down_ms !== undefined) fields.down_ms = e.down_ms;
    if (e.detail !== undefined) fields.detail = e.detail;
    if (Object.keys(fields).length === 0) fields.count = 1;
    this.write(station, { measurement: 'event', tags: { ...stationTags(registered), type: e.type }, fields, timestamp: e.ts });
  }

  private write(station: string, point: Point) {
    this.deps.writer.add({ station, lines: pointToLine(point), points: 1 });
  }

  private reject(reason: RejectReason, letter: { topic?: string; station?: string; seq?: number; detail?: string; payload?: unknown }) {
    this.stats.rejected++;
    this.deps.deadLetters.keep({ reason, ...letter });
    this.deps.log.debug({ reason, topic: letter.topic, detail: letter.detail }, 'message rejected');
  }
}

function safeJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

function seqOf(item: unknown): number | undefined {
  const seq = (item as { seq?: unknown } | null)?.seq;
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
}

/** A bounded, printable preview of a payload for the dead letters. */
function preview(payload: Buffer): string {
  return payload.subarray(0, 2048).toString(payload[0] === 0x78 ? 'base64' : 'utf8');
}

