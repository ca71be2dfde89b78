import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { STATION_ID } from '../protocol/report.js';
import { RegistryError } from '../lib/errors.js';

/** One station of the registry CSV. Names are UTF-8 with diacritics ("Chợ Mới"). */
export interface Station {
  id: string;
  name: string;
  commune: string;
  district: string;
  province: string;
  lat: number;
  lon: number;
  isp: string;
  circuit: string;
  /** Availability target in percent, e.g. 99.5. */
  sla_target: number;
  /** Threshold class for verdicts; `default` when the column is absent or empty. */
  sla_class: string;
}

export const REQUIRED_COLUMNS = ['id', 'name', 'commune', 'district', 'province', 'lat', 'lon', 'isp', 'circuit', 'sla_target'] as const;
export const OPTIONAL_COLUMNS = ['sla_class'] as const;

export { RegistryError };

/** Parses registry CSV text; every problem is a RegistryError naming the line and column. Pure. */
export function parseRegistry(text: string, file = 'stations.csv'): Map<string, Station> {
  let rows: string[][];
  try {
    rows = parse(text.replace(/^\uFEFF/, ''), { skip_empty_lines: true, trim: true, relax_column_count: false });
  } catch (err) {
    throw new RegistryError(file, undefined, `not valid CSV: ${(err as Error).message}`);
  }
  const header = rows[0];
  if (!header) throw new RegistryError(file, 1, 'empty file: expected a header line');
  const known = new Set<string>([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS]);
  for (const col of header) if (!known.has(col)) throw new RegistryError(file, 1, `unknown column "${col}"`);
  for (const col of REQUIRED_COLUMNS) if (!header.includes(col)) throw new RegistryError(file, 1, `missing column "${col}"`);
  const idx = Object.fromEntries(header.map((c, i) => [c, i]));
  const stations = new Map<string, Station>();
  rows.slice(1).forEach((row, i) => {
    const line = i + 2;
    const get = (c: string) => {
      const v = (row[idx[c]!] ?? '').normalize('NFC');
      // Registry values become tag values and terminal text: no line breaks or other control characters.
      if (/\p{Cc}/u.test(v)) throw new RegistryError(file, line, `${c} contains a control character`);
      return v;
    };
    const num = (c: string, min: number, max: number) => {
      const v = Number(get(c));
      if (get(c) === '' || !Number.isFinite(v) || v < min || v > max) throw new RegistryError(file, line, `${c} "${get(c)}" must be a number in ${min}..${max}`);
      return v;
    };
    const id = get('id');
    if (!STATION_ID.test(id)) throw new RegistryError(file, line, `id "${id}" must match [a-z0-9][a-z0-9-]{0,62}`);
    if (stations.has(id)) throw new RegistryError(file, line, `duplicate id "${id}"`);
    for (const c of ['name', 'district', 'province', 'isp'] as const) {
      if (!get(c)) throw new RegistryError(file, line, `${c} is empty`);
    }
    stations.set(id, {
      id,
      name: get('name'),
      commune: get('commune'),
      district: get('district'),
      province: get('province'),
      lat: num('lat', -90, 90),
      lon: num('lon', -180, 180),
      isp: get('isp'),
      circuit: get('circuit'),
      sla_target: num('sla_target', 0, 100),
      sla_class: ('sla_class' in idx ? get('sla_class') : '') || 'default',
    });
  });
  return stations;
}

export function loadRegistry(file: string): Map<string, Station> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RegistryError(file, undefined, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseRegistry(text, file);
}

export interface RegistryWatch {
  stop(): void;
}

/**
 * Reloads the registry when its file changes. Polls the file's stat (fs.watchFile), which works the same on Windows
 * and on network shares where change events are unreliable. A reload that fails (bad CSV, a check of `validate`)
 * keeps the registry in use and reports the error; the next good save is picked up.
 */
export function watchRegistry(
  file: string,
  handlers: { onReload: (stations: Map<string, Station>) => void; onError: (err: Error) => void; validate?: (stations: Map<string, Station>) => void },
  intervalMs = 2000,
): RegistryWatch {
  const listener = (cur: { mtimeMs: number; size: number }, prev: { mtimeMs: number; size: number }) => {
    if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size) return;
    try {
      const stations = loadRegistry(file);
      handlers.validate?.(stations);
      handlers.onReload(stations);
    } catch (err) {
      handlers.onError(err as Error);
    }
  };
  watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return { stop: () => unwatchFile(file, listener) };
}
