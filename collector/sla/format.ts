/**
 * The statement as terminal text (aligned like `linkwatch status`), CSV and JSON. Pure; the PDF is in pdf.ts.
 */
import { alignColumns } from '../../lib/text.js';
import { causeLabel, formatDuration, formatNumber, formatPercent, LABELS, type Lang } from './i18n.js';
import type { Statement, StatementRow } from './statement.js';
import { vnMinute } from './time.js';

/** `SLO met` / `missed` / `no data` in the statement's language. */
export function sloVerdict(r: StatementRow, lang: Lang): string {
  const l = LABELS[lang];
  return r.slo_met === null ? l.no_data : r.slo_met ? l.met : l.missed;
}

/** The period line: `2026-11-01 00:00 – 2026-12-01 00:00 (Asia/Ho_Chi_Minh)`. */
export function periodText(s: Statement): string {
  return `${s.from.slice(0, 16).replace('T', ' ')} – ${s.to.slice(0, 16).replace('T', ' ')} (${s.time_zone}, UTC+07:00)`;
}

/** The statement as aligned terminal text: one line per circuit, then each circuit's outages. */
export function formatStatementTable(s: Statement, lang: Lang): string {
  const l = LABELS[lang];
  const head = [
    l.station, l.name, l.provider, l.circuit, 'SLO %', l.availability, l.slo_met, l.downtime, l.outages, 'MTTR', 'MTBF',
    l.maintenance, l.station_side, l.other, l.completeness, 'RTT p50/p95 ms', 'loss p95',
  ];
  const rows = s.rows.map((r) => [
    r.station, r.name, r.isp, r.circuit, formatNumber(r.sla_target, 2, lang), formatPercent(r.availability_pct, lang), sloVerdict(r, lang),
    formatDuration(r.downtime_s), String(r.outage_count), formatDuration(r.mttr_s), formatDuration(r.mtbf_s),
    formatDuration(r.excluded_s.maintenance), formatDuration(r.excluded_s.station_side), formatDuration(r.excluded_s.other),
    formatPercent(r.data_completeness_pct, lang), `${formatNumber(r.rtt_p50_ms, 1, lang)}/${formatNumber(r.rtt_p95_ms, 1, lang)}`,
    r.loss_p95 === null ? '–' : `${formatNumber(r.loss_p95 * 100, 2, lang)} %`,
  ]);
  const lines = [`${l.title}: ${l.period} ${periodText(s)}`, '', ...alignColumns([head, ...rows])];
  const outages = s.rows.flatMap((r) => r.outages.map((o) => [r.station, r.circuit, vnMinute(Date.parse(o.start)), vnMinute(Date.parse(o.end)), formatDuration(o.duration_s), causeLabel(o.cause, lang)]));
  lines.push('', `${l.outages}:`);
  if (outages.length === 0) lines.push(l.no_outage);
  else lines.push(...alignColumns([[l.station, l.circuit, l.start, l.end, l.duration, l.cause], ...outages]));
  return lines.join('\n');
}

/** The CSV columns: the JSON row's keys (flattened), the same in both languages. */
export const CSV_COLUMNS = [
  'station', 'name', 'commune', 'district', 'province', 'isp', 'circuit', 'sla_target', 'from', 'to', 'availability_pct', 'slo_met',
  'downtime_s', 'excluded_maintenance_s', 'excluded_station_side_s', 'excluded_other_s', 'available_s', 'unknown_s',
  'data_completeness_pct', 'outage_count', 'mttr_s', 'mtbf_s', 'rtt_p50_ms', 'rtt_p95_ms', 'loss_p50', 'loss_p95',
  'jitter_p50_ms', 'jitter_p95_ms', 'outages',
] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The statement as CSV (RFC 4180, UTF-8 with CRLF line ends), one line per circuit. `outages` lists the circuit's
 * outages as `start/end/duration_s/cause`, separated by `;`.
 */
export function formatStatementCsv(s: Statement): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of s.rows) {
    const values: Record<(typeof CSV_COLUMNS)[number], unknown> = {
      station: r.station, name: r.name, commune: r.commune, district: r.district, province: r.province, isp: r.isp, circuit: r.circuit,
      sla_target: r.sla_target, from: s.from, to: s.to, availability_pct: r.availability_pct, slo_met: r.slo_met,
      downtime_s: r.downtime_s, excluded_maintenance_s: r.excluded_s.maintenance, excluded_station_side_s: r.excluded_s.station_side,
      excluded_other_s: r.excluded_s.other, available_s: r.available_s, unknown_s: r.unknown_s, data_completeness_pct: r.data_completeness_pct,
      outage_count: r.outage_count, mttr_s: r.mttr_s, mtbf_s: r.mtbf_s, rtt_p50_ms: r.rtt_p50_ms, rtt_p95_ms: r.rtt_p95_ms,
      loss_p50: r.loss_p50, loss_p95: r.loss_p95, jitter_p50_ms: r.jitter_p50_ms, jitter_p95_ms: r.jitter_p95_ms,
      outages: r.outages.map((o) => `${o.start}/${o.end}/${o.duration_s}/${o.cause}`).join(';'),
    };
    lines.push(CSV_COLUMNS.map((c) => csvCell(values[c])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

export const formatStatementJson = (s: Statement): string => `${JSON.stringify(s, null, 2)}\n`;
