/**
 * Planning a revision (docs/verdicts.md, "Revising the past"): which stations to look at, which hour-long chunks of
 * their history to read closer, and how to share the per-evaluation budget of replayed periods among the stations
 * that need it, oldest first. Pure: the evaluator feeds it counts read from InfluxDB and does what it says.
 */
import { candidateChunks } from './revise.js';

/** A report as the late-report check reads it. */
export interface RecentReport {
  station: string;
  delay_ms: number;
  depth: number;
}

/**
 * Stations worth a revision check between full sweeps: those whose recent reports show a backlog being drained or
 * arrived later than `settleMs` (a reconnected agent backfilling), and those a capped revision left unfinished.
 */
export function stationsToCheck(recent: readonly RecentReport[], settleMs: number, unfinished: Iterable<string>, known: (station: string) => boolean): string[] {
  const busy = recent.filter((r) => r.depth > 1 || r.delay_ms > settleMs).map((r) => r.station);
  return [...new Set([...busy, ...unfinished])].filter(known);
}

/** One chunk to read closer, with the counts that found it (unchanged counts mean it was found consistent before). */
export interface ChunkCheck {
  start: number;
  key: string;
  signature: string;
}

/**
 * Per station, oldest first: the chunks holding late reports whose own chunk or the next holds silent points, less
 * those already found consistent with the same counts (`clean`).
 */
export function chunksToCheck(
  late: ReadonlyMap<string, ReadonlyMap<number, number>>,
  silent: ReadonlyMap<string, ReadonlyMap<number, number>>,
  clean: ReadonlyMap<string, { signature: string }>,
  known: (station: string) => boolean,
  chunkMs: number,
): Array<{ station: string; chunks: ChunkCheck[] }> {
  const out: Array<{ station: string; chunks: ChunkCheck[] }> = [];
  for (const [station, lateChunks] of late) {
    const silentChunks = silent.get(station);
    if (!silentChunks || !known(station)) continue;
    const chunks: ChunkCheck[] = [];
    for (const c of candidateChunks(new Set(lateChunks.keys()), new Set(silentChunks.keys()), chunkMs)) {
      const key = `${station}@${c}`;
      const signature = `${lateChunks.get(c)}/${silentChunks.get(c) ?? 0}/${silentChunks.get(c + chunkMs) ?? 0}`;
      if (clean.get(key)?.signature !== signature) chunks.push({ start: c, key, signature });
    }
    if (chunks.length > 0) out.push({ station, chunks });
  }
  return out;
}

/** One station's periods to replay, `[start, end]`, and where to continue next time when the budget ran out. */
export interface RevisionSpan {
  station: string;
  start: number;
  end: number;
  /** Set when the span was cut short: the first period left for the next evaluation. */
  resumeAt?: number;
}

/**
 * Shares `budget` replayed periods among the stations to revise, oldest start first (then by id), up to `last`.
 * `starts` are the oldest stale points found; `resume` the unfinished revisions of earlier evaluations (only those of
 * `only`, when given, are continued now).
 */
export function planSpans(
  starts: ReadonlyMap<string, number>,
  resume: ReadonlyMap<string, number>,
  only: readonly string[] | undefined,
  last: number,
  periodMs: number,
  budget: number,
): RevisionSpan[] {
  const all = new Map(starts);
  for (const [station, t] of resume) if (!only || only.includes(station)) all.set(station, Math.min(t, all.get(station) ?? t));
  const spans: RevisionSpan[] = [];
  for (const [station, start] of [...all].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))) {
    if (budget <= 0) break;
    const periods = Math.floor((last - start) / periodMs) + 1;
    const end = periods > budget ? start + (budget - 1) * periodMs : last;
    budget -= Math.min(periods, budget);
    spans.push({ station, start, end, ...(end < last ? { resumeAt: end + periodMs } : {}) });
  }
  return spans;
}
