/**
 * Maintenance windows: planned work per station, district, ISP or province, in a YAML file. While a window is open
 * the verdict says `maintenance` and the SLA leaves the time out (docs/verdicts.md has the format).
 */
import { readFileSync, statSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import type { Logger } from '../lib/log.js';
import { formatPath } from '../lib/config-file.js';
import type { Station } from './registry.js';
import { MaintenanceError } from '../lib/errors.js';

const instant = z
  .union([z.string(), z.date()])
  .transform((v, ctx) => {
    if (v instanceof Date) return v.getTime();
    if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v.trim())) {
      ctx.addIssue({ code: 'custom', message: `"${v}": expected a date and time with its UTC offset, e.g. 2025-06-01T22:00:00+07:00` });
      return z.NEVER;
    }
    return Date.parse(v.trim().replace(' ', 'T'));
  });

const windowSchema = z
  .strictObject({
    station: z.string().min(1).optional(),
    district: z.string().min(1).optional(),
    isp: z.string().min(1).optional(),
    province: z.string().min(1).optional(),
    start: instant,
    end: instant,
    reason: z.string().max(300).optional(),
  })
  .refine((w) => w.station ?? w.district ?? w.isp ?? w.province, { message: 'name at least one of station, district, isp, province' })
  .refine((w) => w.end > w.start, { message: 'end must be after start', path: ['end'] });

export const maintenanceFileSchema = z.strictObject({ windows: z.array(windowSchema).default([]) });

/** One planned window; every selector given must match the station. Times are ms epoch, `end` exclusive. */
export type MaintenanceWindow = z.output<typeof windowSchema>;

export { MaintenanceError };

/** Parses a maintenance file's text. Names are compared in NFC, as the registry stores them. Pure. */
export function parseMaintenance(text: string, file = 'maintenance.yaml'): MaintenanceWindow[] {
  let data: unknown;
  try {
    data = YAML.parse(text) ?? {};
  } catch (err) {
    throw new MaintenanceError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = maintenanceFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MaintenanceError(`${file}: ${formatPath(issue.path)}: ${issue.message}`);
  }
  return parsed.data.windows.map((w) => ({
    ...w,
    ...(w.station ? { station: w.station.normalize('NFC') } : {}),
    ...(w.district ? { district: w.district.normalize('NFC') } : {}),
    ...(w.isp ? { isp: w.isp.normalize('NFC') } : {}),
    ...(w.province ? { province: w.province.normalize('NFC') } : {}),
  }));
}

/** The window open for a station at `at` (the earliest-starting if several overlap). Pure. */
export function openWindow(windows: readonly MaintenanceWindow[], station: Pick<Station, 'id' | 'district' | 'isp' | 'province'>, at: number): MaintenanceWindow | undefined {
  let found: MaintenanceWindow | undefined;
  for (const w of windows) {
    if (at < w.start || at >= w.end) continue;
    if (w.station !== undefined && w.station !== station.id) continue;
    if (w.district !== undefined && w.district !== station.district) continue;
    if (w.isp !== undefined && w.isp !== station.isp) continue;
    if (w.province !== undefined && w.province !== station.province) continue;
    if (!found || w.start < found.start) found = w;
  }
  return found;
}

/**
 * The maintenance file, re-read when its modification time or size changes. A file that fails to parse keeps the
 * windows read before and logs an error; a missing file means no windows.
 */
export class MaintenanceFile {
  private windows: MaintenanceWindow[] = [];
  private stamp = '';

  constructor(private readonly file: string, private readonly log: Logger) {}

  /** The windows now; checks the file's mtime first (one stat call). */
  current(): readonly MaintenanceWindow[] {
    let stamp: string;
    try {
      const st = statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.stamp) return this.windows;
    this.stamp = stamp;
    if (stamp === 'missing') {
      this.log.warn({ file: this.file }, 'maintenance file missing; no windows');
      this.windows = [];
      return this.windows;
    }
    try {
      this.windows = parseMaintenance(readFileSync(this.file, 'utf8'), this.file);
      this.log.info({ file: this.file, windows: this.windows.length }, 'maintenance windows loaded');
    } catch (err) {
      this.log.error({ err, file: this.file }, 'maintenance file not loaded; keeping the previous windows');
    }
    return this.windows;
  }
}
