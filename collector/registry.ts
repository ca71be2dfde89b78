import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { STATION_ID } from '../protocol/report.js';
import { RegistryError } from '../lib/errors.js';

/** One station of the registry CSV. Names are UTF-8 with diacritics ("Chợ Mới"). */
export interface Station {
  id: string;
  name: string;
  commune: string;
  /** The pre-2025 district; empty in registries made after the reform (district-level police were abolished). */
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
  /**
   * The registry's extra grouping columns (`area`, `hub` — the aggregation point a circuit hangs off — …), by column
   * name; carried as tags on every measurement, usable as incident scopes and board variables. Empty values left out.
   */
  groups?: Record<string, string>;
}

export const REQUIRED_COLUMNS = ['id', 'name', 'commune', 'province', 'lat', 'lon', 'isp', 'circuit', 'sla_target'] as const;
export const OPTIONAL_COLUMNS = ['district', 'sla_class'] as const;

/** An extra grouping column: a lower-case identifier (it becomes an InfluxDB tag key and a Grafana variable name). */
export const GROUP_COLUMN = /^[a-z][a-z0-9_]{0,31}$/;
/** Names an extra column may not take: tag keys and fields the measurements already use, and InfluxQL's `time`. */
const RESERVED = new Set(['time', 'target', 'role', 'kind', 'session', 'source', 'scope', 'key', 'state', 'code', 'cause', 'since', 'open', 'stations']);

export { RegistryError };

/** The delimiter of the header line: `;` where Excel's list separator is one (Vietnamese locale), else `,`. */
export function detectDelimiter(text: string): ',' | ';' {
  const header = (text.split(/\r?\n/, 1)[0] ?? '').replace(/"[^"]*"/g, '');
  return (header.match(/;/g)?.length ?? 0) > (header.match(/,/g)?.length ?? 0) ? ';' : ',';
}

export type RegistryEncoding = 'utf-8' | 'windows-1258';

/**
 * The registry file's bytes as text, in NFC. Valid UTF-8 (with or without BOM) is UTF-8; anything else is read as
 * Windows-1258, the ANSI code page Excel uses on Vietnamese Windows ("CSV (Comma delimited)"), whose tone marks are
 * combining characters (ợ = ơ + U+0323), hence the NFC. Bytes Windows-1258 leaves undefined are refused, never
 * guessed. A Windows-1252 file (Western Europe) also decodes without error, to other letters: the names are shown
 * back in `linkwatch status`, and the docs say to save as "CSV UTF-8".
 */
export function decodeRegistry(bytes: Uint8Array, file = 'stations.csv'): { text: string; encoding: RegistryEncoding } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    return { text: text.normalize('NFC'), encoding: 'utf-8' };
  } catch {
    const text = iconv.decode(Buffer.from(bytes), 'windows1258');
    const bad = text.search(/[\uFFFD\u0080-\u009F]/u);
    if (bad >= 0) {
      const line = text.slice(0, bad).split('\n').length;
      throw new RegistryError(file, line, 'neither UTF-8 nor Windows-1258 text: save the registry from Excel as "CSV UTF-8 (Comma delimited)"');
    }
    return { text: text.normalize('NFC'), encoding: 'windows-1258' };
  }
}

/** Parses registry CSV text (`,` or `;` separated); every problem is a RegistryError naming the line and column. Pure. */
export function parseRegistry(text: string, file = 'stations.csv'): Map<string, Station> {
  let rows: string[][];
  const delimiter = detectDelimiter(text.replace(/^\uFEFF/, ''));
  const decimalComma = delimiter === ';';
  try {
    rows = parse(text.replace(/^\uFEFF/, ''), { delimiter, skip_empty_lines: true, trim: true, relax_column_count: false });
  } catch (err) {
    throw new RegistryError(file, undefined, `not valid CSV: ${(err as Error).message}`);
  }
  const header = rows[0];
  if (!header) throw new RegistryError(file, 1, 'empty file: expected a header line');
  const known = new Set<string>([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS]);
  const groupCols = header.filter((c) => !known.has(c));
  for (const col of groupCols) {
    if (!GROUP_COLUMN.test(col) || RESERVED.has(col)) {
      throw new RegistryError(file, 1, `unknown column "${col}" (an extra grouping column is a lower-case name like area or hub, not one of ${[...RESERVED].join(', ')})`);
    }
  }
  if (new Set(header).size !== header.length) throw new RegistryError(file, 1, 'a column appears twice');
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
      // Excel in a Vietnamese locale writes decimal commas where the list separator is a semicolon.
      const v = Number(decimalComma ? get(c).replace(',', '.') : get(c));
      if (get(c) === '' || !Number.isFinite(v) || v < min || v > max) throw new RegistryError(file, line, `${c} "${get(c)}" must be a number in ${min}..${max}`);
      return v;
    };
    const id = get('id');
    if (!STATION_ID.test(id)) throw new RegistryError(file, line, `id "${id}" must match [a-z0-9][a-z0-9-]{0,62}`);
    if (stations.has(id)) throw new RegistryError(file, line, `duplicate id "${id}"`);
    for (const c of ['name', 'province', 'isp'] as const) {
      if (!get(c)) throw new RegistryError(file, line, `${c} is empty`);
    }
    const groups: Record<string, string> = {};
    for (const c of groupCols) if (get(c)) groups[c] = get(c);
    stations.set(id, {
      id,
      name: get('name'),
      commune: get('commune'),
      district: 'district' in idx ? get('district') : '',
      province: get('province'),
      lat: num('lat', -90, 90),
      lon: num('lon', -180, 180),
      isp: get('isp'),
      circuit: get('circuit'),
      sla_target: num('sla_target', 0, 100),
      sla_class: ('sla_class' in idx ? get('sla_class') : '') || 'default',
      ...(groupCols.length > 0 ? { groups } : {}),
    });
  });
  return stations;
}

export function loadRegistry(file: string): Map<string, Station> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new RegistryError(file, undefined, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseRegistry(decodeRegistry(bytes, file).text, file);
}

/** The grouping columns a registry carries besides province and ISP (`district` first when any station has one). */
export function groupColumns(stations: Map<string, Station>): string[] {
  const cols = new Set<string>();
  for (const s of stations.values()) {
    if (s.district) cols.add('district');
    for (const g of Object.keys(s.groups ?? {})) cols.add(g);
  }
  return [...cols];
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
