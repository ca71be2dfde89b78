/**
 * Incidents: many stations failing together for one reason are one incident, not forty alerts. Pure.
 */
import { PATH, ROLE_CAUSE, isFailing, type Cause, type Verdict } from './types.js';

/**
 * Today's scopes, narrowest first: the default of `verdicts.incident_scopes`. Since the 2025 reform a registry names
 * its own grouping columns instead (e.g. `[hub, area, isp, province]`: a failing aggregation node is one incident).
 */
export const SCOPES = ['district', 'isp', 'province'] as const;
/** A registry column incidents are grouped by: `district`, `isp`, `province`, or an extra column (`area`, `hub`…). */
export type Scope = string;

/** A verdict with the registry fields incidents group by. */
export interface PlacedVerdict extends Verdict {
  district: string;
  isp: string;
  province: string;
  /** The registry's extra grouping columns (Station.groups). */
  groups?: Record<string, string>;
}

/** The value of a scope column for a verdict; empty when the station has none (no incident over "no district"). */
export function scopeValue(v: PlacedVerdict, scope: Scope): string {
  if (scope === 'district' || scope === 'isp' || scope === 'province') return v[scope];
  return v.groups?.[scope] ?? '';
}

/** The configured scopes of a collector config's `verdicts` section, or today's. */
export function incidentScopesOf(verdicts: object): readonly Scope[] {
  const s = (verdicts as { incident_scopes?: readonly string[] }).incident_scopes;
  return s && s.length > 0 ? s : SCOPES;
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
// incident, not an ISP-wide or province-wide one. Narrowest = first in the configured list.
const rankIn = (scopes: readonly Scope[]) => (s: Scope) => {
  const i = scopes.indexOf(s);
  return i < 0 ? scopes.length : i;
};
// Ties between causes go to the one nearest the station on the path: it explains the ones behind it.
const CAUSE_ORDER: Cause[] = [...PATH.map((r) => ROLE_CAUSE[r]), 'silent', 'pipeline', 'session', 'backlog', 'clock', 'none'];

/**
 * Groups failing (down or offline) verdicts per scope (`scopes`, narrowest first; default district, ISP, province). In each scope key the most common cause
 * shared by at least `minStations` stations is an incident. A group whose stations all belong to a larger (or equal
 * but narrower-scoped) group with the same cause is left out, so a national outage is one province incident.
 * `previous` are the incidents open at the previous evaluation: those no longer open are returned closed
 * (`open: false`, `stations: 0`), and those still open with the same cause keep their `since`.
 */
export function groupIncidents(verdicts: readonly PlacedVerdict[], minStations: number, previous: readonly Incident[] = [],
  scopes: readonly Scope[] = SCOPES): Incident[] {
  const rank = rankIn(scopes);
  const failing = verdicts.filter((v) => isFailing(v.state));
  const candidates: Incident[] = [];
  for (const scope of scopes) {
    const byKey = new Map<string, PlacedVerdict[]>();
    for (const v of failing) {
      const key = scopeValue(v, scope);
      if (!key) continue;
      const list = byKey.get(key);
      if (list) list.push(v);
      else byKey.set(key, [v]);
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
  const open = candidates.filter((g) => !candidates.some((h) => h !== g && h.cause === g.cause && covers(h, g, rank)));
  for (const inc of open) {
    const before = previous.find((p) => p.open && p.scope === inc.scope && p.key === inc.key && p.cause === inc.cause);
    if (before) inc.since = before.since;
  }
  const closed = previous
    .filter((p) => p.open && !open.some((o) => o.scope === p.scope && o.key === p.key))
    .map((p): Incident => ({ ...p, open: false, stations: 0, members: [] }));
  return [...open, ...closed].sort((a, b) => rank(b.scope) - rank(a.scope) || a.key.localeCompare(b.key));
}

/** Whether `h` explains `g`: it holds all of g's stations and is larger, or as large but of a narrower scope. */
function covers(h: Incident, g: Incident, rank: (s: Scope) => number): boolean {
  if (h.stations < g.stations) return false;
  const hs = new Set(h.members);
  if (!g.members.every((m) => hs.has(m))) return false;
  return h.stations > g.stations || rank(h.scope) < rank(g.scope);
}
