import { hostname } from 'node:os';
import { z } from 'zod';
import { brokerAuthFields } from '../lib/broker.js';
import { durationMs, sizeBytes } from '../lib/config-file.js';
import { embeddedBrokerSchema } from './embedded-broker.js';
import { retentionDuration } from './retention.js';
import { evaluatorConfigSchema } from './evaluator.js';
import { httpConfigSchema } from './self-health.js';
import { watchdogConfigSchema } from './watchdog.js';
import { verdictsConfigSchema } from './verdict/rules.js';

export const collectorConfigSchema = z.strictObject({
  broker: z.strictObject({
    /** mqtt(s)://host:port, or `embedded` for the in-process broker of a single-province install. */
    url: z.string().regex(/^((mqtts?|wss?):\/\/.+|embedded)$/, 'expected mqtt://, mqtts://, ws://, wss:// URL or "embedded"'),
    ...brokerAuthFields,
    /** Stable across restarts, so the broker keeps this collector's session; distinct per collector. */
    client_id: z.string().min(1).max(128).default(`linkwatch-collector-${hostname()}`),
    /** Share the report subscription with other collectors (MQTT 5 `$share/linkwatch/...`). */
    shared: z.boolean().default(true),
    /**
     * How long the broker keeps this collector's session (and queues its messages) while it is away. Default 1 day,
     * but 60 s with a shared subscription: mosquitto keeps dealing a dead member its share of new reports, so a long
     * session would strand them; once it expires they flow to the live members, and the agents re-send the rest.
     */
    session_expiry: durationMs.optional(),
    /** The in-process broker of `url: embedded` (aedes): TLS, station identities, the ACL of collector/auth.ts. */
    embedded: embeddedBrokerSchema.optional(),
  }).superRefine((b, ctx) => {
    if (b.url === 'embedded' && !b.embedded) ctx.addIssue({ code: 'custom', path: ['embedded'], message: 'url: embedded needs an embedded: section (listen, cert, key, ca or password_file)' });
    // aedes speaks MQTT 3.1.1 only, without shared subscriptions; the collector is its in-process client.
  }).transform((b) => (b.url === 'embedded' ? { ...b, protocol_version: 4 as const, shared: false } : b)),
  influx: z.strictObject({
    url: z.string().url(),
    database: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'database name: letters, digits, _ . -'),
    username: z.string().min(1).optional(),
    password_file: z.string().min(1).optional(),
    /** Points per write; InfluxDB's sweet spot is 5,000–10,000. */
    batch_points: z.number().int().min(1).max(100_000).default(5000),
    /** Longest a report waits before its batch is written. */
    flush_interval: durationMs.prefault('1s'),
    /** Points held while InfluxDB is down; past this, reports are left unacknowledged for the agents to re-send. */
    max_pending_points: z.number().int().min(1000).default(200_000),
    timeout: durationMs.prefault('10s'),
    /** Retention of the database; reports older than this are quarantined rather than written. */
    retention: durationMs.prefault('400d'),
    /** Retention policy of the raw measurements (the database's default policy); `0` or `inf`: forever (docs/sla.md). */
    raw_retention: retentionDuration.prefault('90d'),
    /** Retention policy `rollups` of the SLA rollups (sla_hour, sla_day, sla_outage); `0` or `inf`: forever. */
    rollup_retention: retentionDuration.prefault('1830d'),
  }),
  /**
   * The station registry CSV: id,name,commune,province,lat,lon,isp,circuit,sla_target[,district][,sla_class], plus
   * extra grouping columns (area, hub…) carried as tags; UTF-8 or Windows-1258, `,` or `;` (collector/registry.ts).
   */
  stations: z.string().min(1),
  /** Where rejected payloads and points are kept, with their reason, for inspection. */
  dead_letter: z.strictObject({ path: z.string().min(1), max_bytes: sizeBytes.prefault('100MB') }).prefault({ path: './dead-letter' }),
  max_payload_bytes: sizeBytes.prefault('256KB'),
  /** How often the collector writes its own counters (the `collector` measurement). */
  stats_interval: durationMs.prefault('10s'),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `/healthz` and `/metrics` (Prometheus) of the collector itself, served without InfluxDB. */
  http: httpConfigSchema.prefault({}),
  /** The canary that proves the broker still delivers reports to this collector (collector/watchdog.ts). */
  watchdog: watchdogConfigSchema.prefault({}),
  /** Verdicts every period: health and incident points (docs/verdicts.md). */
  evaluator: evaluatorConfigSchema.prefault({}),
  /** Thresholds, SLA classes, anti-flap rules and maintenance windows of the verdicts (docs/verdicts.md). */
  verdicts: verdictsConfigSchema.extend({
    /**
     * Registry columns incidents are grouped by, narrowest first (default: district, isp, province). Since the 2025
     * reform, e.g. `[hub, area, isp, province]`: stations behind one failing aggregation node are one incident.
     */
    incident_scopes: z.array(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'a registry column name like hub, area, isp, province')).min(1).optional(),
  }).prefault({}),
  /** What counts against an ISP in the SLA (docs/sla.md). */
  sla: z.strictObject({
    /** ISPs whose circuits include the VPN/hub (role `core`): a `core` outage of their stations is their downtime. */
    vpn_isps: z.array(z.string().min(1).transform((v) => v.normalize('NFC'))).default([]),
  }).prefault({}),
});
export type CollectorConfig = z.output<typeof collectorConfigSchema>;
