/**
 * The statement as a PDF a partner can sign: a summary page, one page per circuit (header, availability against the
 * SLO, outage list, MTTR/MTBF, exclusions, path quality, daily-availability chart) and the definitions. Rendered with
 * pdfkit and Noto Sans (OFL, shipped in the @expo-google-fonts/noto-sans package), embedded, which covers Vietnamese.
 */
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import { causeLabel, formatDuration, formatNumber, formatPercent, LABELS, type Lang } from './i18n.js';
import { periodText, sloVerdict } from './format.js';
import type { Statement, StatementRow } from './statement.js';
import { vnMinute } from './time.js';

const require = createRequire(import.meta.url);
const FONT = require.resolve('@expo-google-fonts/noto-sans/400Regular/NotoSans_400Regular.ttf');
const FONT_BOLD = require.resolve('@expo-google-fonts/noto-sans/700Bold/NotoSans_700Bold.ttf');

const MARGIN = 48;
const GREEN = '#2e7d32';
const RED = '#c62828';
const GREY = '#9e9e9e';
const INK = '#212121';

type Doc = PDFKit.PDFDocument;

/**
 * Noto Sans has a precomposed glyph for every Vietnamese letter (the text is NFC). Its default `ccmp` decomposition and
 * mark kerning draw the same letters from a base and a mark, which text extraction (pdftotext, copy and paste, a
 * screen reader) then reads back as the wrong letter ("dịch" as "dich"): off, the PDF's text is the statement's text.
 */
const PLAIN = { features: { ccmp: false, kern: false } as unknown as PDFKit.Mixins.OpenTypeFeatures[] };

export interface PdfOptions {
  lang: Lang;
  /** When the statement was made (ms epoch), printed in the header. */
  generatedAt: number;
}

/** Renders the statement; resolves with the PDF bytes. */
export function renderStatementPdf(s: Statement, opts: PdfOptions): Promise<Buffer> {
  const l = LABELS[opts.lang];
  const doc = new PDFDocument({
    size: 'A4', margin: MARGIN, bufferPages: true,
    info: { Title: `${l.title} ${s.from.slice(0, 10)} – ${s.to.slice(0, 10)}`, Creator: 'linkwatch', CreationDate: new Date(opts.generatedAt) },
  });
  doc.registerFont('body', FONT);
  doc.registerFont('bold', FONT_BOLD);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  summaryPage(doc, s, opts);
  for (const r of s.rows) {
    doc.addPage();
    circuitPage(doc, s, r, opts);
  }
  doc.addPage();
  definitionsPage(doc, opts.lang);

  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    // Text below the bottom margin would start a new page: the footer lives in the margin.
    doc.page.margins.bottom = 0;
    doc.font('body').fontSize(8).fillColor(GREY)
      .text(`linkwatch · ${l.title} · ${l.page} ${i + 1}/${range.count}`, MARGIN, doc.page.height - MARGIN + 12, { ...PLAIN, width: doc.page.width - 2 * MARGIN, align: 'center', lineBreak: false });
  }
  doc.end();
  return done;
}

const width = (doc: Doc) => doc.page.width - 2 * MARGIN;
const bottom = (doc: Doc) => doc.page.height - MARGIN - 10;

function heading(doc: Doc, text: string, size = 12) {
  doc.moveDown(0.6).font('bold').fontSize(size).fillColor(INK).text(text, MARGIN, doc.y, { ...PLAIN, width: width(doc) });
  doc.moveDown(0.2);
}

function header(doc: Doc, s: Statement, opts: PdfOptions) {
  const l = LABELS[opts.lang];
  doc.font('bold').fontSize(16).fillColor(INK).text(l.title, MARGIN, MARGIN, { ...PLAIN, width: width(doc) });
  doc.font('body').fontSize(9).fillColor(INK)
    .text(`${l.period}: ${periodText(s)}`, { ...PLAIN, width: width(doc) })
    .text(`${l.time_zone}: ${s.time_zone} (UTC+07:00) · ${l.generated}: ${vnMinute(opts.generatedAt)}`, { ...PLAIN, width: width(doc) });
}

/** A table with fixed column widths (fractions of the page width); continues on a new page when full. */
function table(doc: Doc, head: string[], rows: string[][], fractions: number[], opts: { size?: number; align?: Array<'left' | 'right'> } = {}) {
  const size = opts.size ?? 8.5;
  const w = width(doc);
  const cols = fractions.map((f) => f * w);
  const drawRow = (cells: string[], font: 'body' | 'bold') => {
    doc.font(font).fontSize(size);
    const h = Math.max(...cells.map((c, i) => doc.heightOfString(c, { ...PLAIN, width: cols[i]! - 4 }))) + 3;
    if (doc.y + h > bottom(doc)) {
      doc.addPage();
      doc.y = MARGIN;
    }
    const y = doc.y;
    let x = MARGIN;
    cells.forEach((c, i) => {
      doc.fillColor(INK).text(c, x, y, { ...PLAIN, width: cols[i]! - 4, align: opts.align?.[i] ?? 'left' });
      x += cols[i]!;
    });
    doc.y = y + h;
    doc.moveTo(MARGIN, doc.y - 1).lineTo(MARGIN + w, doc.y - 1).lineWidth(0.3).strokeColor('#e0e0e0').stroke();
  };
  drawRow(head, 'bold');
  for (const r of rows) drawRow(r, 'body');
  doc.x = MARGIN;
}

function summaryPage(doc: Doc, s: Statement, opts: PdfOptions) {
  const l = LABELS[opts.lang];
  const lang = opts.lang;
  header(doc, s, opts);
  heading(doc, l.summary);
  table(
    doc,
    [l.station, l.provider, l.circuit, 'SLO %', l.availability, l.slo_met, l.downtime, l.outages_short, l.completeness_short],
    s.rows.map((r) => [
      `${r.name}\n${r.station}`, r.isp, r.circuit, formatNumber(r.sla_target, 2, lang), formatPercent(r.availability_pct, lang), sloVerdict(r, lang),
      formatDuration(r.downtime_s), String(r.outage_count), formatPercent(r.data_completeness_pct, lang),
    ]),
    [0.19, 0.09, 0.14, 0.07, 0.11, 0.1, 0.11, 0.07, 0.12],
    { align: ['left', 'left', 'left', 'right', 'right', 'left', 'right', 'right', 'right'] },
  );
}

function keyValues(doc: Doc, pairs: Array<[string, string]>) {
  const w = width(doc);
  for (const [k, v] of pairs) {
    if (doc.y + 14 > bottom(doc)) {
      doc.addPage();
      doc.y = MARGIN;
    }
    const y = doc.y;
    doc.font('body').fontSize(9.5).fillColor(INK).text(k, MARGIN, y, { ...PLAIN, width: w * 0.5 });
    const h1 = doc.y - y;
    doc.font('bold').text(v, MARGIN + w * 0.5, y, { ...PLAIN, width: w * 0.5 });
    doc.y = Math.max(y + h1, doc.y);
  }
  doc.x = MARGIN;
}

function circuitPage(doc: Doc, s: Statement, r: StatementRow, opts: PdfOptions) {
  const l = LABELS[opts.lang];
  const lang = opts.lang;
  header(doc, s, opts);
  doc.moveDown(0.5);
  keyValues(doc, [
    [l.circuit, r.circuit],
    [l.provider, r.isp],
    [l.station, `${r.name} (${r.station})`],
    ['', [r.commune, r.district, r.province].filter(Boolean).join(', ')],
    [l.slo, `${formatNumber(r.sla_target, 2, lang)} %`],
  ]);
  doc.moveDown(0.6);
  const verdictColor = r.slo_met === null ? GREY : r.slo_met ? GREEN : RED;
  const y = doc.y;
  doc.font('bold').fontSize(22).fillColor(verdictColor).text(formatPercent(r.availability_pct, lang), MARGIN, y, { ...PLAIN, width: width(doc) * 0.5 });
  doc.font('bold').fontSize(12).fillColor(verdictColor)
    .text(`${l.slo_met} ${formatNumber(r.sla_target, 2, lang)} %: ${sloVerdict(r, lang)}`, MARGIN + width(doc) * 0.5, y + 8, { ...PLAIN, width: width(doc) * 0.5 });
  doc.fillColor(INK);
  doc.x = MARGIN;
  doc.moveDown(0.3);
  keyValues(doc, [
    [l.availability, formatPercent(r.availability_pct, lang)],
    [l.downtime, formatDuration(r.downtime_s)],
    [l.outages, String(r.outage_count)],
    [l.mttr, formatDuration(r.mttr_s)],
    [l.mtbf, formatDuration(r.mtbf_s)],
    [l.completeness, formatPercent(r.data_completeness_pct, lang)],
  ]);
  heading(doc, l.exclusions, 11);
  keyValues(doc, [
    [l.maintenance, formatDuration(r.excluded_s.maintenance)],
    [l.station_side, formatDuration(r.excluded_s.station_side)],
    [l.other, formatDuration(r.excluded_s.other)],
    [l.unknown, formatDuration(r.unknown_s)],
  ]);
  heading(doc, l.quality, 11);
  keyValues(doc, [
    [l.latency, `${formatNumber(r.rtt_p50_ms, 1, lang)} / ${formatNumber(r.rtt_p95_ms, 1, lang)} ms`],
    [l.loss, r.loss_p50 === null ? '–' : `${formatNumber(r.loss_p50 * 100, 2, lang)} / ${formatNumber((r.loss_p95 ?? 0) * 100, 2, lang)} %`],
    [l.jitter, `${formatNumber(r.jitter_p50_ms, 1, lang)} / ${formatNumber(r.jitter_p95_ms, 1, lang)} ms`],
  ]);
  if (r.daily && r.daily.length > 0) {
    heading(doc, l.daily, 11);
    dailyChart(doc, r, lang);
  }
  heading(doc, `${l.outages} (${r.outage_count})`, 11);
  if (r.outages.length === 0) doc.font('body').fontSize(9.5).text(l.no_outage, PLAIN);
  else {
    table(
      doc,
      [l.start, l.end, l.duration, l.cause],
      r.outages.map((o) => [vnMinute(Date.parse(o.start)), vnMinute(Date.parse(o.end)), formatDuration(o.duration_s), causeLabel(o.cause, lang)]),
      [0.22, 0.22, 0.16, 0.4],
    );
  }
}

/** Bars of daily availability against the SLO line; a day without data is a short grey bar. */
function dailyChart(doc: Doc, r: StatementRow, lang: Lang) {
  const days = r.daily!;
  const h = 110;
  if (doc.y + h + 30 > bottom(doc)) {
    doc.addPage();
    doc.y = MARGIN;
  }
  const left = MARGIN + 34;
  const w = width(doc) - 34;
  const top = doc.y + 4;
  const values = days.map((d) => d.availability_pct).filter((v): v is number => v !== null);
  // The axis starts a little under the lowest day (or the SLO), so 99.9 % and 99.5 % look different.
  const floor = Math.max(0, Math.floor(Math.min(r.sla_target, ...values) - 0.5));
  const yOf = (v: number) => top + h - ((v - floor) / (100 - floor)) * h;
  doc.font('body').fontSize(7).fillColor(GREY);
  for (const v of [floor, (floor + 100) / 2, 100]) {
    doc.text(`${formatNumber(v, floor >= 99 ? 2 : 1, lang)} %`, MARGIN - 2, yOf(v) - 4, { ...PLAIN, width: 34, align: 'left', lineBreak: false });
    doc.moveTo(left, yOf(v)).lineTo(left + w, yOf(v)).lineWidth(0.3).strokeColor('#e0e0e0').stroke();
  }
  const slot = w / days.length;
  const bar = Math.max(1, slot * 0.7);
  days.forEach((d, i) => {
    const x = left + i * slot + (slot - bar) / 2;
    if (d.availability_pct === null) {
      doc.rect(x, top + h - 3, bar, 3).fill(GREY);
    } else {
      const y = yOf(d.availability_pct);
      doc.rect(x, y, bar, Math.max(0.5, top + h - y)).fill(d.availability_pct >= r.sla_target ? GREEN : RED);
    }
    if (days.length <= 31 || i % Math.ceil(days.length / 31) === 0) {
      doc.font('body').fontSize(6).fillColor(GREY).text(d.date.slice(8, 10), left + i * slot, top + h + 2, { ...PLAIN, width: slot, align: 'center', lineBreak: false });
    }
  });
  doc.moveTo(left, yOf(r.sla_target)).lineTo(left + w, yOf(r.sla_target)).dash(3, { space: 2 }).lineWidth(0.8).strokeColor(RED).stroke().undash();
  doc.fillColor(INK);
  doc.y = top + h + 14;
  doc.x = MARGIN;
}

function definitionsPage(doc: Doc, lang: Lang) {
  const l = LABELS[lang];
  doc.font('bold').fontSize(14).fillColor(INK).text(l.definitions, MARGIN, MARGIN, { ...PLAIN, width: width(doc) });
  doc.moveDown(0.5);
  for (const [term, text] of l.terms) {
    doc.font('bold').fontSize(10).text(term, { ...PLAIN, width: width(doc) });
    doc.font('body').fontSize(9.5).text(text, { ...PLAIN, width: width(doc), align: 'justify' });
    doc.moveDown(0.5);
  }
}
