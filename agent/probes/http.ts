import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { durationMs } from '../../lib/config-file.js';
import { summarizeRtts } from '../stats.js';
import { certDaysOf, readCa, sniFor, verifyErrorOf, watchPhases } from './tls.js';
import { classifySocketError, monotonicMs, repeatAttempts, targetBase, type ProbeContext, type ProbeKindDef, type ProbeResult } from './types.js';

/** Parses `200-399`, `200`, `200,204,301-302` or a list of those into inclusive ranges. Pure. */
export function parseStatusRanges(spec: string | number | ReadonlyArray<string | number>): Array<[number, number]> {
  const parts = (Array.isArray(spec) ? spec : [spec]).flatMap((p) => String(p).split(','));
  return parts.map((p) => {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(p);
    if (!m) throw new RangeError(`invalid status "${p.trim()}" (use e.g. 200, 200-399, 200,301-302)`);
    const a = Number(m[1]);
    const b = Number(m[2] ?? m[1]);
    if (b < a) throw new RangeError(`invalid status range "${p.trim()}"`);
    return [a, b] as [number, number];
  });
}

export const statusExpected = (status: number, ranges: ReadonlyArray<readonly [number, number]>): boolean =>
  ranges.some(([a, b]) => status >= a && status <= b);

const statusSpec = z.union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))]).transform((v, ctx) => {
  try {
    return parseStatusRanges(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

export const httpTarget = z.strictObject({
  ...targetBase,
  kind: z.literal('http'),
  url: z
    .string()
    .regex(/^https?:\/\/.+/i, 'expected an http:// or https:// URL')
    // `http://dan cu.example.vn/`, `https://[::1/health`: the scheme looks right but no request could be made.
    .refine((u) => URL.canParse(u) && new URL(u).hostname !== '', { message: 'cannot be parsed as a URL (a space, a bracket, the host or the port?)' }),
  method: z.enum(['GET', 'HEAD']).default('GET'),
  /** Statuses that count as up. */
  expect_status: statusSpec.prefault('200-399'),
  /** A PEM file of CA certificates to trust for https. */
  ca: z.string().min(1).optional(),
  /** Measure but do not fail on certificate verification errors. */
  insecure: z.boolean().default(false),
  count: z.number().int().min(1).max(10).default(1),
  spacing: durationMs.prefault('200ms'),
});
export type HttpTarget = z.output<typeof httpTarget>;

export type HttpAttempt =
  | { ok: true; totalMs: number; phases: { dns_ms?: number; connect_ms: number; tls_ms?: number; ttfb_ms: number }; status: number; certDays?: number; verifyError?: string }
  | { ok: false; error: ProbeResult['error']; detail: string };

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * One request on a fresh connection (no agent, so every attempt pays DNS, connect and TLS and the phases mean the
 * same each time). Times come from the socket's own events; TTFB runs from the end of the handshake to the response
 * head. Certificates are verified by hand so an untrusted one is still measured and named.
 */
export function httpAttempt(
  opts: { url: string; method: string; ca?: Buffer; insecure: boolean; timeoutMs: number; signal: AbortSignal },
  now: () => number = Date.now,
): Promise<HttpAttempt> {
  return new Promise((resolve) => {
    const url = new URL(opts.url);
    const https = url.protocol === 'https:';
    const start = monotonicMs();
    let settled = false;
    let phases: ReturnType<typeof watchPhases> = {};
    let tlsInfo: { certDays?: number; verifyError?: string } = {};
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const servername = sniFor(host);
    const req = (https ? httpsRequest : httpRequest)(url, {
      method: opts.method,
      agent: false,
      headers: { 'user-agent': 'linkwatch-probe', connection: 'close' },
      ...(https ? { rejectUnauthorized: false, ...(servername ? { servername } : {}), ...(opts.ca ? { ca: opts.ca } : {}) } : {}),
    });
    const finish = (a: HttpAttempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout', detail: `no response within ${opts.timeoutMs} ms` }), opts.timeoutMs);
    const onAbort = () => finish({ ok: false, error: 'timeout', detail: 'aborted at the cycle deadline' });
    opts.signal.addEventListener('abort', onAbort, { once: true });
    req.once('socket', (sock) => {
      phases = watchPhases(sock, start);
      if (https) {
        sock.once('secureConnect', () => {
          const tls = sock as TLSSocket;
          const verifyError = verifyErrorOf(tls);
          const certDays = certDaysOf(tls, now());
          tlsInfo = { ...(certDays !== undefined ? { certDays } : {}), ...(verifyError ? { verifyError } : {}) };
          if (verifyError && !opts.insecure) finish({ ok: false, error: 'tls_error', detail: verifyError.slice(0, 300) });
        });
      }
    });
    req.once('response', (res: IncomingMessage) => {
      const head = monotonicMs() - start;
      const connectAt = phases.connect ?? 0;
      const readyAt = phases.secure ?? connectAt;
      res.resume();
      finish({
        ok: true,
        totalMs: head,
        status: res.statusCode ?? 0,
        phases: {
          ...(phases.lookup !== undefined ? { dns_ms: r3(phases.lookup) } : {}),
          connect_ms: r3(connectAt - (phases.lookup ?? 0)),
          ...(phases.secure !== undefined ? { tls_ms: r3(phases.secure - connectAt) } : {}),
          ttfb_ms: r3(head - readyAt),
        },
        ...tlsInfo,
      });
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      const error = classifySocketError(err);
      finish({ ok: false, error: https && phases.connect !== undefined && error === 'error' ? 'tls_error' : error, detail: (err.code ?? err.message).slice(0, 300) });
    });
    req.end();
  });
}

export async function runHttp(opts: HttpTarget, ctx: ProbeContext, now: () => number = Date.now): Promise<ProbeResult> {
  const { ca, error: caError } = readCa(opts.ca);
  if (caError) return { ok: false, sent: 0, received: 0, loss: 1, error: 'error', detail: caError };
  const { rtts, sent, last, good: goodAttempt } = await repeatAttempts(
    opts.count, opts.spacing, ctx.signal,
    () => httpAttempt({ url: opts.url, method: opts.method, ...(ca ? { ca } : {}), insecure: opts.insecure, timeoutMs: opts.timeout ?? ctx.timeoutMs, signal: ctx.signal }, now),
    (a) => (a.ok ? a.totalMs : undefined),
  );
  const good = goodAttempt?.ok ? goodAttempt : undefined;
  const summary = summarizeRtts(rtts, sent);
  if (!good) {
    const failure = last && !last.ok ? last : { error: 'timeout' as const, detail: 'not attempted before the deadline' };
    return { ...summary, ok: false, error: failure.error, detail: failure.detail };
  }
  const base = { ...summary, phases: good.phases, status: good.status, ...(good.certDays !== undefined ? { cert_days: good.certDays } : {}) };
  if (!statusExpected(good.status, opts.expect_status)) {
    return { ...base, ok: false, error: 'http_status', detail: `status ${good.status} not in ${opts.expect_status.map(([a, b]) => (a === b ? a : `${a}-${b}`)).join(',')}` };
  }
  return { ...base, ok: true, ...(good.verifyError ? { detail: `insecure: ${good.verifyError}`.slice(0, 300) } : {}) };
}

export const httpProbe: ProbeKindDef<typeof httpTarget> = {
  schema: httpTarget,
  run: (opts, ctx) => runHttp(opts, ctx),
};
