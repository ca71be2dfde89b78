import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { brokerTlsOptions, superviseConnection, type ConnectionSupervisor } from '../lib/broker.js';
import type { Logger } from '../lib/log.js';
import { encodeJsonText } from '../protocol/codec.js';
import { ackMessage, fromRanges, type EventMessage } from '../protocol/report.js';
import { topicFor } from '../protocol/topics.js';
import type { AgentConfig } from './config.js';
import { ClockEstimator } from './clock.js';
import type { Outbox, OutboxEntry } from './outbox.js';

const MAX_HELD_EVENTS = 100;

export interface UplinkDeps {
  outbox: Outbox;
  log: Logger;
  now: () => number;
  /** The broker password, already read from its file or the environment. */
  password?: string;
}

export interface UplinkStats {
  connects: number;
  drops: number;
  published: number;
  acked: number;
}

/** What the uplink tells listeners: `connect` on every (re)connection, `drop` on every unexpected loss of it. */
export interface UplinkEvents {
  connect: [];
  drop: [];
}

/**
 * The agent's side of the wire: one MQTT connection that sends the newest report first and the backlog after it at a
 * bounded rate, and deletes from the outbox exactly what the collector acknowledges.
 */
export class Uplink extends EventEmitter<UplinkEvents> {
  private client: MqttClient | undefined;
  private supervisor: ConnectionSupervisor | undefined;
  /** Backfill reports sent and not yet acknowledged, with when they went (at most `outbox.backfill_window`). */
  private readonly inFlight = new Map<number, number>();
  /** Backfill reports that may still go out this second (`outbox.backfill_rate`). */
  private budget = 0;
  private timer: NodeJS.Timeout | undefined;
  private wasConnected = false;
  private readonly heldEvents: EventMessage[] = [];
  /** Local publish times of the latest live reports, to time their acks (a few are enough). */
  private readonly liveSentAt = new Map<number, number>();
  private readonly clock = new ClockEstimator();
  private readonly topics: { report: string; status: string; event: string; ack: string };
  readonly stats: UplinkStats = { connects: 0, drops: 0, published: 0, acked: 0 };

  constructor(
    private readonly cfg: AgentConfig,
    private readonly deps: UplinkDeps,
  ) {
    super();
    const id = cfg.station;
    this.topics = { report: topicFor(id, 'report'), status: topicFor(id, 'status'), event: topicFor(id, 'event'), ack: topicFor(id, 'ack') };
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    const { broker } = this.cfg;
    const v5 = broker.protocol_version === 5;
    const opts: IClientOptions = {
      protocolVersion: broker.protocol_version,
      clientId: this.cfg.station,
      username: broker.username ?? this.cfg.station,
      ...(this.deps.password !== undefined ? { password: this.deps.password } : {}),
      clean: false,
      keepalive: Math.max(5, Math.round(broker.keepalive / 1000)),
      // Retries are superviseConnection's: jittered exponential backoff, so a province of agents does not hammer a
      // restarted broker in lockstep.
      reconnectPeriod: 0,
      // The ack subscription is made on every connect below, whatever the broker says it remembers.
      resubscribe: false,
      connectTimeout: 15_000,
      // mqtt-packet otherwise pre-builds a Buffer for each of the 65,536 packet ids: 6.3 MB of heap for an agent that
      // has a few messages in flight (docs/performance.md, "Agent footprint").
      writeCache: false,
      ...(v5 ? { properties: { sessionExpiryInterval: 86_400 } } : {}),
      will: {
        topic: this.topics.status,
        payload: Buffer.from(JSON.stringify({ state: 'offline', ts: this.deps.now() })),
        qos: 1,
        retain: true,
      },
      ...brokerTlsOptions(broker),
    };
    const client = mqtt.connect(broker.url, opts);
    this.client = client;
    this.supervisor = superviseConnection(client, { min_ms: broker.reconnect_min, max_ms: broker.reconnect_max, log: this.deps.log });
    client.on('connect', (ack) => {
      this.stats.connects++;
      this.wasConnected = true;
      this.deps.log.info({ url: broker.url, sessionPresent: ack.sessionPresent }, 'broker connected');
      client.publish(this.topics.status, JSON.stringify({ state: 'online', ts: this.deps.now() }), { qos: 1, retain: true });
      client.subscribe(this.topics.ack, { qos: 1 }, (err) => {
        if (err) this.deps.log.warn({ err }, 'ack subscription failed');
      });
      this.sendNewestThenBacklog();
      this.flushEvents();
      this.emit('connect');
    });
    client.on('close', () => {
      // superviseConnection logs the loss (one line per failed attempt) and reconnects.
      if (this.wasConnected) {
        this.wasConnected = false;
        this.stats.drops++;
        this.emit('drop');
      }
    });
    client.on('message', (topic, payload) => {
      if (topic === this.topics.ack) this.handleAck(payload);
    });
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.supervisor?.stop();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      // A clean shutdown says offline itself; the will covers the unclean ones.
      await client.publishAsync(this.topics.status, JSON.stringify({ state: 'offline', ts: this.deps.now() }), { qos: 1, retain: true }).catch(() => {});
    }
    await client.endAsync();
  }

  /** Sends a freshly committed report at once, ahead of any backlog. */
  sendLive(entry: OutboxEntry): void {
    if (!this.connected) return;
    this.liveSentAt.set(entry.seq, this.deps.now());
    if (this.liveSentAt.size > 8) this.liveSentAt.delete(this.liveSentAt.keys().next().value!);
    this.send([entry]);
  }

  /** This station's clock minus the collector's, in ms, estimated from recent acks (agent/clock.ts). */
  clockOffsetMs(): number | undefined {
    return this.clock.offsetMs(this.deps.now());
  }

  /** Publishes an event; while offline the latest few wait in memory (their counts are in the reports anyway). */
  event(e: Omit<EventMessage, 'station' | 'ts'> & { ts?: number }): void {
    const msg: EventMessage = { station: this.cfg.station, ts: e.ts ?? this.deps.now(), ...e };
    if (!this.client?.connected) {
      this.heldEvents.push(msg);
      if (this.heldEvents.length > MAX_HELD_EVENTS) this.heldEvents.shift();
      return;
    }
    this.client.publish(this.topics.event, JSON.stringify(msg), { qos: 1 });
  }

  private flushEvents() {
    const held = this.heldEvents.splice(0);
    for (const msg of held) this.client?.publish(this.topics.event, JSON.stringify(msg), { qos: 1 });
  }

  private sendNewestThenBacklog() {
    this.deps.outbox.resetSent();
    this.inFlight.clear();
    const newest = this.deps.outbox.newest();
    if (newest) this.send([newest]);
    this.tick();
  }

  /** Every second: a new second's worth of backfill (`backfill_rate`), as far as the window allows. */
  private tick() {
    this.budget = Math.ceil(this.cfg.outbox.backfill_rate);
    this.pump();
  }

  /** Sends due reports from the backlog, oldest first, at most `backfill_rate` a second in batches. */
  private pump() {
    if (!this.connected) return;
    const { ack_timeout, backfill_batch } = this.cfg.outbox;
    const window = this.cfg.outbox.backfill_window ?? 2 * backfill_batch;
    const now = this.deps.now();
    // A report whose ack is overdue is due again (the outbox says when); it no longer holds a place in the window.
    for (const [seq, at] of this.inFlight) if (now - at >= ack_timeout) this.inFlight.delete(seq);
    const room = Math.min(this.budget, window - this.inFlight.size);
    if (room <= 0) return;
    const due = this.deps.outbox.due(now, ack_timeout, room);
    this.budget -= due.length;
    for (const e of due) this.inFlight.set(e.seq, now);
    for (let i = 0; i < due.length; i += backfill_batch) this.send(due.slice(i, i + backfill_batch));
  }

  private send(entries: OutboxEntry[]) {
    const client = this.client;
    if (!client) return;
    // Bodies are stored as JSON text, so a batch is joined without parsing them again.
    const json = entries.length === 1 ? entries[0]!.body : `[${entries.map((e) => e.body).join(',')}]`;
    const payload = encodeJsonText(json, this.cfg.broker.compress ? 'deflate' : 'json');
    this.deps.outbox.markSent(entries.map((e) => e.seq), this.deps.now());
    this.stats.published += entries.length;
    client.publish(this.topics.report, payload, { qos: 1 }, (err) => {
      if (err) this.deps.log.debug({ err: err.message }, 'publish not confirmed; will resend after ack timeout');
    });
  }

  private timeAck(seqs: number[], collectorTime: number) {
    const received = this.deps.now();
    for (const seq of seqs) {
      const sent = this.liveSentAt.get(seq);
      if (sent === undefined) continue;
      this.liveSentAt.delete(seq);
      this.clock.add(sent, received, collectorTime);
    }
  }

  private handleAck(payload: Buffer) {
    let seqs: number[];
    try {
      const msg = ackMessage.parse(JSON.parse(payload.toString('utf8')));
      seqs = [...fromRanges(msg.stored), ...fromRanges(msg.rejected)];
      if (msg.t !== undefined) this.timeAck(seqs, msg.t);
      if (msg.rejected.length > 0) this.deps.log.error({ rejected: msg.rejected }, 'collector rejected reports for good');
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'ignoring malformed ack');
      return;
    }
    this.stats.acked += this.deps.outbox.ack(seqs);
    for (const seq of seqs) this.inFlight.delete(seq);
    // Acks open the window: the backfill goes on at once, within this second's budget, not at the next tick.
    if (this.budget > 0) this.pump();
  }
}
