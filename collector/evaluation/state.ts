/**
 * What the evaluator keeps between periods so that each one reads only what is new: every station's cycles over the
 * look-back, its newest report ever, its newest status (last will), the verdict it was given last, and the incidents
 * of the last evaluation. It holds exactly what one full look-back read at the same period would return, so the
 * verdicts are the same whether the evaluator has just started (state rebuilt from one read, `fromSeed`) or has been
 * running for months. In memory only, no I/O.
 */
import type { Incident } from '../verdict/incidents.js';
import type { Cycle, PreviousHealth, Verdict } from '../verdict/types.js';
import type { LastSeen, LateReport, Seed, StatusSeen } from './store.js';

const incidentKey = (i: Pick<Incident, 'scope' | 'key'>) => `${i.scope}\u0000${i.key}`;

/** Index of the first cycle with `ts >= t` in ascending `cycles`. */
function lowerBound(cycles: readonly Cycle[], t: number): number {
  let lo = 0;
  let hi = cycles.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cycles[mid]!.ts < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class EvaluationState {
  /** The period the state is current to: every read so far ended here. */
  at: number;
  readonly cycles = new Map<string, Cycle[]>();
  readonly lastSeen = new Map<string, LastSeen>();
  readonly status = new Map<string, StatusSeen>();
  readonly prevHealth = new Map<string, PreviousHealth>();
  private readonly incidents = new Map<string, Incident>();

  private constructor(at: number) {
    this.at = at;
  }

  /** The state after one full read at `at`. */
  static fromSeed(at: number, seed: Seed): EvaluationState {
    const s = new EvaluationState(at);
    for (const [station, cycles] of seed.cycles) s.cycles.set(station, cycles);
    for (const [station, seen] of seed.lastSeen) s.lastSeen.set(station, seen);
    for (const [station, st] of seed.status) s.status.set(station, st);
    for (const [station, prev] of seed.prevHealth) s.prevHealth.set(station, prev);
    for (const i of seed.prevIncidents) if (i.open) s.incidents.set(incidentKey(i), i);
    s.noteLastSeen(seed.cycles);
    return s;
  }

  /**
   * Folds in cycles read since: a cycle already held is replaced (a re-read sees it as complete as it is now), the
   * others are inserted in time order.
   */
  merge(byStation: ReadonlyMap<string, readonly Cycle[]>): void {
    for (const [station, fresh] of byStation) {
      const held = this.cycles.get(station);
      if (!held) {
        this.cycles.set(station, [...fresh]);
        continue;
      }
      for (const c of fresh) {
        const last = held[held.length - 1];
        if (!last || c.ts > last.ts) {
          held.push(c);
          continue;
        }
        const i = lowerBound(held, c.ts);
        if (held[i]?.ts === c.ts) held[i] = c;
        else held.splice(i, 0, c);
      }
    }
    this.noteLastSeen(byStation);
  }

  /** Replaces a station's cycles in `(from, …]` by a fresh read of that span. */
  replace(station: string, from: number, cycles: readonly Cycle[]): void {
    const held = this.cycles.get(station) ?? [];
    this.cycles.set(station, [...held.slice(0, lowerBound(held, from + 1)), ...cycles]);
    this.noteLastSeen(new Map([[station, cycles]]));
  }

  private noteLastSeen(byStation: ReadonlyMap<string, readonly Cycle[]>): void {
    for (const [station, cycles] of byStation) {
      const newest = cycles[cycles.length - 1];
      const seen = this.lastSeen.get(station);
      if (newest && (!seen || newest.ts >= seen.ts)) this.lastSeen.set(station, { ts: newest.ts, interval_s: newest.interval_s });
    }
  }

  /** Drops cycles measured at or before `from` (out of the look-back). */
  trim(from: number): void {
    for (const [station, held] of this.cycles) {
      const i = lowerBound(held, from + 1);
      if (i === held.length) this.cycles.delete(station);
      else if (i > 0) held.splice(0, i);
    }
  }

  /** A status message; the newest one counts. */
  noteStatus(station: string, status: StatusSeen): void {
    const held = this.status.get(station);
    if (!held || status.ts >= held.ts) this.status.set(station, status);
  }

  /** Stations with a late report the state does not hold: they must be read again. */
  missing(late: readonly LateReport[]): string[] {
    const out = new Set<string>();
    for (const r of late) {
      if (out.has(r.station)) continue;
      const held = this.cycles.get(r.station);
      if (!held || held[lowerBound(held, r.ts)]?.ts !== r.ts) out.add(r.station);
    }
    return [...out];
  }

  /** The incidents open at the last evaluation. */
  previousIncidents(): Incident[] {
    return [...this.incidents.values()];
  }

  /** Records the evaluation written at `at`: it seeds the next one. */
  remember(at: number, verdicts: readonly Verdict[], incidents: readonly Incident[]): void {
    for (const v of verdicts) this.prevHealth.set(v.station, { ts: at, state: v.state, cause: v.cause, since: v.since });
    for (const i of incidents) {
      // Only open incidents carry on (groupIncidents keeps their `since` or closes them); a closed one is written once.
      if (i.open) this.incidents.set(incidentKey(i), { ...i, members: [] });
      else this.incidents.delete(incidentKey(i));
    }
    this.at = at;
  }
}
