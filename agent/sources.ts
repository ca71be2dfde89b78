import type { Logger } from '../lib/log.js';
import type { ReportSources } from './agent.js';
import { readBacklog } from './backlog.js';
import type { AgentConfig } from './config.js';
import { HostVitals } from './host.js';
import { MqttSession, Sessions, type ConnectionEvents, type SessionEventOut } from './sessions.js';

/** The name under which the agent's own broker connection is reported among the sessions. */
export const MQTT_SESSION = 'mqtt';

export interface StationSources {
  sources: ReportSources;
  sessions: Sessions;
  /** Present when the broker connection is watched (`link` given; not in `--once`). */
  mqtt?: MqttSession;
  start(): void;
  stop(): void;
}

/** Builds the non-probe parts of a report from the config: sessions, backlog sources and host vitals. No I/O. */
export function buildSources(
  cfg: AgentConfig,
  deps: { log: Logger; now: () => number; emit?: (e: SessionEventOut) => void; link?: ConnectionEvents },
): StationSources {
  const sessionDeps = { now: deps.now, log: deps.log.child({ component: 'sessions' }), ...(deps.emit ? { emit: deps.emit } : {}) };
  const mqtt = deps.link ? new MqttSession(MQTT_SESSION, sessionDeps, deps.link) : undefined;
  const sessions = new Sessions(cfg.sessions, sessionDeps, mqtt ? [mqtt] : []);
  const host = new HostVitals({ diskPath: cfg.outbox.path, ...(cfg.interface ? { iface: cfg.interface } : {}), now: deps.now });
  return {
    sessions,
    ...(mqtt ? { mqtt } : {}),
    sources: {
      sessions: () => sessions.samples(),
      backlog: (signal) => readBacklog(cfg.backlog, signal, deps.now),
      host: () => host.sample(),
    },
    start: () => sessions.start(),
    stop: () => sessions.stop(),
  };
}
