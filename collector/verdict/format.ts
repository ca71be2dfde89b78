/**
 * The status table: stations not ok, most severe and longest first, then open incidents. Pure; `linkwatch status`
 * and `linkwatch demo` print it.
 */
import { alignColumns, displayWidth } from '../../lib/text.js';
import type { Incident } from './incidents.js';
import type { State, Verdict } from './types.js';

/** One row of the status table: a verdict with where the station is. */
export interface StatusRow extends Omit<Verdict, 'outage_start'> {
  name?: string;
  commune: string;
  district: string;
  isp: string;
}

// Offline first (nothing known, maybe no power), then down, degraded, and planned work last.
const SEVERITY: Record<State, number> = { offline: 4, down: 3, degraded: 2, maintenance: 1, ok: 0 };

/** Rows not ok, most severe first, then longest-lasting first, then by id. */
export function sortStatusRows<R extends StatusRow>(rows: readonly R[]): R[] {
  return rows
    .filter((r) => r.state !== 'ok')
    .sort((a, b) => SEVERITY[b.state] - SEVERITY[a.state] || a.since - b.since || a.station.localeCompare(b.station));
}

/** `2h05m`, `4m10s`, `35s`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

export interface FormatOptions {
  /** The time ages are counted to (the evaluation time). */
  now: number;
  /** IANA zone for clock times; default the machine's. */
  timeZone?: string;
}

function clock(ms: number, opts: FormatOptions): string {
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, ...(opts.timeZone ? { timeZone: opts.timeZone } : {}) }).format(ms);
}

/** The status table as text lines (no trailing newline). Only rows not ok are shown. */
export function formatStatusTable(rows: readonly StatusRow[], incidents: readonly Incident[], opts: FormatOptions): string {
  const notOk = sortStatusRows(rows);
  // Stations unheard because no collector hears the broker are one fault of the server, not N station outages.
  const unheard = notOk.filter((r) => r.cause === 'pipeline');
  const shown = notOk.filter((r) => r.cause !== 'pipeline');
  const out: string[] = [];
  if (unheard.length > 0) {
    const since = Math.min(...unheard.map((r) => r.since));
    out.push(
      `PIPELINE DOWN since ${clock(since, opts)} (${formatAge(opts.now - since)}): no collector hears the broker, so ${unheard.length} of ${rows.length} stations are unheard.`,
      'Not station outages: check mosquitto and the collectors (their /healthz and logs). The stations keep their reports and send them once it is fixed.',
      '',
    );
  }
  if (notOk.length === 0) out.push(`All ${rows.length} stations ok.`);
  else if (shown.length === 0) {
    if (rows.length > unheard.length) out.push(`The other ${rows.length - unheard.length} stations ok.`);
  }
  else {
    const header = ['STATION', 'COMMUNE', 'DISTRICT', 'ISP', 'STATE', 'CAUSE', 'SINCE', 'LAST SEEN', 'LOSS', 'LATENCY'];
    const cells = shown.map((r) => [
      r.station, r.commune, r.district, r.isp, r.state, r.cause,
      `${clock(r.since, opts)} (${formatAge(opts.now - r.since)})`,
      r.last_seen === undefined ? 'never' : `${formatAge(opts.now - r.last_seen)} ago`,
      r.loss === undefined ? '-' : `${Math.round(r.loss * 100)}%`,
      r.rtt_ms === undefined ? '-' : `${Math.round(r.rtt_ms)} ms`,
    ]);
    out.push(`${shown.length} of ${rows.length} stations not ok`, ...alignColumns([header, ...cells]));
  }
  const open = incidents.filter((i) => i.open);
  if (open.length > 0) {
    out.push('', `${open.length} open incident${open.length > 1 ? 's' : ''}`);
    out.push(...alignColumns([
      ['SCOPE', 'KEY', 'CAUSE', 'STATIONS', 'SINCE'],
      ...open.map((i) => [i.scope, i.key, i.cause, String(i.stations), `${clock(i.since, opts)} (${formatAge(opts.now - i.since)})`]),
    ]));
  }
  return out.join('\n');
}

export { alignColumns, displayWidth };
