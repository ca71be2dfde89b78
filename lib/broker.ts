import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './config-file.js';

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
