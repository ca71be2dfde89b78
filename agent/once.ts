import type { Report } from '../protocol/report.js';
import { Agent, type ReportSources } from './agent.js';
import type { AgentConfig } from './config.js';
import type { Outbox } from './outbox.js';
import type { Logger } from '../lib/log.js';

/** An outbox that keeps nothing: `--once` measures and prints, it never commits or sends. */
const NO_OUTBOX: Outbox = {
  append: () => ({ seq: 0, dropped: 0 }),
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

/** Runs every probe and source once and returns the report, without committing or sending it. */
export function measureOnce(cfg: AgentConfig, deps: { log: Logger; sources?: ReportSources; now?: () => number }): Promise<Report> {
  const agent = new Agent(cfg, { log: deps.log, now: deps.now ?? Date.now, outbox: NO_OUTBOX, ...(deps.sources ? { sources: deps.sources } : {}) });
  return agent.measure();
}

const fmt = (v: number | undefined, digits = 1) => (v === undefined ? '-' : v.toFixed(digits));

/** A report as a table a technician reads on site. */
export function formatReport(r: Report): string {
  const rows = [['target', 'role', 'kind', 'result', 'loss %', 'avg ms', 'p95 ms', 'jitter ms']];
  for (const p of r.probes) {
    rows.push([
      p.target, p.role, p.kind,
      p.ok ? 'ok' : (p.error ?? 'fail') + (p.status ? ` ${p.status}` : ''),
      fmt(p.loss * 100, 0), fmt(p.rtt_avg_ms), fmt(p.rtt_p95_ms), fmt(p.jitter_ms),
    ]);
  }
  return `station ${r.station}  at ${new Date(r.ts).toISOString()}\n${table(rows)}`;
}

/** Left-aligned columns; widths count code points so Vietnamese text lines up. */
export function table(rows: string[][]): string {
  const width = (s: string) => [...s.normalize('NFC')].length;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => width(r[i] ?? ''))));
  return rows.map((r) => r.map((c, i) => c + ' '.repeat(widths[i]! - width(c))).join('  ').trimEnd()).join('\n');
}
