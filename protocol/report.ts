import { z } from 'zod';

/** A station id: lower-case ASCII, digits and dashes; also the MQTT username and a topic level. */
export const STATION_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const stationId = z.string().regex(STATION_ID, 'station id must match [a-z0-9][a-z0-9-]{0,62}');

/** Names of targets, sessions and backlog sources: they become tag values, so only a safe alphabet. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const itemName = z.string().regex(NAME, 'name must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}');

export const ROLES = ['gateway', 'isp', 'core', 'service'] as const;
export type Role = (typeof ROLES)[number];
export const PROBE_KINDS = ['icmp', 'tcp', 'tls', 'http', 'dns'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

/** Why a probe failed; a down target is data, not an exception. */
export const PROBE_ERRORS = [
  'timeout', 'refused', 'unreachable', 'dns_error', 'tls_error', 'http_status', 'reset', 'error',
] as const;
export type ProbeError = (typeof PROBE_ERRORS)[number];

const ms = z.number().min(0).max(3_600_000);
const count = z.number().int().min(0).max(1_000_000);

export const probeSample = z.object({
  target: itemName,
  role: z.enum(ROLES),
  kind: z.enum(PROBE_KINDS),
  ok: z.boolean(),
  sent: count,
  received: count,
  loss: z.number().min(0).max(1),
  rtt_min_ms: ms.optional(),
  rtt_avg_ms: ms.optional(),
  rtt_max_ms: ms.optional(),
  rtt_p95_ms: ms.optional(),
  jitter_ms: ms.optional(),
  phases: z
    .object({ dns_ms: ms.optional(), connect_ms: ms.optional(), tls_ms: ms.optional(), ttfb_ms: ms.optional() })
    .optional(),
  status: z.number().int().min(0).max(999).optional(),
  error: z.enum(PROBE_ERRORS).optional(),
  detail: z.string().max(300).optional(),
  cert_days: z.number().min(-100_000).max(100_000).optional(),
});
export type ProbeSample = z.infer<typeof probeSample>;

export const sessionSample = z.object({
  name: itemName,
  up: z.boolean(),
  drops: count,
  down_ms: z.number().int().min(0).max(86_400_000 * 365),
});
export type SessionSample = z.infer<typeof sessionSample>;

export const backlogSample = z.object({
  source: itemName,
  pending: count.optional(),
  bytes: z.number().int().min(0).optional(),
  oldest_age_s: z.number().min(0).max(86_400 * 3650).optional(),
  error: z.string().max(300).optional(),
});
export type BacklogSample = z.infer<typeof backlogSample>;

export const hostSample = z.object({
  cpu_pct: z.number().min(0).max(100).optional(),
  mem_used_pct: z.number().min(0).max(100).optional(),
  disk_free_bytes: z.number().int().min(0).optional(),
  uptime_s: z.number().min(0).optional(),
  iface: z.string().max(64).optional(),
  iface_up: z.boolean().optional(),
});
export type HostSample = z.infer<typeof hostSample>;

/** One report: everything a station measured in one interval, stamped once at measurement time. */
export const report = z.object({
  v: z.literal(1),
  station: stationId,
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  ts: z.number().int().min(0).max(8_640_000_000_000),
  interval_s: z.number().min(0.1).max(86_400),
  probes: z.array(probeSample).max(64),
  sessions: z.array(sessionSample).max(32).default([]),
  backlog: z.array(backlogSample).max(32).default([]),
  host: hostSample.default({}),
  outbox: z.object({ depth: count, dropped: z.number().int().min(0) }).default({ depth: 0, dropped: 0 }),
  clock: z.object({ offset_ms: z.number().min(-1e12).max(1e12).optional() }).default({}),
  /** The agent's version (package.json `version`), so IT sees which stations still run an old agent. */
  agent_version: z.string().regex(/^[0-9A-Za-z.+-]{1,32}$/).optional(),
});
export type Report = z.infer<typeof report>;
export type ReportInput = z.input<typeof report>;

/** The retained `status` message; `offline` is also the last will. */
export const statusMessage = z.object({ state: z.enum(['online', 'offline']), ts: z.number().int().min(0) });
export type StatusMessage = z.infer<typeof statusMessage>;

export const EVENT_TYPES = ['session_drop', 'iface_flap', 'mqtt_drop', 'outbox_overflow', 'outbox_reset'] as const;
export const eventMessage = z.object({
  station: stationId,
  ts: z.number().int().min(0),
  type: z.enum(EVENT_TYPES),
  name: z.string().max(64).optional(),
  count: z.number().int().min(0).optional(),
  down_ms: z.number().int().min(0).optional(),
  detail: z.string().max(300).optional(),
});
export type EventMessage = z.infer<typeof eventMessage>;

/**
 * collector → agent on `linkwatch/v1/<id>/ack`: the sequence numbers now stored in InfluxDB, as inclusive ranges;
 * `rejected` are reports InfluxDB refused for good, kept in the collector's dead letters, also to be dropped.
 */
export const ackMessage = z.object({
  v: z.literal(1),
  stored: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])).default([]),
  rejected: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])).default([]),
  /** The collector's clock (ms epoch) when it sent the ack, from which agents estimate their clock offset. */
  t: z.number().int().min(0).optional(),
});
export type AckMessage = z.infer<typeof ackMessage>;

/** Expands inclusive ranges back to their integers; refuses absurd spans so a bad ack cannot exhaust memory. */
export function fromRanges(ranges: ReadonlyArray<readonly [number, number]>, maxCount = 1_000_000): number[] {
  const out: number[] = [];
  for (const [a, b] of ranges) {
    if (b < a || out.length + (b - a + 1) > maxCount) throw new RangeError(`bad ack range [${a},${b}]`);
    for (let s = a; s <= b; s++) out.push(s);
  }
  return out;
}
