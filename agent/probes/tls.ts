import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { z } from 'zod';
import { durationMs } from '../../lib/config-file.js';
import { summarizeRtts } from '../stats.js';
import { classifySocketError, monotonicMs, repeatAttempts, targetBase, type ProbeContext, type ProbeKindDef, type ProbeResult } from './types.js';

export const tlsTarget = z.strictObject({
  ...targetBase,
  kind: z.literal('tls'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(443),
  /** SNI and the name the certificate must carry; default: `host` when it is a name. */
  servername: z.string().min(1).optional(),
  /** A PEM file of CA certificates to trust instead of the system's (a provincial CA, a VPN concentrator's). */
  ca: z.string().min(1).optional(),
  /** Measure but do not fail on verification errors (they are still named in `detail`). */
  insecure: z.boolean().default(false),
  count: z.number().int().min(1).max(10).default(1),
  spacing: durationMs.prefault('200ms'),
});
export type TlsTarget = z.output<typeof tlsTarget>;

const DAY_MS = 86_400_000;

/** Days from `nowMs` until a certificate's `valid_to` (negative once expired), to 0.01 day. Pure. */
export function certDaysLeft(validTo: string, nowMs: number): number | undefined {
  const t = Date.parse(validTo);
  if (!Number.isFinite(t)) return undefined;
  return Math.round(((t - nowMs) / DAY_MS) * 100) / 100;
}

/** Reads a CA file; a missing file is a probe error, never a crash. */
export function readCa(path: string | undefined): { ca?: Buffer; error?: string } {
  if (!path) return {};
  try {
    return { ca: readFileSync(path) };
  } catch (err) {
    return { error: `cannot read ca ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

export const sniFor = (host: string, servername?: string): string | undefined => servername ?? (isIP(host) ? undefined : host);

export type Handshake =
  | { ok: true; dnsMs?: number; connectMs: number; tlsMs: number; certDays?: number; verifyError?: string }
  | { ok: false; error: ProbeResult['error']; detail: string };

/** Listens on a TLS (or plain) socket's phase events; every time is relative to `start`. */
export function watchPhases(sock: TLSSocket | import('node:net').Socket, start: number) {
  const t: { lookup?: number; connect?: number; secure?: number } = {};
  sock.once('lookup', () => (t.lookup = monotonicMs() - start));
  sock.once('connect', () => (t.connect = monotonicMs() - start));
  sock.once('secureConnect', () => (t.secure = monotonicMs() - start));
  return t;
}

/** Verification outcome of a finished handshake: undefined when trusted, else the OpenSSL/Node code. */
export function verifyErrorOf(sock: TLSSocket): string | undefined {
  if (sock.authorized) return undefined;
  const e = sock.authorizationError as unknown;
  return typeof e === 'string' ? e : e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : 'unverified';
}

export function certDaysOf(sock: TLSSocket, nowMs: number): number | undefined {
  const cert: PeerCertificate | undefined = sock.getPeerCertificate();
  return cert && cert.valid_to ? certDaysLeft(cert.valid_to, nowMs) : undefined;
}

/** One TCP connect + TLS handshake, verification done by hand so an untrusted certificate is still measured. */
export function tlsHandshake(
  opts: { host: string; port: number; servername?: string; ca?: Buffer; timeoutMs: number; signal: AbortSignal },
  now: () => number = Date.now,
): Promise<Handshake> {
  return new Promise((resolve) => {
    const start = monotonicMs();
    const servername = sniFor(opts.host, opts.servername);
    const sock = connect({
      host: opts.host,
      port: opts.port,
      ...(servername ? { servername } : {}),
      ...(opts.ca ? { ca: opts.ca } : {}),
      rejectUnauthorized: false,
      timeout: opts.timeoutMs,
    });
    const t = watchPhases(sock, start);
    const onAbort = () => finish({ ok: false, error: 'timeout', detail: 'aborted at the cycle deadline' });
    opts.signal.addEventListener('abort', onAbort, { once: true });
    function finish(h: Handshake) {
      opts.signal.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(h);
    }
    sock.once('secureConnect', () => {
      const connectAt = t.connect ?? 0;
      const verifyError = verifyErrorOf(sock);
      const certDays = certDaysOf(sock, now());
      finish({
        ok: true,
        ...(t.lookup !== undefined ? { dnsMs: t.lookup } : {}),
        connectMs: connectAt - (t.lookup ?? 0),
        tlsMs: (t.secure ?? monotonicMs() - start) - connectAt,
        ...(certDays !== undefined ? { certDays } : {}),
        ...(verifyError ? { verifyError } : {}),
      });
    });
    sock.once('timeout', () =>
      finish({ ok: false, error: 'timeout', detail: `no ${t.connect === undefined ? 'connection' : 'handshake'} within ${opts.timeoutMs} ms` }),
    );
    sock.once('error', (err: NodeJS.ErrnoException) => {
      const error = t.connect !== undefined && classifySocketError(err) === 'error' ? 'tls_error' : classifySocketError(err);
      finish({ ok: false, error, detail: (err.code ?? err.message).slice(0, 300) });
    });
  });
}

export async function runTls(opts: TlsTarget, ctx: ProbeContext, now: () => number = Date.now): Promise<ProbeResult> {
  const { ca, error: caError } = readCa(opts.ca);
  if (caError) return { ok: false, sent: 0, received: 0, loss: 1, error: 'error', detail: caError };
  const { rtts, sent, last, good: goodAttempt } = await repeatAttempts(
    opts.count, opts.spacing, ctx.signal,
    () => tlsHandshake({ host: opts.host, port: opts.port, ...(opts.servername ? { servername: opts.servername } : {}), ...(ca ? { ca } : {}), timeoutMs: opts.timeout ?? ctx.timeoutMs, signal: ctx.signal }, now),
    (a) => (a.ok ? a.connectMs + a.tlsMs : undefined),
  );
  const good = goodAttempt?.ok ? goodAttempt : undefined;
  const summary = summarizeRtts(rtts, sent);
  if (!good) {
    const failure = last && !last.ok ? last : { error: 'timeout' as const, detail: 'not attempted before the deadline' };
    return { ...summary, ok: false, error: failure.error, detail: failure.detail };
  }
  const phases = { ...(good.dnsMs !== undefined ? { dns_ms: r3(good.dnsMs) } : {}), connect_ms: r3(good.connectMs), tls_ms: r3(good.tlsMs) };
  const cert = good.certDays !== undefined ? { cert_days: good.certDays } : {};
  if (good.verifyError && !opts.insecure) {
    return { ...summary, ok: false, phases, ...cert, error: 'tls_error', detail: good.verifyError.slice(0, 300) };
  }
  return { ...summary, ok: true, phases, ...cert, ...(good.verifyError ? { detail: `insecure: ${good.verifyError}`.slice(0, 300) } : {}) };
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export const tlsProbe: ProbeKindDef<typeof tlsTarget> = {
  schema: tlsTarget,
  run: (opts, ctx) => runTls(opts, ctx),
};
