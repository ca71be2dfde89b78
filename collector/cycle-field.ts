/**
 * The `cycle` field of the `report` measurement: what the evaluator reads of one report (interval, clock offset, and
 * per probe, session and backlog source the values its verdicts use), in one string the collector writes beside the
 * report's other points. InfluxDB 1.6 charges a read per series and field, not per row: the same cycle read from
 * `report`, `probe`, `session` and `backlog` costs about 24 series-fields a station, this one costs one.
 *
 * It says exactly what `toCycles` (collector/evaluation/store.ts) makes of the same report's points, in the same order
 * (probes by role then target, sessions by name, backlog by source: the order InfluxDB returns their series), so a
 * read of either gives equal cycles (test/integration/cycle-field.test.ts). Grammar, version 1 (names are
 * `[A-Za-z0-9._-]`, so none of `;|,` occurs in them; an absent value is empty):
 *
 *   1;<interval_s>;<clock_offset_ms>;<probe>|<probe>…;<session>|…;<backlog>|…
 *   probe    = <role>,<target>,<ok 1|0>,<loss>,<rtt_avg_ms>,<jitter_ms>
 *   session  = <name>,<up 1|0>,<drops>
 *   backlog  = <source>,<pending>,<oldest_age_s>
 *
 * A reader that meets another version reads that report from the four measurements instead.
 */
import type { Report } from '../protocol/report.js';
import type { Cycle, CycleProbe } from './verdict/types.js';

const VERSION = '1';

const num = (v: number | undefined) => (v === undefined ? '' : String(v));
const byName = <T>(key: (x: T) => string) => (a: T, b: T) => {
  const x = key(a);
  const y = key(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The `cycle` field of one report. */
export function encodeCycle(r: Report): string {
  const probes = [...r.probes]
    .sort(byName((p) => `${p.role}\0${p.target}\0${p.kind}`))
    .map((p) => `${p.role},${p.target},${p.ok ? 1 : 0},${p.loss},${num(p.rtt_avg_ms)},${num(p.jitter_ms)}`);
  const sessions = [...r.sessions].sort(byName((s) => s.name)).map((s) => `${s.name},${s.up ? 1 : 0},${s.drops}`);
  // The backlog read selects `pending` and `oldest_age_s`: a sample with neither (bytes or an error only) is no row.
  const backlog = r.backlog
    .filter((b) => b.pending !== undefined || b.oldest_age_s !== undefined)
    .sort(byName((b) => b.source))
    .map((b) => `${b.source},${num(b.pending)},${num(b.oldest_age_s)}`);
  return [VERSION, r.interval_s, num(r.clock.offset_ms), probes.join('|'), sessions.join('|'), backlog.join('|')].join(';');
}

const list = (s: string) => (s === '' ? [] : s.split('|').map((item) => item.split(',')));
const opt = (s: string | undefined) => (s === undefined || s === '' ? undefined : Number(s));

/** The cycle measured at `ts` that a `cycle` field says, or undefined when it is not a version this reader knows. */
export function decodeCycle(text: string, ts: number): Cycle | undefined {
  const parts = text.split(';');
  if (parts.length !== 6 || parts[0] !== VERSION) return undefined;
  const [, interval, offset, probes, sessions, backlog] = parts as [string, string, string, string, string, string];
  const c: Cycle = {
    ts,
    interval_s: Number(interval),
    probes: list(probes).map(([role, target, ok, loss, rtt, jitter]): CycleProbe => {
      const rtt_ms = opt(rtt);
      const jitter_ms = opt(jitter);
      return {
        target: target!, role: role as CycleProbe['role'], ok: ok === '1', loss: Number(loss),
        ...(rtt_ms !== undefined ? { rtt_ms } : {}), ...(jitter_ms !== undefined ? { jitter_ms } : {}),
      };
    }),
    sessions: list(sessions).map(([name, up, drops]) => ({ name: name!, up: up === '1', drops: Number(drops) })),
    backlog: list(backlog).map(([source, pending, age]) => {
      const p = opt(pending);
      const a = opt(age);
      return { source: source!, ...(p !== undefined ? { pending: p } : {}), ...(a !== undefined ? { oldest_age_s: a } : {}) };
    }),
  };
  const o = opt(offset);
  if (o !== undefined) c.clock_offset_ms = o;
  return c;
}
