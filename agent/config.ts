import { z } from 'zod';
import { brokerAuthFields } from '../lib/broker.js';
import { durationMs, sizeBytes } from '../lib/config-file.js';
import { stationId } from '../protocol/report.js';
import { backlogSchema } from './backlog.js';
import { targetSchema } from './probes/index.js';
import { sessionSchema } from './sessions.js';

export const brokerSchema = z.strictObject({
  /** mqtt://, mqtts://, ws://, wss:// */
  url: z.string().regex(/^(mqtts?|wss?):\/\/.+/, 'expected mqtt://, mqtts://, ws:// or wss:// URL'),
  ...brokerAuthFields,
  keepalive: durationMs.prefault('30s'),
  /** Deflate payloads with the protocol's preset dictionary (about a third of the bytes on the wire). */
  compress: z.boolean().default(true),
});

export const outboxSchema = z.strictObject({
  /** Directory of the outbox database. */
  path: z.string().min(1),
  max_bytes: sizeBytes.prefault('256MB'),
  /** How long to wait for the collector's ack before sending a report again (doubling per attempt, up to 8×: agent/outbox.ts). */
  ack_timeout: durationMs.prefault('30s'),
  /** Reports per second sent from the backlog after a reconnect. */
  backfill_rate: z.number().min(1).max(10_000).default(50),
  /** Reports per backfill message. */
  backfill_batch: z.number().int().min(1).max(500).default(50),
  /**
   * Backfill reports sent and not yet acknowledged, at most (default two batches). Past it the station waits for acks,
   * so after a province-wide outage each station holds only this much in the broker's queue ahead of its live
   * reports, and a slow collector slows the backfill instead of burying the live reports under it.
   */
  backfill_window: z.number().int().min(1).max(100_000).optional(),
});

/**
 * The shortest cycle an agent accepts. Every cycle spawns its probes (ping.exe alone spaces echoes a second apart),
 * commits a report to disk with an fsync and sends it; 150 stations at 1 s are already 150 reports a second at the
 * collector. Below 1 s the likely cause is a typo (`10ms` for `10s`, `0.1` meaning minutes), not a need.
 */
export const MIN_INTERVAL_MS = 1000;

export const agentConfigSchema = z.strictObject({
  station: stationId,
  interval: durationMs.prefault('10s').refine((ms) => ms >= MIN_INTERVAL_MS, {
    message: `must be at least 1s: each cycle spawns probes and commits a report to disk (did you mean seconds?)`,
  }),
  /** Random spread of each cycle's start, so 150 stations do not probe in lockstep. Default: 10 % of interval. */
  jitter: durationMs.optional(),
  broker: brokerSchema,
  outbox: outboxSchema,
  targets: z.array(targetSchema).min(1, 'at least one target is needed'),
  /** Long-held connections and interfaces whose drops are counted; the broker connection is added as `mqtt`. */
  sessions: z.array(sessionSchema).max(31).default([]),
  /** Where records wait to be synced: folders, HTTP counters, commands. */
  backlog: z.array(backlogSchema).max(32).default([]),
  /** The network interface reported in host vitals; default: the OS's default interface. */
  interface: z.string().min(1).max(64).optional(),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).superRefine((cfg, ctx) => {
  const seen = new Set<string>();
  cfg.targets.forEach((t, i) => {
    if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'name'], message: `duplicate target name "${t.name}"` });
    seen.add(t.name);
  });
  const sessionNames = new Set<string>(['mqtt']);
  cfg.sessions.forEach((s, i) => {
    if (sessionNames.has(s.name)) ctx.addIssue({ code: 'custom', path: ['sessions', i, 'name'], message: s.name === 'mqtt' ? '"mqtt" is the broker connection\'s own session' : `duplicate session name "${s.name}"` });
    sessionNames.add(s.name);
  });
  const sources = new Set<string>();
  cfg.backlog.forEach((b, i) => {
    if (sources.has(b.name)) ctx.addIssue({ code: 'custom', path: ['backlog', i, 'name'], message: `duplicate backlog source "${b.name}"` });
    sources.add(b.name);
  });
});
export type AgentConfig = z.output<typeof agentConfigSchema>;
