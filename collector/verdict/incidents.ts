/**
 * Incidents: many stations failing together for one reason are one incident, not forty alerts. Pure.
 */
import { PATH, ROLE_CAUSE, isFailing, type Cause, type Verdict } from './types.js';

export const SCOPES = ['district', 'isp', 'province'] as const;
export type Scope = (typeof SCOPES)[number];

/** A verdict with the registry fields incidents group by. */
export interface PlacedVerdict extends Verdict {
  district: string;
  isp: string;
  province: string;
}

/** One `incident` point: `scope`/`key` tags, `stations`, `cause`, `open`, `since`. */
export interface Incident {
  scope: Scope;
  key: string;
  cause: Cause;
  stations: number;
  open: boolean;
  since: number;
  /** Member stations (not written to InfluxDB; for the status table and the tests). */
  members: string[];
}

// Among equal sets of stations the narrowest scope names the place best: a district's ISP edge is a district
// incident, not an ISP-wide or province-wide one.
const SCOPE_RANK: Record<Scope, number> = { district: 0, isp: 1, province: 2 };
// Ties between causes go to the one nearest the station on the path: it explains the ones behind it.
const CAUSE_ORDER: Cause[] = [...PATH.map((r) => ROLE_CAUSE[r]), 'silent', 'pipeline', 'session', 'backlog', 'clock', 'none'];

/**
 * Groups failing (down or offline) verdicts per district, ISP and province. In each scope key the most common cause
 * shared by at least `minStations` stations is an incident. A group whose stations all belong to a larger (or equal
 * but narrower-scoped) group with the same cause is left out, so a national outage is one province incident.
 * `previous` are the incidents open at the previous evaluation: those no longer open are returned closed
 * (`open: false`, `stations: 0`), and those still open with the same cause keep their `since`.
 */
export function groupIncidents(verdicts: readonly PlacedVerdict[], minStations: number, previous: readonly Incident[] = []): Incident[] {
  const failing = verdicts.filter((v) => isFailing(v.state));
  const candidates: Incident[] = [];
  for (const scope of SCOPES) {
    const byKey = new Map<string, PlacedVerdict[]>();
    for (const v of failing) {
      const list = byKey.get(v[scope]);
      if (list) list.push(v);
      else byKey.set(v[scope], [v]);
    }
    for (const [key, members] of byKey) {
      const byCause = new Map<Cause, PlacedVerdict[]>();
      for (const v of members) byCause.set(v.cause, [...(byCause.get(v.cause) ?? []), v]);
      const best = [...byCause.entries()]
        .filter(([, vs]) => vs.length >= minStations)
        .sort(([ca, a], [cb, b]) => b.length - a.length || CAUSE_ORDER.indexOf(ca) - CAUSE_ORDER.indexOf(cb))[0];
      if (!best) continue;
      const [cause, vs] = best;
      candidates.push({ scope, key, cause, stations: vs.length, open: true, since: Math.min(...vs.map((v) => v.since)), members: vs.map((v) => v.station).sort() });
    }
  }
  const open = candidates.filter((g) => !candidates.some((h) => h !== g && h.cause === g.cause && covers(h, g)));
  for (const inc of open) {
    const before = previous.find((p) => p.open && p.scope === inc.scope && p.key === inc.key && p.cause === inc.cause);
    if (before) inc.since = before.since;
  }
  const closed = previous
    .filter((p) => p.open && !open.some((o) => o.scope === p.scope && o.key === p.key))
    .map((p): Incident => ({ ...p, open: false, stations: 0, members: [] }));
  return [...open, ...closed].sort((a, b) => SCOPE_RANK[b.scope] - SCOPE_RANK[a.scope] || a.key.localeCompare(b.key));
}

/** Whether `h` explains `g`: it holds all of g's stations and is larger, or as large but of a narrower scope. */
function covers(h: Incident, g: Incident): boolean {
  if (h.stations < g.stations) return false;
  const hs = new Set(h.members);
  if (!g.members.every((m) => hs.has(m))) return false;
  return h.stations > g.stations || SCOPE_RANK[h.scope] < SCOPE_RANK[g.scope];
}
