import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { z } from 'zod';
import { durationMs } from '../lib/config-file.js';
import type { Logger } from '../lib/log.js';
import { itemName, type EventMessage, type SessionSample } from '../protocol/report.js';
import { readOperstate, type OperstateReader } from './netinfo.js';
import { classifySocketError } from './probes/types.js';
import { readCa, sniFor, verifyErrorOf } from './probes/tls.js';

// ── config ──────────────────────────────────────────────────────────────────────────────────────────────────────

const connection = {
  name: itemName,
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** TCP keepalive: how long the connection may idle before the OS probes the peer. */
  keepalive: durationMs.prefault('15s'),
  /** Wait before reconnecting after a drop, doubled per failed attempt up to `retry_max`. */
  retry: durationMs.prefault('1s'),
  retry_max: durationMs.prefault('60s'),
  /** Time allowed for connect (and handshake). */
  timeout: durationMs.prefault('10s'),
};

export const sessionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...connection, kind: z.literal('tcp') }),
  z.strictObject({
    ...connection,
    kind: z.literal('tls'),
    port: connection.port.default(443),
    servername: z.string().min(1).optional(),
    ca: z.string().min(1).optional(),
    insecure: z.boolean().default(false),
  }),
  z.strictObject({
    name: itemName,
    kind: z.literal('iface'),
    /** The network interface to watch, as the OS names it (`eth0`, `Ethernet`, `Wi-Fi`). */
    interface: z.string().min(1),
    poll: durationMs.prefault('5s'),
  }),
]);
export type SessionConfig = z.output<typeof sessionSchema>;

// ── pure core ───────────────────────────────────────────────────────────────────────────────────────────────────

export type DropCause = 'close' | 'reset' | 'timeout' | 'refused' | 'unreachable' | 'tls_error' | 'link_down' | 'error';

/** One watched session: whether it is up, and drops and downtime accumulated since the last report. */
export interface SessionState {
  phase: 'starting' | 'up' | 'down';
  /** When the current phase began (ms epoch). */
  since: number;
  drops: number;
  downMs: number;
  /** Failed attempts since the last time up, for the reconnect back-off. */
  failures: number;
}

export type SessionEvent =
  | { type: 'up'; at: number }
  | { type: 'down'; at: number; cause: DropCause }
  | { type: 'failed'; at: number; cause: DropCause };

export const initialSession = (at: number): SessionState => ({ phase: 'starting', since: at, drops: 0, downMs: 0, failures: 0 });

/**
 * The session state machine. `down` from `up` is a drop; a failed (re)connect is not another drop; the time from a
 * drop (or a first failure) to the next `up` is downtime.
 */
export function evolve(s: SessionState, e: SessionEvent): SessionState {
  switch (e.type) {
    case 'up':
      return { ...s, phase: 'up', since: e.at, failures: 0, downMs: s.phase === 'down' ? s.downMs + Math.max(0, e.at - s.since) : s.downMs };
    case 'down':
      if (s.phase !== 'up') return evolve(s, { type: 'failed', at: e.at, cause: e.cause });
      return { ...s, phase: 'down', since: e.at, drops: s.drops + 1 };
    case 'failed':
      return s.phase === 'down' ? { ...s, failures: s.failures + 1 } : { ...s, phase: 'down', since: e.at, failures: s.failures + 1 };
  }
}

/** The report's view of a session at `now`, and the state with its counters restarted for the next interval. */
export function takeSample(name: string, s: SessionState, now: number): { sample: SessionSample; next: SessionState } {
  const ongoing = s.phase === 'down' ? Math.max(0, now - s.since) : 0;
  return {
    sample: { name, up: s.phase === 'up', drops: s.drops, down_ms: Math.round(s.downMs + ongoing) },
    next: { ...s, drops: 0, downMs: 0, since: s.phase === 'down' ? now : s.since },
  };
}

/** Delay before the next connect attempt: `retry` doubled per failure, capped. */
export const reconnectDelay = (s: SessionState, retryMs: number, maxMs: number): number =>
  Math.min(maxMs, retryMs * 2 ** Math.max(0, Math.min(20, s.failures - 1)));

/** Whether an interface is up from its OS operstate; undefined when the OS does not say. */
export function operstateUp(operstate: unknown): boolean | undefined {
  if (operstate === 'up') return true;
  if (operstate === 'down' || operstate === 'lowerlayerdown' || operstate === 'notpresent' || operstate === 'dormant') return false;
  return undefined;
}

// ── shell ───────────────────────────────────────────────────────────────────────────────────────────────────────

export type SessionEventOut = Omit<EventMessage, 'station' | 'ts'> & { ts?: number };

export interface SessionDeps {
  now: () => number;
  log: Logger;
  /** Publishes a drop as an event (the uplink's `event`). */
  emit?: (e: SessionEventOut) => void;
}

/** A watched session: the state machine plus whatever feeds it events. */
abstract class Watched {
  protected state: SessionState;
  constructor(
    readonly name: string,
    protected readonly deps: SessionDeps,
    private readonly eventType: 'session_drop' | 'iface_flap' | 'mqtt_drop',
  ) {
    this.state = initialSession(deps.now());
  }

  protected feed(e: SessionEvent): void {
    const before = this.state;
    this.state = evolve(before, e);
    if (this.state.drops > before.drops && e.type === 'down') {
      this.deps.log.warn({ session: this.name, cause: e.cause }, 'session dropped');
      this.deps.emit?.({ type: this.eventType, name: this.name, detail: e.cause, ts: e.at });
    }
  }

  get current(): SessionState {
    return this.state;
  }

  sample(): SessionSample {
    const { sample, next } = takeSample(this.name, this.state, this.deps.now());
    this.state = next;
    return sample;
  }

  abstract start(): void;
  abstract stop(): void;
}

type ConnectionConfig = Extract<SessionConfig, { kind: 'tcp' | 'tls' }>;

/** Holds one TCP or TLS connection open with keepalive; any close not asked for is a drop, then it reconnects. */
export class ConnectionWatcher extends Watched {
  private sock: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(private readonly cfg: ConnectionConfig, deps: SessionDeps) {
    super(cfg.name, deps, 'session_drop');
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.sock?.destroy();
    this.sock = undefined;
  }

  private connect(): void {
    const cfg = this.cfg;
    let opened = false;
    let cause: DropCause = 'close';
    let sock: Socket;
    if (cfg.kind === 'tls') {
      const { ca, error } = readCa(cfg.ca);
      if (error) return this.fail('error');
      const servername = sniFor(cfg.host, cfg.servername);
      sock = tlsConnect({ host: cfg.host, port: cfg.port, ...(servername ? { servername } : {}), ...(ca ? { ca } : {}), rejectUnauthorized: false });
      sock.once('secureConnect', () => {
        const bad = verifyErrorOf(sock as import('node:tls').TLSSocket);
        if (bad && !cfg.insecure) {
          cause = 'tls_error';
          sock.destroy();
          return;
        }
        opened = true;
        sock.setTimeout(0);
        this.feed({ type: 'up', at: this.deps.now() });
      });
    } else {
      sock = netConnect({ host: cfg.host, port: cfg.port });
      sock.once('connect', () => {
        opened = true;
        sock.setTimeout(0);
        this.feed({ type: 'up', at: this.deps.now() });
      });
    }
    this.sock = sock;
    sock.setKeepAlive(true, cfg.keepalive);
    sock.setNoDelay(true);
    sock.setTimeout(cfg.timeout, () => {
      cause = 'timeout';
      sock.destroy();
    });
    sock.on('data', () => {}); // a server may talk; the watcher only cares that the connection lives
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const c = classifySocketError(err);
      cause = c === 'dns_error' || c === 'http_status' || c === undefined ? 'error' : c;
    });
    sock.once('close', () => {
      if (this.stopped || this.sock !== sock) return;
      this.sock = undefined;
      if (opened) this.feed({ type: 'down', at: this.deps.now(), cause });
      else this.feed({ type: 'failed', at: this.deps.now(), cause });
      this.schedule();
    });
  }

  private fail(cause: DropCause): void {
    this.feed({ type: 'failed', at: this.deps.now(), cause });
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    // After a drop (failures 0) reconnect at once: the time to re-establish is what is measured.
    const delay = this.state.failures === 0 ? 0 : reconnectDelay(this.state, this.cfg.retry, this.cfg.retry_max);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

/** Polls a named interface; a change from up to down is a flap. */
export class IfaceWatcher extends Watched {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly cfg: Extract<SessionConfig, { kind: 'iface' }>,
    deps: SessionDeps,
    private readonly read: OperstateReader = readOperstate,
  ) {
    super(cfg.name, deps, 'iface_flap');
  }

  start(): void {
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.cfg.poll);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Reads the interface once (joining a read under way) and feeds the state machine. */
  poll(): Promise<void> {
    this.running ??= (async () => {
      const r = await this.read(this.cfg.interface).catch(() => undefined);
      const up = r && r.iface === this.cfg.interface ? operstateUp(r.operstate) : false;
      const at = this.deps.now();
      if (up === true) this.feed({ type: 'up', at });
      else if (up === false) this.feed({ type: 'down', at, cause: 'link_down' });
    })().finally(() => (this.running = undefined));
    return this.running;
  }
}

/** A connection that says when it is made and when it is lost (the uplink). */
export interface ConnectionEvents {
  readonly connected: boolean;
  on(event: 'connect' | 'drop', listener: () => void): unknown;
  off(event: 'connect' | 'drop', listener: () => void): unknown;
}

/** The agent's own broker connection, followed through the uplink's `connect` and `drop` events from `start()` on. */
export class MqttSession extends Watched {
  private readonly onConnect = () => this.feed({ type: 'up', at: this.deps.now() });
  private readonly onDrop = () => this.feed({ type: 'down', at: this.deps.now(), cause: 'close' });

  constructor(name: string, deps: SessionDeps, private readonly link: ConnectionEvents) {
    super(name, deps, 'mqtt_drop');
  }

  start(): void {
    this.link.on('connect', this.onConnect);
    this.link.on('drop', this.onDrop);
    if (this.link.connected) this.onConnect();
  }

  stop(): void {
    this.link.off('connect', this.onConnect);
    this.link.off('drop', this.onDrop);
  }
}

/** Every watched session of the agent. */
export class Sessions {
  readonly watchers: Watched[];
  constructor(configs: readonly SessionConfig[], deps: SessionDeps, extra: Watched[] = []) {
    this.watchers = [
      ...configs.map((c) => (c.kind === 'iface' ? new IfaceWatcher(c, deps) : new ConnectionWatcher(c, deps))),
      ...extra,
    ];
  }
  start(): void {
    for (const w of this.watchers) w.start();
  }
  stop(): void {
    for (const w of this.watchers) w.stop();
  }
  /** Resolves once every session has either connected or failed once, or after `timeoutMs` (for `--once`). */
  async settle(timeoutMs: number, pollMs = 20): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.watchers.some((w) => w.current.phase === 'starting')) {
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** One sample per session, restarting each one's counters: call once per report. */
  samples(): SessionSample[] {
    return this.watchers.map((w) => w.sample());
  }
}
