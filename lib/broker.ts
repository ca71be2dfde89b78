import { existsSync, readFileSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { z } from 'zod';
import { backoffDelay } from './backoff.js';
import { ConfigError, durationMs } from './config-file.js';
import type { Logger } from './log.js';

/** Broker keys the agent and the collector share: who connects, how, and with which credentials. */
export const brokerAuthFields = {
  username: z.string().min(1).optional(),
  /** A file holding the password; or set LINKWATCH_BROKER_PASSWORD. */
  password_file: z.string().min(1).optional(),
  /** CA certificate (PEM) that signed the broker's certificate. */
  ca: z.string().min(1).optional(),
  /** Client certificate and key (PEM) for certificate authentication. */
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  /** 5 (default) or 4 (MQTT 3.1.1, for the embedded broker). */
  protocol_version: z.union([z.literal(5), z.literal(4)]).default(5),
  /** First retry after a lost or refused connection; each further retry waits twice as long, jittered (lib/backoff.ts). */
  reconnect_min: durationMs.prefault('1s'),
  /** Longest wait between retries: also the longest a station stays away once the broker is back. */
  reconnect_max: durationMs.prefault('15s'),
};

interface BrokerFiles {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/** Checks the broker's certificate files exist and that cert and key come together; names the key if not. */
export function checkBrokerFiles(configFile: string, broker: BrokerFiles): void {
  for (const key of ['ca', 'cert', 'key'] as const) {
    const path = broker[key];
    if (path && !existsSync(path)) throw new ConfigError(configFile, `broker.${key}`, `file not found: ${path}`);
  }
  if ((broker.cert === undefined) !== (broker.key === undefined)) {
    throw new ConfigError(configFile, broker.cert ? 'broker.key' : 'broker.cert', 'cert and key go together');
  }
}

/** The TLS part of MQTT.js client options, read from the files the config names. */
export function brokerTlsOptions(broker: BrokerFiles): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  return {
    ...(broker.ca ? { ca: readFileSync(broker.ca) } : {}),
    ...(broker.cert ? { cert: readFileSync(broker.cert) } : {}),
    ...(broker.key ? { key: readFileSync(broker.key) } : {}),
  };
}

export interface ConnectionSupervisor {
  /** Stops retrying (call before ending the client). */
  stop(): void;
  /** Failed attempts since the last successful connection. */
  readonly failures: number;
  /** Failed attempts and lost connections since the start. */
  readonly totalFailures: number;
}

/**
 * Keeps an MQTT.js client connected: after a lost or refused connection it retries with jittered exponential backoff
 * (MQTT.js's own `reconnectPeriod` retries at one fixed period, so a province of agents would hammer a restarted
 * broker in lockstep; create the client with `reconnectPeriod: 0`). Each failed attempt is one log line, carrying the
 * error that caused it. The client's message stores are kept across reconnects, so QoS 1 messages in flight are sent
 * again.
 */
export function superviseConnection(
  client: MqttClient,
  opts: { min_ms: number; max_ms: number; log: Logger; random?: () => number },
): ConnectionSupervisor {
  const random = opts.random ?? Math.random;
  let stopped = false;
  let failures = 0;
  let totalFailures = 0;
  let wasConnected = false;
  let lastError: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  client.on('error', (err) => {
    lastError = err;
    opts.log.debug({ err }, 'broker error');
  });
  client.on('connect', () => {
    failures = 0;
    wasConnected = true;
    lastError = undefined;
  });
  client.on('close', () => {
    if (stopped || timer) return;
    failures++;
    totalFailures++;
    const delay = backoffDelay(failures, { min_ms: opts.min_ms, max_ms: opts.max_ms }, random());
    const err = lastError;
    lastError = undefined;
    if (wasConnected) opts.log.warn({ ...(err ? { err } : {}), retry_in_ms: delay }, 'broker connection lost; reconnecting');
    else opts.log.warn({ ...(err ? { err } : {}), attempt: failures, retry_in_ms: delay }, 'broker unreachable; retrying');
    wasConnected = false;
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopped) client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    }, delay);
  });
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    get failures() {
      return failures;
    },
    get totalFailures() {
      return totalFailures;
    },
  };
}
