import { connect } from 'node:net';
import { z } from 'zod';
import { durationMs } from '../../lib/config-file.js';
import { summarizeRtts } from '../stats.js';
import { classifySocketError, monotonicMs, repeatAttempts, targetBase, type ProbeContext, type ProbeKindDef, type ProbeResult } from './types.js';

export const tcpTarget = z.strictObject({
  ...targetBase,
  kind: z.literal('tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** Connects per cycle; more give loss and jitter at the cost of more handshakes. */
  count: z.number().int().min(1).max(20).default(3),
  spacing: durationMs.prefault('200ms'),
});
export type TcpTarget = z.output<typeof tcpTarget>;

type Attempt = { ok: true; ms: number } | { ok: false; error: ProbeResult['error']; detail: string };

/** One TCP handshake, timed from connect() to the socket's connect event. */
export function tcpConnect(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<Attempt> {
  return new Promise((resolve) => {
    const start = monotonicMs();
    const sock = connect({ host, port, timeout: timeoutMs, signal });
    const finish = (a: Attempt) => {
      sock.destroy();
      resolve(a);
    };
    sock.once('connect', () => finish({ ok: true, ms: monotonicMs() - start }));
    sock.once('timeout', () => finish({ ok: false, error: 'timeout', detail: `no answer within ${timeoutMs} ms` }));
    sock.once('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, error: classifySocketError(err), detail: err.code ?? err.message }),
    );
  });
}

export const tcpProbe: ProbeKindDef<typeof tcpTarget> = {
  schema: tcpTarget,
  async run(opts: TcpTarget, ctx: ProbeContext): Promise<ProbeResult> {
    const { rtts, sent, last } = await repeatAttempts(
      opts.count, opts.spacing, ctx.signal,
      () => tcpConnect(opts.host, opts.port, opts.timeout ?? ctx.timeoutMs, ctx.signal),
      (a) => (a.ok ? a.ms : undefined),
    );
    const summary = summarizeRtts(rtts, sent);
    const failure = last && !last.ok ? last : undefined;
    return {
      ...summary,
      ok: summary.received > 0,
      ...(summary.received === 0 && failure ? { error: failure.error, detail: failure.detail } : {}),
    };
  },
};
