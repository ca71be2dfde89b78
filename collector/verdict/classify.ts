import type { Thresholds } from './rules.js';
import { PATH, ROLE_CAUSE, type Condition, type Cycle, type CycleProbe } from './types.js';

const OK: Condition = { level: 0, cause: 'none' };

const failed = (p: CycleProbe, th: Thresholds) => !p.ok || p.loss >= th.loss_down;
const poor = (p: CycleProbe, th: Thresholds) =>
  p.loss > th.loss || (p.rtt_ms ?? 0) > th.rtt_ms || (p.jitter_ms ?? 0) > th.jitter_ms;

/**
 * How bad cycle `i` of a station's cycles (oldest first) is on its own, before any hysteresis. Pure.
 * In order: the first path role whose probes all failed (down: `lan`, `uplink`, `core`, `service`); the first role
 * with a poor probe (degraded, same causes); sessions dropping (`session`); a stalled or growing backlog (`backlog`);
 * a clock off (`clock`). Earlier cycles are looked at only for backlog growth.
 */
export function classifyCycle(cycles: readonly Cycle[], i: number, th: Thresholds): Condition {
  const c = cycles[i];
  if (!c) return OK;
  for (const role of PATH) {
    const probes = c.probes.filter((p) => p.role === role);
    if (probes.length > 0 && probes.every((p) => failed(p, th))) return { level: 2, cause: ROLE_CAUSE[role] };
  }
  for (const role of PATH) {
    if (c.probes.some((p) => p.role === role && !failed(p, th) && poor(p, th))) return { level: 1, cause: ROLE_CAUSE[role] };
  }
  if (c.sessions.some((s) => !s.up || s.drops > th.drops)) return { level: 1, cause: 'session' };
  if (c.backlog.some((b) => (b.oldest_age_s ?? 0) > th.backlog_age_s)) return { level: 1, cause: 'backlog' };
  if (backlogGrowing(cycles, i, th.backlog_growth_reports)) return { level: 1, cause: 'backlog' };
  if (c.clock_offset_ms !== undefined && Math.abs(c.clock_offset_ms) > th.clock_offset_ms) return { level: 1, cause: 'clock' };
  return OK;
}

/** A source whose pending count rose in each of the last `n` reports up to cycle `i`. */
export function backlogGrowing(cycles: readonly Cycle[], i: number, n: number): boolean {
  if (i < n) return false;
  const sources = new Set(cycles[i]!.backlog.map((b) => b.source));
  for (const source of sources) {
    let rising = true;
    for (let k = i - n + 1; k <= i && rising; k++) {
      const now = cycles[k]!.backlog.find((b) => b.source === source)?.pending;
      const before = cycles[k - 1]!.backlog.find((b) => b.source === source)?.pending;
      rising = now !== undefined && before !== undefined && now > before;
    }
    if (rising) return true;
  }
  return false;
}
