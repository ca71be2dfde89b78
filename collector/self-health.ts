/**
 * The collector's own health, served over HTTP without InfluxDB: `/healthz` (is this collector doing its job now?)
 * and `/metrics` (Prometheus text format, prom-client). A collector whose InfluxDB or broker is gone can still say so.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import type { Logger } from '../lib/log.js';

/** `http:` in the collector config. */
export const httpConfigSchema = z.strictObject({
  /** host:port of `/healthz` and `/metrics`; `off` serves nothing. Keep it on loopback or a management network. */
  listen: z.string().regex(/^(off|(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5})$/, 'expected host:port (e.g. 127.0.0.1:9470) or "off"').default('127.0.0.1:9470'),
});
export type HttpConfig = z.output<typeof httpConfigSchema>;

/** What `/healthz` reports; every field is read when asked. */
export interface HealthSnapshot {
  brokerConnected: boolean;
  /** Connected, yet nothing comes through the report subscription (collector/watchdog.ts). */
  deaf: boolean;
  deafSince?: number | undefined;
  /** ms since the last station report was received, undefined before the first. */
  lastReportAgeMs?: number | undefined;
  pendingPoints: number;
  /** InfluxDB writes failing since (ms epoch), undefined while they succeed. */
  influxFailingSince?: number | undefined;
  /** ms since the last evaluation's period, when the evaluator runs in this process. */
  evaluatorLagMs?: number | undefined;
}

/** The verdict of `/healthz`: `ok` (200) or `failing` (503) with the reasons. Pure. */
export function healthOf(s: HealthSnapshot, now: number): { status: 'ok' | 'failing'; problems: string[]; body: Record<string, unknown> } {
  const problems: string[] = [];
  if (!s.brokerConnected) problems.push('broker_disconnected');
  if (s.deaf) problems.push('pipeline_deaf');
  if (s.influxFailingSince !== undefined) problems.push('influx_failing');
  return {
    status: problems.length === 0 ? 'ok' : 'failing',
    problems,
    body: {
      status: problems.length === 0 ? 'ok' : 'failing',
      problems,
      broker: s.brokerConnected ? 'connected' : 'disconnected',
      pipeline: s.deaf ? 'deaf' : 'ok',
      ...(s.deafSince !== undefined ? { deaf_since: new Date(s.deafSince).toISOString() } : {}),
      ...(s.lastReportAgeMs !== undefined ? { last_report_age_s: Math.round(s.lastReportAgeMs / 100) / 10 } : {}),
      pending_points: s.pendingPoints,
      influx: s.influxFailingSince === undefined ? 'ok' : 'failing',
      ...(s.influxFailingSince !== undefined ? { influx_failing_since: new Date(s.influxFailingSince).toISOString() } : {}),
      ...(s.evaluatorLagMs !== undefined ? { evaluator_lag_s: Math.round(s.evaluatorLagMs / 100) / 10 } : {}),
      t: new Date(now).toISOString(),
    },
  };
}

/** Counters read from the running parts when Prometheus scrapes (no bookkeeping twice). */
export interface MetricSources {
  health: () => HealthSnapshot;
  counters: () => {
    messages: number;
    reports: number;
    batches: number;
    points: number;
    retries: number;
    refused_full: number;
    canaries: number;
    deaf: number;
    resubscribes: number;
    reconnects: number;
    broker_connects: number;
    broker_failures: number;
    evaluations?: number;
    evaluation_failures?: number;
  };
  /** Rejected messages by reason (the dead letters' counts). */
  rejections: () => ReadonlyMap<string, number>;
}

export interface SelfHealth {
  /** Records the time from a report's arrival to the ack that says InfluxDB has it. */
  observeAckLatency(ms: number): void;
  /** Records one evaluation's duration. */
  observeEvaluation(ms: number): void;
  /** The bound port (useful with port 0). */
  port(): number | undefined;
  close(): Promise<void>;
}

/** Builds the metrics and, unless `listen` is `off`, starts the HTTP server. A port in use is an error log, not a crash. */
export async function startSelfHealth(cfg: HttpConfig, src: MetricSources, deps: { log: Logger; now: () => number }): Promise<SelfHealth> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'linkwatch_collector_process_' });
  const gauge = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({ name, help, registers: [registry], collect() {
      const v = read();
      if (v !== undefined) this.set(v);
    } });
  // Counters whose value lives elsewhere: reset to the source's total at each scrape.
  const total = (name: string, help: string, read: () => number | undefined) =>
    new Counter({ name, help, registers: [registry], collect() {
      const v = read();
      if (v !== undefined) {
        this.reset();
        this.inc(v);
      }
    } });
  const c = () => src.counters();
  gauge('linkwatch_collector_broker_connected', '1 while connected to the broker', () => (src.health().brokerConnected ? 1 : 0));
  gauge('linkwatch_collector_pipeline_deaf', '1 while connected but hearing nothing through the report subscription', () => (src.health().deaf ? 1 : 0));
  gauge('linkwatch_collector_last_report_age_seconds', 'Seconds since the last station report arrived', () => {
    const a = src.health().lastReportAgeMs;
    return a === undefined ? undefined : a / 1000;
  });
  gauge('linkwatch_collector_pending_points', 'Points queued or being written to InfluxDB', () => src.health().pendingPoints);
  gauge('linkwatch_collector_influx_failing', '1 while InfluxDB writes fail', () => (src.health().influxFailingSince === undefined ? 0 : 1));
  gauge('linkwatch_collector_evaluator_lag_seconds', 'Seconds since the period of the last evaluation', () => {
    const l = src.health().evaluatorLagMs;
    return l === undefined ? undefined : l / 1000;
  });
  total('linkwatch_collector_messages_total', 'MQTT messages received', () => c().messages);
  total('linkwatch_collector_reports_total', 'Reports accepted for writing', () => c().reports);
  total('linkwatch_collector_write_batches_total', 'InfluxDB writes that succeeded', () => c().batches);
  total('linkwatch_collector_points_written_total', 'Points stored in InfluxDB', () => c().points);
  total('linkwatch_collector_write_retries_total', 'InfluxDB writes retried', () => c().retries);
  total('linkwatch_collector_refused_full_total', 'Reports left unacknowledged because the write queue was full', () => c().refused_full);
  total('linkwatch_collector_canaries_total', 'Canaries published through the broker', () => c().canaries);
  total('linkwatch_collector_deaf_total', 'Times the collector found itself deaf', () => c().deaf);
  total('linkwatch_collector_resubscribes_total', 'Subscriptions renewed by the watchdog', () => c().resubscribes);
  total('linkwatch_collector_watchdog_reconnects_total', 'Reconnects forced by the watchdog', () => c().reconnects);
  total('linkwatch_collector_broker_connects_total', 'Successful broker connections', () => c().broker_connects);
  total('linkwatch_collector_broker_failures_total', 'Broker connection attempts that failed or connections lost', () => c().broker_failures);
  total('linkwatch_collector_evaluations_total', 'Evaluations written', () => c().evaluations);
  total('linkwatch_collector_evaluation_failures_total', 'Evaluations that failed', () => c().evaluation_failures);
  new Counter({
    name: 'linkwatch_collector_rejected_total', help: 'Messages refused, by reason', labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of src.rejections()) this.inc({ reason }, n);
    },
  });
  const ackLatency = new Histogram({
    name: 'linkwatch_collector_ack_latency_seconds', help: 'From a report\'s arrival to the ack saying InfluxDB has it',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers: [registry],
  });
  const evaluation = new Histogram({
    name: 'linkwatch_collector_evaluation_seconds', help: 'Duration of one evaluation',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], registers: [registry],
  });

  let server: Server | undefined;
  if (cfg.listen !== 'off') {
    const i = cfg.listen.lastIndexOf(':');
    const host = cfg.listen.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(cfg.listen.slice(i + 1));
    const srv = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
      } else if (path === '/healthz') {
        const h = healthOf(src.health(), deps.now());
        res.writeHead(h.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h.body));
      } else if (path === '/metrics') {
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (err: unknown) => {
            deps.log.error({ err }, 'metrics not collected');
            res.writeHead(500).end();
          },
        );
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('linkwatch collector: /healthz, /metrics\n');
      }
    });
    await new Promise<void>((resolve) => {
      srv.once('error', (err) => {
        deps.log.error({ err, listen: cfg.listen }, 'cannot serve /healthz and /metrics; set http.listen to a free port');
        resolve();
      });
      srv.listen(port, host, () => {
        server = srv;
        deps.log.info({ listen: `${host}:${(srv.address() as { port: number }).port}` }, 'serving /healthz and /metrics');
        resolve();
      });
    });
  }
  return {
    observeAckLatency: (ms) => ackLatency.observe(ms / 1000),
    observeEvaluation: (ms) => evaluation.observe(ms / 1000),
    port: () => (server?.address() as { port: number } | null)?.port,
    close: () => new Promise((r) => (server ? server.close(() => r()) : r())),
  };
}
