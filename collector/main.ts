import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { ConfigError, loadConfigFile } from '../lib/config-file.js';
import { createLogger, type Logger } from '../lib/log.js';
import { readSecret } from '../lib/secrets.js';
import { brokerTlsOptions, checkBrokerFiles, superviseConnection } from '../lib/broker.js';
import { CANARY_TOPIC, eventFilter, reportFilter, statusFilter } from '../protocol/topics.js';
import { Acks, pubackWhenRoom } from './acks.js';
import { Ingest } from './collector.js';
import { collectorConfigSchema, type CollectorConfig } from './config.js';
import { DeadLetters } from './dead-letters.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.js';
import { Influx, influxFromConfig, pointToLine } from './influx.js';
import { loadRegistry, RegistryError, watchRegistry, type Station } from './registry.js';
import { Evaluator, type Evaluation } from './evaluator.js';
import { MaintenanceError, parseMaintenance } from './maintenance.js';
import { unknownClasses } from './verdict/rules.js';
import { BatchWriter } from './writer.js';
import { startSelfHealth, type SelfHealth } from './self-health.js';
import { PipelineWatchdog } from './watchdog.js';
import { ensureRetention } from './retention.js';
import { RollupJob } from './sla/rollup-job.js';

/** Loads and checks a collector config and its registry: problems name their key, before any network I/O. */
export function loadCollectorConfig(file: string): CollectorConfig {
  const cfg = loadConfigFile(file, collectorConfigSchema);
  checkBrokerFiles(file, cfg.broker);
  try {
    checkClasses(cfg, loadRegistry(cfg.stations));
  } catch (err) {
    if (err instanceof RegistryError) throw new ConfigError(file, 'stations', err.message);
    throw err;
  }
  if (cfg.verdicts.maintenance && existsSync(cfg.verdicts.maintenance)) {
    try {
      parseMaintenance(readFileSync(cfg.verdicts.maintenance, 'utf8'), cfg.verdicts.maintenance);
    } catch (err) {
      if (err instanceof MaintenanceError) throw new ConfigError(file, 'verdicts.maintenance', err.message);
      throw err;
    }
  }
  return cfg;
}

/** Every SLA class a station names must be configured under `verdicts.classes`. */
function checkClasses(cfg: CollectorConfig, stations: Map<string, Station>): void {
  const unknown = unknownClasses(cfg.verdicts, stations.values())[0];
  if (unknown) throw new RegistryError(cfg.stations, undefined, `station ${unknown.station}: sla_class "${unknown.sla_class}" is not in verdicts.classes`);
}

export interface RunningCollector {
  ingest: Ingest;
  writer: BatchWriter;
  deadLetters: DeadLetters;
  client: MqttClient;
  influx: Influx;
  registry: () => ReadonlyMap<string, Station>;
  /** The embedded broker, when `broker.url` is `embedded`. */
  broker?: EmbeddedBroker;
  /** Present when `evaluator.enabled`. */
  evaluator?: Evaluator;
  watchdog: PipelineWatchdog;
  /** `/healthz` and `/metrics`. */
  http: SelfHealth;
  stop(): Promise<void>;
  /** kill -9 in-process: drop the connection without a clean disconnect, write nothing more. */
  abort(): void;
}

export interface CollectorOptions {
  configFile: string;
  log?: Logger;
  now?: () => number;
  /** Called after each evaluation (the demo prints the verdicts). */
  onEvaluated?: (e: Evaluation) => void;
}

/**
 * The verdict evaluator with its own InfluxDB client when it has its own credentials (`evaluator.username`), so a
 * collector whose user may only write can leave judging to a `linkwatch evaluator` process.
 */
function newEvaluator(cfg: CollectorConfig, opts: CollectorOptions & { log: Logger; now: () => number }, registry: () => ReadonlyMap<string, Station>, shared?: Influx): Evaluator {
  const influx = shared ?? influxFromConfig(
    { ...cfg.influx, ...(cfg.evaluator.username ? { username: cfg.evaluator.username, password_file: cfg.evaluator.password_file } : {}) },
    readSecret({
      file: cfg.evaluator.username ? cfg.evaluator.password_file : cfg.influx.password_file,
      envName: cfg.evaluator.username ? 'LINKWATCH_EVALUATOR_PASSWORD' : 'LINKWATCH_INFLUX_PASSWORD',
      key: cfg.evaluator.username ? 'evaluator.password_file' : 'influx.password_file',
      configFile: opts.configFile,
      log: opts.log,
    }),
  );
  const rollups = new RollupJob({
    influx, database: cfg.influx.database, log: opts.log.child({ component: 'rollups' }), registry, periodMs: cfg.evaluator.period,
    vpnIsps: cfg.sla.vpn_isps, rawRetentionMs: cfg.influx.raw_retention, rollupRetentionMs: cfg.influx.rollup_retention,
  });
  return new Evaluator({
    influx, log: opts.log.child({ component: 'evaluator' }), now: opts.now, registry,
    evaluator: cfg.evaluator, verdicts: cfg.verdicts, collectorStatsMs: cfg.stats_interval, rollups, ...(opts.onEvaluated ? { onEvaluated: opts.onEvaluated } : {}),
  });
}

/** The dead letters, or a ConfigError naming `dead_letter.path` when it cannot be made or written. */
function openDeadLetters(cfg: CollectorConfig, configFile: string, now: () => number): DeadLetters {
  try {
    const dl = new DeadLetters(cfg.dead_letter.path, cfg.dead_letter.max_bytes, now);
    accessSync(cfg.dead_letter.path, constants.W_OK);
    return dl;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(configFile, 'dead_letter.path', `cannot write ${cfg.dead_letter.path} (${code}); under systemd it belongs under the unit's StateDirectory=`);
  }
}

export interface RunningEvaluator {
  evaluator: Evaluator;
  stop(): Promise<void>;
}

/** The registry, reloaded when its file changes; a reload that fails keeps the previous one. */
function liveRegistry(cfg: CollectorConfig, log: Logger): { current: () => ReadonlyMap<string, Station>; stop(): void } {
  let registry = loadRegistry(cfg.stations);
  const watch = watchRegistry(cfg.stations, {
    validate: (stations) => checkClasses(cfg, stations),
    onReload: (stations) => {
      registry = stations;
      log.info({ stations: stations.size }, 'registry reloaded');
    },
    onError: (err) => log.error({ err, file: cfg.stations }, 'registry not reloaded; keeping the previous one'),
  });
  return { current: () => registry, stop: () => watch.stop() };
}

/** Only the evaluator, for `linkwatch evaluator`: reads reports, writes verdicts; no broker connection. */
export function startEvaluator(cfg: CollectorConfig, opts: CollectorOptions): RunningEvaluator {
  const log = opts.log ?? createLogger({ level: cfg.log_level });
  const registryWatch = liveRegistry(cfg, log);
  const registry = registryWatch.current;
  const evaluator = newEvaluator(cfg, { ...opts, log, now: opts.now ?? Date.now }, registry);
  evaluator.start();
  return {
    evaluator,
    async stop() {
      registryWatch.stop();
      await evaluator.stop();
    },
  };
}

/** Composition root of the collector. */
export async function startCollector(cfg: CollectorConfig, opts: CollectorOptions): Promise<RunningCollector> {
  const log = opts.log ?? createLogger({ level: cfg.log_level });
  const now = opts.now ?? Date.now;
  const brokerPassword = readSecret({ file: cfg.broker.password_file, envName: 'LINKWATCH_BROKER_PASSWORD', key: 'broker.password_file', configFile: opts.configFile, log });
  const influxPassword = readSecret({ file: cfg.influx.password_file, envName: 'LINKWATCH_INFLUX_PASSWORD', key: 'influx.password_file', configFile: opts.configFile, log });
  const registryWatch = liveRegistry(cfg, log);
  const registry = registryWatch.current;
  const influx = influxFromConfig(cfg.influx, influxPassword);
  const deadLetters = openDeadLetters(cfg, opts.configFile, now);
  const ensureDatabase = async () => {
    await influx.ensureDatabase();
    await ensureRetention(influx, cfg.influx.database, cfg.influx.raw_retention, cfg.influx.rollup_retention)
      .catch((err: unknown) => log.warn({ err }, 'cannot set retention policies now (a user without the grant?); the evaluator tries again'));
  };
  await ensureDatabase().catch((err: unknown) => log.warn({ err }, 'cannot create the database now (InfluxDB down, or a user without the grant); writes will retry'));

  let client!: MqttClient;
  let ackLatency: ((ms: number) => void) | undefined;
  const acks = new Acks({
    publish: (topic, body) => client.publish(topic, body, { qos: 1 }), now, deadLetters, log: log.child({ component: 'acks' }),
    observeAckLatency: (ms) => ackLatency?.(ms),
  });
  const writer = new BatchWriter({
    write: (body) => influx.writeLines(body),
    log: log.child({ component: 'writer' }),
    ensureDatabase,
    batchPoints: cfg.influx.batch_points,
    flushIntervalMs: cfg.influx.flush_interval,
    maxPendingPoints: cfg.influx.max_pending_points,
    now,
    onStored: (batch) => acks.stored(batch),
    onRejected: (r, reason) => acks.refused(r, reason),
  });
  const ingest = new Ingest({
    log: log.child({ component: 'ingest' }),
    now,
    writer,
    deadLetters,
    acks,
    registry,
    maxPayloadBytes: cfg.max_payload_bytes,
    // A point older than its retention policy is refused by InfluxDB: quarantine it before.
    retentionMs: cfg.influx.raw_retention > 0 ? Math.min(cfg.influx.retention, cfg.influx.raw_retention) : cfg.influx.retention,
  });

  const v5 = cfg.broker.protocol_version === 5;
  const shared = cfg.broker.shared && v5;
  const sessionExpiryS = Math.round((cfg.broker.session_expiry ?? (shared ? 60_000 : 86_400_000)) / 1000);
  const mqttOpts: IClientOptions = {
    protocolVersion: cfg.broker.protocol_version,
    clientId: cfg.broker.client_id,
    ...(cfg.broker.username ? { username: cfg.broker.username } : {}),
    ...(brokerPassword !== undefined ? { password: brokerPassword } : {}),
    // A persistent session: while the collector is away the broker keeps its reports.
    clean: false,
    // Retries are superviseConnection's (jittered exponential backoff), not MQTT.js's fixed period.
    reconnectPeriod: 0,
    // The subscriptions are made on every connect below; MQTT.js's own resubscribe would only double them.
    resubscribe: false,
    connectTimeout: 15_000,
    ...(v5 ? { properties: { sessionExpiryInterval: sessionExpiryS, receiveMaximum: 1000 } } : {}),
    customHandleAcks: pubackWhenRoom(writer), // MQTT 5 flow control: the PUBACK waits for the writer (collector/acks.ts)
    ...brokerTlsOptions(cfg.broker),
  };
  const embedded = cfg.broker.url === 'embedded' && cfg.broker.embedded
    ? await startEmbeddedBroker(cfg.broker.embedded, { log: log.child({ component: 'broker' }), configFile: opts.configFile })
    : undefined;
  const brokerLog = log.child({ component: 'broker' });
  client = embedded ? embedded.connect(mqttOpts) : mqtt.connect(cfg.broker.url, mqttOpts);
  const supervisor = superviseConnection(client, { min_ms: cfg.broker.reconnect_min, max_ms: cfg.broker.reconnect_max, log: brokerLog });
  const subscribe = () => {
    client.subscribe([reportFilter(shared), statusFilter, eventFilter], { qos: 1 }, (err, granted) => {
      if (err) return brokerLog.error({ err }, 'subscription failed');
      // A refused filter comes back as a failure code (0x80 and up), not as an error.
      const refused = (granted ?? []).filter((g) => g.qos >= 0x80).map((g) => g.topic);
      if (refused.length > 0) brokerLog.error({ refused }, 'broker refused subscriptions; check the collector\'s ACL');
    });
  };
  const watchdog = new PipelineWatchdog({
    config: cfg.watchdog,
    log: log.child({ component: 'watchdog' }),
    now,
    publishCanary: () => client.publish(CANARY_TOPIC, JSON.stringify({ collector: cfg.broker.client_id, t: now() }), { qos: 0 }),
    resubscribe: subscribe,
    // A forced close; the supervisor then reconnects with a fresh CONNECT, and the connect handler subscribes.
    reconnect: () => client.stream?.destroy(),
  });
  let connects = 0;
  let lastReportAt: number | undefined;
  client.on('connect', (ack) => {
    connects++;
    // Subscribe on every connect, whatever sessionPresent says: mosquitto 2.0 restores plain subscriptions from its
    // persistence file but not shared ones, and reports the session present all the same (docs/architecture.md).
    subscribe();
    watchdog.connected();
    brokerLog.info({ url: cfg.broker.url, sessionPresent: ack.sessionPresent, shared }, 'broker connected');
  });
  client.on('close', () => watchdog.disconnected());
  client.on('message', (topic, payload) => {
    if (topic === CANARY_TOPIC) return watchdog.heard();
    if (topic.endsWith('/report')) {
      watchdog.heard();
      lastReportAt = now();
    }
    ingest.handle(topic, payload);
  });
  watchdog.start();
  // The collector's own counters are data like the rest: rejections by reason, retries, what waits to be written.
  const statsTimer = setInterval(() => {
    const fields: Record<string, number> = {
      messages: ingest.stats.messages, reports: ingest.stats.reports, rejected: ingest.stats.rejected,
      batches: writer.stats.batches, points: writer.stats.points, retries: writer.stats.retries,
      refused_full: writer.stats.refusedFull, pending_points: writer.pendingPoints(),
      // Read by the evaluator: stations unheard while no collector hears the broker are the pipeline's fault, not theirs.
      connected: client.connected ? 1 : 0, deaf: watchdog.deaf ? 1 : 0,
    };
    for (const [reason, n] of deadLetters.counts) fields[`rejected_${reason}`] = n;
    writer.add({ station: '', lines: pointToLine({ measurement: 'collector', tags: { collector: cfg.broker.client_id }, fields, timestamp: now() }), points: 1 });
  }, cfg.stats_interval);
  statsTimer.unref();
  let lastEvaluatedAt: number | undefined;
  const onEvaluated = (e: Evaluation) => {
    lastEvaluatedAt = e.at;
    if (evaluator) selfHealth.observeEvaluation(evaluator.stats.last_ms);
    opts.onEvaluated?.(e);
  };
  const evaluator = cfg.evaluator.enabled
    ? newEvaluator(cfg, { ...opts, log, now, onEvaluated }, registry, cfg.evaluator.username ? undefined : influx)
    : undefined;
  const selfHealth: SelfHealth = await startSelfHealth(cfg.http, {
    health: () => ({
      brokerConnected: client.connected,
      deaf: watchdog.deaf,
      deafSince: watchdog.deafSince,
      lastReportAgeMs: lastReportAt === undefined ? undefined : now() - lastReportAt,
      pendingPoints: writer.pendingPoints(),
      influxFailingSince: writer.failingSince,
      evaluatorLagMs: lastEvaluatedAt === undefined ? undefined : now() - lastEvaluatedAt,
    }),
    counters: () => ({
      messages: ingest.stats.messages, reports: ingest.stats.reports, batches: writer.stats.batches, points: writer.stats.points,
      retries: writer.stats.retries, refused_full: writer.stats.refusedFull, ...watchdog.stats,
      broker_connects: connects, broker_failures: supervisor.totalFailures,
      ...(evaluator ? { evaluations: evaluator.stats.evaluations, evaluation_failures: evaluator.stats.failures } : {}),
    }),
    rejections: () => deadLetters.counts,
  }, { log: log.child({ component: 'http' }), now });
  ackLatency = selfHealth.observeAckLatency;
  evaluator?.start();
  log.info({ stations: registry().size, database: cfg.influx.database }, 'collector started');

  return {
    ingest,
    writer,
    deadLetters,
    client,
    influx,
    registry,
    ...(evaluator ? { evaluator } : {}),
    ...(embedded ? { broker: embedded } : {}),
    watchdog,
    http: selfHealth,
    async stop() {
      clearInterval(statsTimer);
      watchdog.stop();
      registryWatch.stop();
      await evaluator?.stop();
      // Whatever is not stored within a few seconds stays unacknowledged, and the agents send it again.
      await Promise.race([writer.flush().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
      await writer.stop();
      supervisor.stop();
      await client.endAsync();
      await selfHealth.close();
      influx.close();
      await embedded?.close();
      log.info({ ...ingest.stats, ...writer.stats }, 'collector stopped');
    },
    abort() {
      clearInterval(statsTimer);
      watchdog.stop();
      supervisor.stop();
      void selfHealth.close();
      registryWatch.stop();
      void evaluator?.stop();
      void writer.stop();
      client.end(true);
      influx.close();
      void embedded?.close();
    },
  };
}
