import { alignColumns } from '../lib/text.js';
import type { Report } from '../protocol/report.js';
import { Agent, type ReportSources } from './agent.js';
import type { AgentConfig } from './config.js';
import type { Outbox } from './outbox.js';
import type { Logger } from '../lib/log.js';
import { buildSources } from './sources.js';
import { checkReadiness } from './preflight.js';

/** An outbox that keeps nothing: `--once` measures and prints, it never commits or sends. */
const NO_OUTBOX: Outbox = {
  append: (build) => ({ entry: { seq: 0, attempts: 0, ...build(0) }, dropped: 0 }),
  newest: () => undefined,
  due: () => [],
  markSent: () => {},
  resetSent: () => {},
  ack: () => 0,
  depth: () => 0,
  bytes: () => 0,
  dropped: () => 0,
  close: () => {},
};

/**
 * Runs every probe, session check and backlog source once and returns the report, without committing or sending
 * it. Each session is opened once (up, or why not); the broker connection is not, since nothing is sent.
 */
export async function measureOnce(cfg: AgentConfig, deps: { log: Logger; sources?: ReportSources; now?: () => number }): Promise<Report> {
  const now = deps.now ?? Date.now;
  const station = buildSources(cfg, { log: deps.log, now });
  const sources = { ...station.sources, ...deps.sources };
  if (!deps.sources?.sessions) {
    station.start();
    await station.sessions.settle(Math.min(10_000, cfg.interval));
  }
  try {
    const agent = new Agent(cfg, { log: deps.log, now, outbox: NO_OUTBOX, sources });
    return await agent.measure();
  } finally {
    station.stop();
  }
}

/**
 * Checks what the real run needs (secrets readable, outbox writable, ICMP permitted) and writes one line per problem,
 * naming the config key. True when something is missing: a pre-check that passes must mean the service will run.
 */
export async function reportUnready(cfg: AgentConfig, configFile: string, write: (line: string) => void = (l) => process.stderr.write(l)): Promise<boolean> {
  const unready = await checkReadiness(cfg, { configFile });
  for (const u of unready) write(`linkwatch: not ready: ${configFile}: ${u.key}: ${u.problem}\n`);
  return unready.length > 0;
}

const fmt = (v: number | undefined, digits = 1) => (v === undefined ? '-' : v.toFixed(digits));
// Loopback and LAN round trips are well under a millisecond: RTTs below 1 ms get two decimals.
const rtt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(v < 1 ? 2 : 1));

/** A report as a table a technician reads on site. */
export function formatReport(r: Report): string {
  const rows = [['target', 'role', 'kind', 'result', 'loss %', 'avg ms', 'p95 ms', 'jitter ms']];
  for (const p of r.probes) {
    rows.push([
      p.target, p.role, p.kind,
      p.ok ? 'ok' : (p.error ?? 'fail') + (p.status ? ` ${p.status}` : ''),
      fmt(p.loss * 100, 0), rtt(p.rtt_avg_ms), rtt(p.rtt_p95_ms), rtt(p.jitter_ms),
    ]);
  }
  const parts = [`station ${r.station}  at ${new Date(r.ts).toISOString()}`, table(rows)];
  const phased = r.probes.filter((p) => p.phases || p.cert_days !== undefined || p.detail);
  if (phased.length > 0) {
    const d = [['target', 'dns ms', 'connect ms', 'tls ms', 'ttfb ms', 'cert days', 'detail']];
    for (const p of phased) {
      d.push([p.target, fmt(p.phases?.dns_ms), fmt(p.phases?.connect_ms), fmt(p.phases?.tls_ms), fmt(p.phases?.ttfb_ms), fmt(p.cert_days, 0), p.detail ?? '']);
    }
    parts.push('', table(d));
  }
  if (r.sessions.length > 0) {
    const s = [['session', 'state', 'drops', 'down ms']];
    for (const x of r.sessions) s.push([x.name, x.up ? 'up' : 'DOWN', String(x.drops), String(x.down_ms)]);
    parts.push('', table(s));
  }
  if (r.backlog.length > 0) {
    const b = [['backlog', 'pending', 'bytes', 'oldest s', 'error']];
    for (const x of r.backlog) b.push([x.source, x.pending === undefined ? '-' : String(x.pending), x.bytes === undefined ? '-' : String(x.bytes), fmt(x.oldest_age_s, 0), x.error ?? '']);
    parts.push('', table(b));
  }
  const h = r.host;
  if (Object.keys(h).length > 0) {
    const gb = (n?: number) => (n === undefined ? '-' : `${(n / 1e9).toFixed(1)} GB`);
    parts.push(
      '',
      `host  cpu ${fmt(h.cpu_pct)} %  mem ${fmt(h.mem_used_pct)} %  disk free ${gb(h.disk_free_bytes)}  up ${fmt(h.uptime_s === undefined ? undefined : h.uptime_s / 3600)} h  iface ${h.iface ?? '-'} ${h.iface_up === undefined ? '' : h.iface_up ? 'up' : 'DOWN'}`.trimEnd(),
    );
  }
  return parts.join('\n');
}

const table = (rows: string[][]): string => alignColumns(rows).join('\n');
