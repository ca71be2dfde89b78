import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { durationMs } from '../../lib/config-file.js';
import { summarizeRtts } from '../stats.js';
import { monotonicMs, repeatAttempts, targetBase, type ProbeContext, type ProbeKindDef, type ProbeResult } from './types.js';

export const DNS_RECORDS = ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'TXT', 'SRV', 'PTR', 'SOA', 'CAA', 'NAPTR'] as const;

export const dnsTarget = z.strictObject({
  ...targetBase,
  kind: z.literal('dns'),
  /** The name to resolve. */
  query: z.string().min(1),
  /** The server to ask: `ip` or `ip:port` (`[v6]:port`); default: the system's resolvers. */
  server: z
    .string()
    .refine((s) => isIP(s) !== 0 || /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):\d{1,5}$/.test(s), 'expected an IP address, optionally with :port')
    .optional(),
  record: z.enum(DNS_RECORDS).default('A'),
  count: z.number().int().min(1).max(10).default(1),
  spacing: durationMs.prefault('200ms'),
});
export type DnsTarget = z.output<typeof dnsTarget>;

/**
 * A resolver error as a DNS result: the RCODE name and number, and the probe error. Pure.
 * c-ares reports NXDOMAIN as ENOTFOUND and an empty answer as ENODATA.
 */
export function classifyDnsError(code: string | undefined): { rcode?: { name: string; value: number }; error: ProbeResult['error'] } {
  switch (code) {
    case 'ENOTFOUND':
      return { rcode: { name: 'NXDOMAIN', value: 3 }, error: 'dns_error' };
    case 'ESERVFAIL':
      return { rcode: { name: 'SERVFAIL', value: 2 }, error: 'dns_error' };
    case 'EREFUSED':
      return { rcode: { name: 'REFUSED', value: 5 }, error: 'dns_error' };
    case 'ENOTIMP':
      return { rcode: { name: 'NOTIMP', value: 4 }, error: 'dns_error' };
    case 'EFORMERR':
      return { rcode: { name: 'FORMERR', value: 1 }, error: 'dns_error' };
    case 'ENODATA':
      return { rcode: { name: 'NODATA', value: 0 }, error: 'dns_error' };
    case 'ETIMEOUT':
      return { error: 'timeout' };
    case 'ECONNREFUSED':
      return { error: 'refused' };
    default:
      return { error: 'dns_error' };
  }
}

type Attempt = { ok: true; ms: number; answers: number } | { ok: false; ms: number; code: string };

export async function runDns(opts: DnsTarget, ctx: ProbeContext): Promise<ProbeResult> {
  const timeoutMs = opts.timeout ?? ctx.timeoutMs;
  const resolveOnce = async (): Promise<Attempt> => {
    // One try, our timeout: c-ares would otherwise retry 4 times with growing timeouts and blur the figure.
    const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
    if (opts.server) resolver.setServers([opts.server]);
    const cancel = () => resolver.cancel();
    ctx.signal.addEventListener('abort', cancel, { once: true });
    const start = monotonicMs();
    try {
      const answer: unknown = await resolver.resolve(opts.query, opts.record);
      return { ok: true, ms: monotonicMs() - start, answers: Array.isArray(answer) ? answer.length : 1 };
    } catch (err) {
      return { ok: false, ms: monotonicMs() - start, code: (err as NodeJS.ErrnoException).code ?? 'error' };
    } finally {
      ctx.signal.removeEventListener('abort', cancel);
    }
  };
  const { rtts, sent, last } = await repeatAttempts(opts.count, opts.spacing, ctx.signal, resolveOnce, (a) => (a.ok ? a.ms : undefined));
  const summary = summarizeRtts(rtts, sent);
  if (last?.ok) return { ...summary, ok: true, status: 0, detail: `NOERROR ${last.answers} ${opts.record}` };
  if (!last) return { ...summary, ok: false, error: 'timeout', detail: 'not attempted before the deadline' };
  const c = classifyDnsError(last.code === 'ECANCELLED' ? 'ETIMEOUT' : last.code);
  return {
    ...summary,
    ok: false,
    error: c.error,
    ...(c.rcode ? { status: c.rcode.value, detail: c.rcode.name } : { detail: last.code === 'ETIMEOUT' || last.code === 'ECANCELLED' ? `no answer within ${timeoutMs} ms` : last.code }),
  };
}

export const dnsProbe: ProbeKindDef<typeof dnsTarget> = {
  schema: dnsTarget,
  run: (opts, ctx) => runDns(opts, ctx),
};
