import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfigFile } from '../lib/config-file.js';
import { createLogger, type Logger } from '../lib/log.js';
import { readSecret } from '../lib/secrets.js';
import { checkBrokerFiles } from '../lib/broker.js';
import { Agent, type ReportSources } from './agent.js';
import { agentConfigSchema, type AgentConfig } from './config.js';
import type { Outbox } from './outbox.js';
import { openOutbox } from './outbox-open.js';
import { gatewayResolver } from './probes/index.js';
import { buildSources, type StationSources } from './sources.js';
import { assertStartable } from './preflight.js';
import { Uplink } from './uplink.js';

/** Loads and checks an agent config: every problem is a ConfigError naming its key, before any network I/O. */
export function loadAgentConfig(file: string): AgentConfig {
  const cfg = loadConfigFile(file, agentConfigSchema);
  checkBrokerFiles(file, cfg.broker);
  const caFiles: Array<[string, string | undefined]> = [
    ...cfg.targets.map((t, i): [string, string | undefined] => [`targets[${i}].ca`, 'ca' in t ? t.ca : undefined]),
    ...cfg.sessions.map((s, i): [string, string | undefined] => [`sessions[${i}].ca`, 'ca' in s ? s.ca : undefined]),
    ...cfg.backlog.map((b, i): [string, string | undefined] => [`backlog[${i}].ca`, 'ca' in b ? b.ca : undefined]),
  ];
  for (const [key, path] of caFiles) {
    if (path && !existsSync(path)) throw new ConfigError(file, key, `file not found: ${path}`);
  }
  return cfg;
}

export interface RunningAgent {
  agent: Agent;
  uplink: Uplink;
  outbox: Outbox;
  station: StationSources;
  stop(): Promise<void>;
}

/** Composition root of the agent process. */
export function startAgent(cfg: AgentConfig, opts: { configFile: string; log?: Logger; sources?: ReportSources; now?: () => number }): RunningAgent {
  // An outbox it cannot write or a secret it cannot read is the operator's to fix: a ConfigError, not a stack trace.
  assertStartable(cfg, opts.configFile);
  const log = opts.log ?? createLogger({ level: cfg.log_level });
  const now = opts.now ?? Date.now;
  const password = readSecret({ file: cfg.broker.password_file, envName: 'LINKWATCH_BROKER_PASSWORD', key: 'broker.password_file', configFile: opts.configFile, log });
  let uplink: Uplink | undefined;
  const outbox = openOutbox({
    dir: cfg.outbox.path,
    maxBytes: cfg.outbox.max_bytes,
    onReset: (movedTo, reason) => {
      log.error({ movedTo, reason }, 'outbox unreadable: moved aside, starting a new one');
      queueMicrotask(() => uplink?.event({ type: 'outbox_reset', detail: `moved to ${movedTo}: ${reason}`.slice(0, 300) }));
    },
  });
  uplink = new Uplink(cfg, { outbox, log: log.child({ component: 'uplink' }), now, ...(password !== undefined ? { password } : {}) });
  const station = buildSources(cfg, { log, now, emit: (e) => uplink?.event(e), link: uplink });
  const sources: ReportSources = { clockOffsetMs: () => uplink?.clockOffsetMs(), ...station.sources, ...opts.sources };
  const agent = new Agent(cfg, { log, now, outbox, uplink, sources });
  if (cfg.targets.some((t) => 'host' in t && t.host === 'auto')) void gatewayResolver.get();
  station.start();
  uplink.start();
  agent.start();
  log.info({ station: cfg.station, interval_ms: cfg.interval, targets: cfg.targets.length, outbox: join(cfg.outbox.path, 'outbox.db'), depth: outbox.depth() }, 'agent started');
  return {
    agent,
    uplink,
    outbox,
    station,
    async stop() {
      await agent.stop();
      station.stop();
      await uplink!.stop();
      outbox.close();
      log.info('agent stopped');
    },
  };
}
