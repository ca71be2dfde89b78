/**
 * The collector's two acknowledgements, and the only place either is made.
 *
 * - **To the agent** (`linkwatch/v1/<id>/ack`): "acknowledge only what InfluxDB stored". `stored` is called by the
 *   writer once InfluxDB answered 204 for a batch; `rejected` by the ingest for reports refused for good (their seq
 *   readable); `refused` by the writer for a report InfluxDB refuses for good, which is kept in the dead letters
 *   first. The agent deletes exactly what an ack names; anything else it sends again.
 * - **To the broker** (the MQTT PUBACK of each message): `pubackWhenRoom` is MQTT.js's `customHandleAcks`. It lets a
 *   message in, and so its PUBACK out, only once the writer has room. MQTT.js handles one incoming packet at a time
 *   and reads no more from the socket while one waits, so under a flood the backlog stays in the broker (and the
 *   sockets' buffers), not in the collector's heap. Receive Maximum alone would not hold it there: mosquitto 2.0.11
 *   sends past it once PUBACKs flow (docs/performance.md, "Issue 13"). A PUBACK never stands for "stored": a
 *   collector that dies after it simply never sends the agent's ack, and the agent sends the report again.
 */
import type { AckHandler } from 'mqtt';
import type { Logger } from '../lib/log.js';
import { topicFor } from '../protocol/topics.js';
import type { DeadLetters } from './dead-letters.js';
import type { PendingReport } from './writer.js';

export interface AcksDeps {
  /** Publishes an ack (QoS 1) on a station's ack topic. */
  publish: (topic: string, body: string) => void;
  /** The collector's clock: every ack carries it, for the agents' clock check. */
  now: () => number;
  deadLetters: DeadLetters;
  log: Logger;
  /** Time from a report's arrival to the ack saying it is stored, for the collector's /metrics. */
  observeAckLatency?: (ms: number) => void;
}

/** Writes sequence numbers as the JSON of inclusive ranges: [1,2,3,7] → `[[1,3],[7,7]]`. Sorts `seqs` in place when out of order. */
export function rangesJson(seqs: number[]): string {
  if (seqs.length === 1) return `[[${seqs[0]},${seqs[0]}]]`;
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i]! < seqs[i - 1]!) {
      seqs.sort((a, b) => a - b);
      break;
    }
  }
  let out = '';
  let from = seqs[0]!;
  let to = from;
  for (let i = 1; i <= seqs.length; i++) {
    const s = seqs[i];
    if (s === to || s === to + 1) {
      to = s;
      continue;
    }
    out += `${out.length === 0 ? '' : ','}[${from},${to}]`;
    if (s !== undefined) from = to = s;
  }
  return `[${out}]`;
}

/** Acks to the agents; the one module that builds them. */
export class Acks {
  /** Ack messages published. */
  sent = 0;

  constructor(private readonly deps: AcksDeps) {}

  /** A batch is in InfluxDB: each station is told its stored sequence numbers, one ack per station. */
  stored(batch: readonly PendingReport[]): void {
    // In a flood each station has one report or a few in a batch: one small array each, no intermediate objects.
    const byStation = new Map<string, number[]>();
    const observe = this.deps.observeAckLatency;
    const now = observe ? this.deps.now() : 0;
    for (const r of batch) {
      if (observe && r.received !== undefined) observe(now - r.received);
      if (r.seq === undefined) continue;
      const seqs = byStation.get(r.station);
      if (seqs) seqs.push(r.seq);
      else byStation.set(r.station, [r.seq]);
    }
    for (const [station, seqs] of byStation) this.send(station, seqs, undefined);
  }

  /** Reports refused for good before writing (schema, identity, time window): the agent may drop them. */
  rejected(station: string, seqs: number[]): void {
    if (seqs.length > 0) this.send(station, undefined, seqs);
  }

  /** A report InfluxDB refuses for good (type conflict, outside retention): kept with the reason, then acked rejected. */
  refused(r: PendingReport, reason: string): void {
    this.deps.deadLetters.keep({ reason: 'influx_refused', station: r.station, ...(r.seq !== undefined ? { seq: r.seq } : {}), detail: reason, payload: r.lines });
    this.deps.log.error({ station: r.station, seq: r.seq, reason }, 'InfluxDB refused a report; kept in dead letters');
    if (r.seq !== undefined) this.send(r.station, undefined, [r.seq]);
  }

  private send(station: string, stored: number[] | undefined, rejected: number[] | undefined): void {
    // Empty lists are left out: an ack crosses a station's small uplink once per report.
    const body = `{"v":1${stored ? `,"stored":${rangesJson(stored)}` : ''}${rejected ? `,"rejected":${rangesJson(rejected)}` : ''},"t":${this.deps.now()}}`;
    this.sent++;
    this.deps.publish(topicFor(station, 'ack'), body);
  }
}

/** What flow control needs of the writer. */
export interface Room {
  /** Calls `cb` once the writer can take more (at once if it can now, or if it is failing and cannot drain). */
  whenRoom(cb: () => void): void;
}

/** MQTT.js `customHandleAcks` (MQTT 5 only; on 3.1.1 MQTT.js acks at once): PUBACK once there is room. */
export function pubackWhenRoom(room: Room): AckHandler {
  return (_topic, _message, _packet, done) => room.whenRoom(() => done(0));
}
