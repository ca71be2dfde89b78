/**
 * Time in the SLA's zone, Asia/Ho_Chi_Minh: UTC+7 all year (Vietnam has had no daylight saving time since 1975), so
 * its hours are UTC hours and its day starts at 17:00 UTC the day before. Pure.
 */
export const TIME_ZONE = 'Asia/Ho_Chi_Minh';
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** UTC+07:00 in ms. */
export const VN_OFFSET_MS = 7 * HOUR_MS;

/** Start (ms epoch) of the Vietnamese day holding `t`. */
export const vnDayStart = (t: number): number => Math.floor((t + VN_OFFSET_MS) / DAY_MS) * DAY_MS - VN_OFFSET_MS;
/** Start (ms epoch) of the Vietnamese calendar month holding `t`. */
export function vnMonthStart(t: number): number {
  const d = new Date(t + VN_OFFSET_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - VN_OFFSET_MS;
}
/** Start of the Vietnamese month after the one starting at `monthStart`. */
export function nextVnMonth(monthStart: number): number {
  const d = new Date(monthStart + VN_OFFSET_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - VN_OFFSET_MS;
}
/** Start of the hour holding `t`. */
export const hourStart = (t: number): number => Math.floor(t / HOUR_MS) * HOUR_MS;

/** `[from, to)` of a month `YYYY-MM` in Asia/Ho_Chi_Minh, or undefined when `month` is not one. */
export function monthRange(month: string): { from: number; to: number } | undefined {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]) - 1;
  return { from: Date.UTC(y, mo, 1) - VN_OFFSET_MS, to: Date.UTC(y, mo + 1, 1) - VN_OFFSET_MS };
}

/**
 * Parses an instant of `--from`/`--to`: an ISO date (`2026-11-01`, midnight in Vietnam) or date and time, with an
 * offset (`Z`, `+07:00`) or without one (then Vietnamese time). Undefined when not one.
 */
export function parseInstant(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', zone] = m;
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(local) || new Date(local).getUTCDate() !== Number(d)) return undefined;
  if (!zone) return local - VN_OFFSET_MS;
  if (zone === 'Z') return local;
  const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  const offset = (Number(z[2]) * 60 + Number(z[3])) * 60_000 * (z[1] === '-' ? -1 : 1);
  return local - offset;
}

/** `2026-11-30T17:05:00+07:00`: an instant as Vietnamese local time with its offset. */
export function vnIso(t: number): string {
  return `${new Date(t + VN_OFFSET_MS).toISOString().slice(0, 19)}+07:00`;
}

/** `2026-11-30 17:05` in Vietnamese local time. */
export const vnMinute = (t: number): string => vnIso(t).slice(0, 16).replace('T', ' ');
/** `2026-11-30`: the Vietnamese date of `t`. */
export const vnDate = (t: number): string => vnIso(t).slice(0, 10);
