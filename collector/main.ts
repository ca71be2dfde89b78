import { existsSync, readFileSync } from 'node:fs';
import { InfluxDB } from 'influx';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { ConfigError, loadConfigFile } from '../lib/config-file.js';
import { createLogger, type Logger } from '../lib/log.js';
import { readSecret } from '../lib/secrets.js';
import { brokerTlsOptions, checkBrokerFiles } from '../lib/broker.js';
import { toRanges, type AckMessage } from '../protocol/report.js';
import { eventFilter, reportFilter, statusFilter, topicFor } from '../protocol/topics.js';
import { Ingest } from './collector.js';
import { collectorConfigSchema, type CollectorConfig } from './config.js';
import { DeadLetters } from './dead-letters.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.js';
import { INFLUX_SCHEMA, pointToLine } from './points.js';
import { loadRegistry, RegistryError, watchRegistry, type Station } from './registry.js';
import { Evaluator, type Evaluation } from './evaluator.js';
import { MaintenanceError, parseMaintenance } from './maintenance.js';
import { unknownClasses } from './verdict/rules.js';
import { BatchWriter } from './writer.js';
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

/** An InfluxDB client for the v1 HTTP API from the config's URL and credentials. */
export function influxClient(cfg: CollectorConfig['influx'], password: string | undefined): InfluxDB {
  const url = new URL(cfg.url);
  return new InfluxDB({
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    database: cfg.database,
    ...(cfg.username ? { username: cfg.username } : {}),
    ...(password !== undefined ? { password } : {}),
    schema: INFLUX_SCHEMA.map((s) => ({ ...s, database: cfg.database })),
    // The writer retries with its own backoff; the pool's retries would hide a down InfluxDB from it.
    pool: { maxRetries: 0, requestTimeout: cfg.timeout },
  });
}

export interface RunningCollector {
  ingest: Ingest;
  writer: BatchWriter;
  deadLetters: DeadLetters;
  client: MqttClient;
  influx: InfluxDB;
  registry: () => ReadonlyMap<string, Station>;
  /** The embedded broker, when `broker.url` is `embedded`. */
  broker?: EmbeddedBroker;
  /** Present when `evaluator.enabled`. */
  evaluator?: Evaluator;
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
function newEvaluator(cfg: CollectorConfig, opts: CollectorOptions & { log: Logger; now: () => number }, registry: () => ReadonlyMap<string, Station>, shared?: InfluxDB): Evaluator {
  const influx = shared ?? influxClient(
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
    influx, database: cfg.influx.database, log: opts.log.child({ component: 'evaluator' }), now: opts.now, registry,
    evaluator: cfg.evaluator, verdicts: cfg.verdicts, ...(opts.onEvaluated ? { onEvaluated: opts.onEvaluated } : {}), rollups,
  });
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
    onError: (err) => log.error({ err: err.message, file: cfg.stations }, 'registry not reloaded; keeping the previous one'),
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
  const influx = influxClient(cfg.influx, influxPassword);
  const deadLetters = new DeadLetters(cfg.dead_letter.path, cfg.dead_letter.max_bytes, now);
  const ensureDatabase = async () => {
    await influx.createDatabase(cfg.influx.database); // CREATE DATABASE is idempotent
    await ensureRetention(influx, cfg.influx.database, cfg.influx.raw_retention, cfg.influx.rollup_retention)
      .catch((err) => log.warn({ err: (err as Error).message }, 'cannot set retention policies now (a user without the grant?); the evaluator tries again'));
  };
  await ensureDatabase().catch((err) => log.warn({ err: (err as Error).message }, 'cannot create the database now (InfluxDB down, or a user without the grant); writes will retry'));

  let client!: MqttClient;
  const publishAck = (station: string, ack: AckMessage) => {
    // Empty lists are left out: an ack crosses a station's small uplink once per report.
    const body = { v: 1, ...(ack.stored.length > 0 ? { stored: ack.stored } : {}), ...(ack.rejected.length > 0 ? { rejected: ack.rejected } : {}), t: now() };
    client.publish(topicFor(station, 'ack'), JSON.stringify(body), { qos: 1 });
  };
  const writer = new BatchWriter({
    influx,
    log: log.child({ component: 'writer' }),
    ensureDatabase,
    batchPoints: cfg.influx.batch_points,
    flushIntervalMs: cfg.influx.flush_interval,
    maxPendingPoints: cfg.influx.max_pending_points,
    onStored: (byStation) => {
      for (const [station, seqs] of byStation) publishAck(station, { v: 1, stored: toRanges(seqs), rejected: [] });
    },
    onRejected: (r, reason) => {
      deadLetters.keep({ reason: 'influx_refused', station: r.station, ...(r.seq !== undefined ? { seq: r.seq } : {}), detail: reason, payload: r.lines });
      log.error({ station: r.station, seq: r.seq, reason }, 'InfluxDB refused a report; kept in dead letters');
      if (r.seq !== undefined) publishAck(r.station, { v: 1, stored: [], rejected: [[r.seq, r.seq]] });
    },
  });
  const ingest = new Ingest({
    log: log.child({ component: 'ingest' }),
    now,
    writer,
    deadLetters,
    publishAck,
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
    reconnectPeriod: 1000,
    connectTimeout: 15_000,
    ...(v5 ? { properties: { sessionExpiryInterval: sessionExpiryS, receiveMaximum: 1000 } } : {}),
    ...brokerTlsOptions(cfg.broker),
  };
  const embedded = cfg.broker.url === 'embedded' && cfg.broker.embedded
    ? await startEmbeddedBroker(cfg.broker.embedded, { log: log.child({ component: 'broker' }), configFile: opts.configFile })
    : undefined;
  client = embedded ? embedded.connect(mqttOpts) : mqtt.connect(cfg.broker.url, mqttOpts);
  let connects = 0;
  client.on('connect', (ack) => {
    connects++;
    if (!ack.sessionPresent) {
      if (connects > 1) log.warn('reconnected without a session: reports sent meanwhile come again from the agents');
      client.subscribe([reportFilter(shared), statusFilter, eventFilter], { qos: 1 }, (err) => {
        if (err) log.error({ err: err.message }, 'subscription failed');
      });
    }
    log.info({ url: cfg.broker.url, sessionPresent: ack.sessionPresent, shared }, 'broker connected');
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'broker error'));
  client.on('close', () => log.debug('broker connection closed'));
  client.on('message', (topic, payload) => ingest.handle(topic, payload));
  // The collector's own counters are data like the rest: rejections by reason, retries, what waits to be written.
  const statsTimer = setInterval(() => {
    const fields: Record<string, number> = {
      messages: ingest.stats.messages, reports: ingest.stats.reports, rejected: ingest.stats.rejected,
      batches: writer.stats.batches, points: writer.stats.points, retries: writer.stats.retries,
      refused_full: writer.stats.refusedFull, pending_points: writer.pendingPoints(),
    };
    for (const [reason, n] of deadLetters.counts) fields[`rejected_${reason}`] = n;
    writer.add({ station: '', lines: pointToLine({ measurement: 'collector', tags: { collector: cfg.broker.client_id }, fields, timestamp: now() }), points: 1 });
  }, cfg.stats_interval);
  statsTimer.unref();
  const evaluator = cfg.evaluator.enabled
    ? newEvaluator(cfg, { ...opts, log, now }, registry, cfg.evaluator.username ? undefined : influx)
    : undefined;
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
    async stop() {
      clearInterval(statsTimer);
      registryWatch.stop();
      await evaluator?.stop();
      // Whatever is not stored within a few seconds stays unacknowledged, and the agents send it again.
      await Promise.race([writer.flush().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
      await writer.stop();
      await client.endAsync();
      await embedded?.close();
      log.info({ ...ingest.stats, ...writer.stats }, 'collector stopped');
    },
    abort() {
      clearInterval(statsTimer);
      registryWatch.stop();
      void evaluator?.stop();
      void writer.stop();
      client.end(true);
      void embedded?.close();
    },
  };
}
