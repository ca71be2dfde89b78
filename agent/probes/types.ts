import { z } from 'zod';
import type { Logger } from '../../lib/log.js';
import { durationMs } from '../../lib/config-file.js';
import { itemName, ROLES, type ProbeSample } from '../../protocol/report.js';

/** Keys every target has, whatever its kind. */
export const targetBase = {
  name: itemName,
  role: z.enum(ROLES),
  /** Per-attempt timeout; defaults to the scheduler's (a fraction of the interval). */
  timeout: durationMs.optional(),
};

/** What a probe returns: a sample without the identity keys the scheduler adds. */
export type ProbeResult = Omit<ProbeSample, 'target' | 'role' | 'kind'>;

export interface ProbeContext {
  /** Aborted when the cycle's deadline passes; a probe must settle soon after. */
  signal: AbortSignal;
  log: Logger;
  /** Timeout of one attempt, in milliseconds. */
  timeoutMs: number;
}

/**
 * A probe kind: its option schema and a `run` that *resolves* with a sample whatever the target did.
 * A down target is data (`ok: false`, `error`); a throw means a bug.
 */
export interface ProbeKindDef<S extends z.ZodType = z.ZodType> {
  schema: S;
  run(opts: z.output<S>, ctx: ProbeContext): Promise<ProbeResult>;
}

/** Milliseconds since an arbitrary origin, with sub-millisecond resolution. */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** What a series of attempts gave: how many were sent, the RTT of each success, the last attempt and success. */
export interface AttemptSeries<A> {
  sent: number;
  rtts: number[];
  last?: A;
  good?: A;
}

/**
 * Makes up to `count` attempts `spacingMs` apart, stopping when the cycle's deadline aborts `signal`. `rttOf` gives an
 * attempt's round-trip time, or undefined when it failed.
 */
export async function repeatAttempts<A>(
  count: number,
  spacingMs: number,
  signal: AbortSignal,
  attempt: () => Promise<A>,
  rttOf: (a: A) => number | undefined,
): Promise<AttemptSeries<A>> {
  const series: AttemptSeries<A> = { sent: 0, rtts: [] };
  for (let i = 0; i < count && !signal.aborted; i++) {
    if (i > 0) await sleep(spacingMs, signal);
    series.sent++;
    const a = await attempt();
    series.last = a;
    const rtt = rttOf(a);
    if (rtt !== undefined) {
      series.rtts.push(rtt);
      series.good = a;
    }
  }
  return series;
}

/** Maps a Node socket error code to a probe error. */
export function classifySocketError(err: NodeJS.ErrnoException): ProbeSample['error'] {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
    case 'ABORT_ERR':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
    case 'EHOSTDOWN':
      return 'unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return 'dns_error';
    default:
      return err.code?.startsWith('ERR_TLS') || err.code?.includes('CERT') ? 'tls_error' : 'error';
  }
}
