/**
 * Retention policies (docs/sla.md, docs/influxdb-schema.md): raw measurements in the database's default policy for
 * `influx.raw_retention`, the SLA rollups in the policy `rollups` for `influx.rollup_retention`. Set idempotently by
 * the collector at start and by the evaluator before it writes rollups.
 */
import { ident, type Influx } from './influx.js';
import { z } from 'zod';
import { durationMs } from '../lib/config-file.js';

/** The retention policy of the SLA rollups (`"rollups"."sla_hour"`). */
export const ROLLUP_RP = 'rollups';

/** A retention duration: `90d`, `1830d`, … ; `0` or `inf` keeps forever (0 ms). */
export const retentionDuration = z.union([z.literal('inf'), z.literal('INF'), durationMs]).transform((v) => (v === 'inf' || v === 'INF' ? 0 : v));

/** InfluxQL duration literal of a retention: whole hours (InfluxDB's minimum is 1 h), `INF` for 0. */
export function influxDuration(ms: number): string {
  if (ms === 0) return 'INF';
  return `${Math.max(1, Math.round(ms / 3_600_000))}h`;
}

/** Shard group duration of the rollups: few, large shards, so a year is read from a handful of files. */
const ROLLUP_SHARD = '2160h';

/** The statements that bring the policies to the configured durations, given the policies there now. Pure. */
export function retentionStatements(
  database: string,
  existing: ReadonlyArray<{ name: string; duration: string; default: boolean }>,
  rawMs: number,
  rollupMs: number,
): string[] {
  const db = ident(database);
  const same = (have: string, want: string) => normalize(have) === normalize(want);
  const out: string[] = [];
  const def = existing.find((p) => p.default);
  const raw = influxDuration(rawMs);
  if (!def) out.push(`CREATE RETENTION POLICY "raw" ON ${db} DURATION ${raw} REPLICATION 1 DEFAULT`);
  else if (!same(def.duration, raw)) out.push(`ALTER RETENTION POLICY "${def.name}" ON ${db} DURATION ${raw}`);
  const roll = influxDuration(rollupMs);
  const r = existing.find((p) => p.name === ROLLUP_RP);
  if (!r) out.push(`CREATE RETENTION POLICY "${ROLLUP_RP}" ON ${db} DURATION ${roll} REPLICATION 1 SHARD DURATION ${ROLLUP_SHARD}`);
  else if (!same(r.duration, roll)) out.push(`ALTER RETENTION POLICY "${ROLLUP_RP}" ON ${db} DURATION ${roll}`);
  return out;
}

/** `2160h0m0s` and `2160h` and `90d` compare equal; `0s` and `INF` too. */
function normalize(d: string): number {
  if (/^(0s?|inf)$/i.test(d.trim())) return 0;
  let ms = 0;
  for (const [, n, u] of d.matchAll(/(\d+)(ns|us|µs|ms|s|m|h|d|w)/g)) {
    ms += Number(n) * ({ ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 } as Record<string, number>)[u!]!;
  }
  return Math.round(ms);
}

/** Creates or alters the two policies as configured. Needs an InfluxDB user allowed to manage the database. */
export async function ensureRetention(influx: Influx, database: string, rawMs: number, rollupMs: number): Promise<string[]> {
  const existing = await influx.client.showRetentionPolicies(database);
  const statements = retentionStatements(database, existing, rawMs, rollupMs);
  if (statements.length > 0) await influx.queryRaw(statements, { method: 'POST' });
  return statements;
}
