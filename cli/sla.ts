/**
 * `linkwatch sla --config FILE (--month YYYY-MM | --from ISO --to ISO) [--isp NAME] [--format table|csv|json|pdf]
 * [--lang vi|en] [--out FILE]`: the SLA statement per circuit, from the rollups (docs/sla.md).
 * Exit 0 with the statement, 2 on a bad config or option (before any network I/O) or an unreachable InfluxDB.
 */
import { writeFileSync } from 'node:fs';
import { loadCollectorConfig } from '../collector/main.js';
import { influxFromConfig } from '../collector/influx.js';
import { loadRegistry } from '../collector/registry.js';
import { formatStatementCsv, formatStatementJson, formatStatementTable } from '../collector/sla/format.js';
import type { Lang } from '../collector/sla/i18n.js';
import { renderStatementPdf } from '../collector/sla/pdf.js';
import { readStatement } from '../collector/sla/read.js';
import { hourStart, HOUR_MS, monthRange, parseInstant } from '../collector/sla/time.js';
import { readSecret } from '../lib/secrets.js';
import { EXIT } from './main.js';

const FORMATS = ['table', 'csv', 'json', 'pdf'] as const;
export type Format = (typeof FORMATS)[number];

export interface SlaOptions {
  config: string;
  month?: string;
  from?: string;
  to?: string;
  isp?: string;
  format?: string;
  lang?: string;
  out?: string;
  write?: (data: string | Buffer) => void;
  err?: (text: string) => void;
  now?: () => number;
}

/** A problem with the options: exit 2 before any network I/O. */
export class SlaOptionError extends Error {
  override readonly name = 'SlaOptionError';
  readonly code = 'LW_SLA_OPTION';
}

/**
 * The range of the options: a month in Asia/Ho_Chi_Minh, or `--from`/`--to` widened to whole hours (the rollups'
 * grain). A range reaching past the last complete hour ends there. Pure.
 */
export function rangeOf(o: Pick<SlaOptions, 'month' | 'from' | 'to'>, now: number): { from: number; to: number } {
  let from: number;
  let to: number;
  if (o.month !== undefined) {
    if (o.from !== undefined || o.to !== undefined) throw new SlaOptionError('give either --month or --from and --to, not both');
    const r = monthRange(o.month);
    if (!r) throw new SlaOptionError(`--month "${o.month}": expected YYYY-MM, e.g. 2026-11`);
    ({ from, to } = r);
  } else {
    if (o.from === undefined || o.to === undefined) throw new SlaOptionError('give --month YYYY-MM, or both --from and --to');
    const f = parseInstant(o.from);
    const t = parseInstant(o.to);
    if (f === undefined) throw new SlaOptionError(`--from "${o.from}": expected an ISO date or date and time, e.g. 2026-11-01 or 2026-11-01T08:00+07:00`);
    if (t === undefined) throw new SlaOptionError(`--to "${o.to}": expected an ISO date or date and time, e.g. 2026-12-01`);
    from = hourStart(f);
    to = hourStart(t + HOUR_MS - 1);
  }
  to = Math.min(to, hourStart(now));
  if (to <= from) throw new SlaOptionError('the range is empty (it must end after it starts, and start before the current hour)');
  return { from, to };
}

/** The command: returns its exit code. A bad config throws ConfigError (exit 2). */
export async function runSla(opts: SlaOptions): Promise<number> {
  const errOut = opts.err ?? ((t: string) => process.stderr.write(t));
  const format = (opts.format ?? 'table') as Format;
  const lang = (opts.lang ?? 'vi') as Lang;
  try {
    if (!FORMATS.includes(format)) throw new SlaOptionError(`--format must be one of ${FORMATS.join(', ')}, not "${opts.format}"`);
    if (lang !== 'vi' && lang !== 'en') throw new SlaOptionError(`--lang must be vi or en, not "${opts.lang}"`);
  } catch (err) {
    errOut(`linkwatch: ${(err as Error).message}\n`);
    return EXIT.ERROR;
  }
  const now = (opts.now ?? Date.now)();
  let range: { from: number; to: number };
  try {
    range = rangeOf(opts, now);
  } catch (err) {
    if (!(err instanceof SlaOptionError)) throw err;
    errOut(`linkwatch: ${err.message}\n`);
    return EXIT.ERROR;
  }
  const cfg = loadCollectorConfig(opts.config);
  const registry = loadRegistry(cfg.stations);
  let isp: string | undefined;
  if (opts.isp !== undefined) {
    const wanted = opts.isp.normalize('NFC');
    const known = [...new Set([...registry.values()].map((s) => s.isp))];
    isp = known.find((k) => k === wanted) ?? known.find((k) => k.localeCompare(wanted, 'vi', { sensitivity: 'accent' }) === 0);
    if (isp === undefined) {
      errOut(`linkwatch: --isp "${opts.isp}" is not an ISP of the registry (${known.sort().join(', ')})\n`);
      return EXIT.ERROR;
    }
  }
  const password = readSecret({ file: cfg.influx.password_file, envName: 'LINKWATCH_INFLUX_PASSWORD', key: 'influx.password_file', configFile: opts.config });
  const influx = influxFromConfig(cfg.influx, password);
  let statement;
  try {
    statement = await readStatement(influx, { ...range, registry, ...(isp !== undefined ? { isp } : {}) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = /database not found|retention policy not found/i.test(e.message) ? ' (has the collector run? it creates the database and the rollups policy)' : '';
    errOut(`linkwatch: cannot read the rollups from InfluxDB at ${cfg.influx.url}: ${e.code ?? ''} ${e.message}${hint}\n`.replace(/ +/g, ' '));
    return EXIT.ERROR;
  }
  const data =
    format === 'json' ? formatStatementJson(statement)
    : format === 'csv' ? formatStatementCsv(statement)
    : format === 'pdf' ? await renderStatementPdf(statement, { lang, generatedAt: now })
    : `${formatStatementTable(statement, lang)}\n`;
  if (opts.out) writeFileSync(opts.out, data);
  else (opts.write ?? ((d: string | Buffer) => process.stdout.write(d)))(data);
  return EXIT.OK;
}
