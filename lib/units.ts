/** Parses a duration such as `10s`, `500ms`, `5m`, `1h`, `2d`; a bare number means seconds. Returns milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`invalid duration ${value}`);
    return value * 1000;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!m) throw new RangeError(`invalid duration "${value}" (use e.g. 500ms, 10s, 5m, 1h)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!;
  return Math.round(n * factor);
}

/** Parses a size such as `256MB`, `64KiB`, `1GB`; a bare number means bytes. Decimal and binary prefixes both work. */
export function parseBytes(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`invalid size ${value}`);
    return Math.floor(value);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]i?)?[bB]?\s*$/.exec(value);
  if (!m) throw new RangeError(`invalid size "${value}" (use e.g. 512KB, 256MB, 1GiB)`);
  const n = Number(m[1]);
  const prefix = (m[2] ?? '').toLowerCase();
  const factors: Record<string, number> = {
    '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3, ti: 1024 ** 4,
  };
  return Math.floor(n * factors[prefix]!);
}
