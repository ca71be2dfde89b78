import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { durationMs } from '../../lib/config-file.js';
import { summarizeRtts } from '../stats.js';
import { decodePingBytes, parsePingOutput, readableLine, type PingOutput } from './ping-output.js';
import { classifySocketError, targetBase, type ProbeContext, type ProbeKindDef, type ProbeResult } from './types.js';

export const icmpTarget = z.strictObject({
  ...targetBase,
  kind: z.literal('icmp'),
  /** An address, a name (resolved by the agent, not by ping), or `auto` for the default gateway (see index.ts). */
  host: z.string().min(1),
  /** Echo requests per cycle. */
  count: z.number().int().min(1).max(1000).default(5),
  /** Time between echo requests. Not settable on Windows, where ping.exe waits about a second after each reply. */
  spacing: durationMs.prefault('200ms'),
  /** Force IPv4 or IPv6 when a name resolves to both. */
  family: z.union([z.literal(4), z.literal(6)]).optional(),
});
export type IcmpTarget = z.output<typeof icmpTarget>;

export interface PingCommand {
  file: string;
  args: string[];
  options: { windowsHide: true; env?: NodeJS.ProcessEnv };
  /** The hard kill timer: the longest this run may take. */
  budgetMs: number;
}

/**
 * Builds the ping command for a platform. Pure: the platform and environment are arguments.
 * - Linux (iputils, busybox): `-n -W s -c n -i s`. `-W` in whole seconds (busybox rejects fractions), at least 1.
 *   No family flag: both pick it from the address literal (iputils since 20150815, busybox with IPv6 built in).
 * - macOS: `/sbin/ping` or `/sbin/ping6`; `ping`'s `-W` is in milliseconds and `ping6` has none, so the kill timer
 *   bounds an IPv6 run.
 * - Windows: `ping.exe [-6] -n n -w ms`. It has no spacing flag (its `-i` is the TTL) and no deadline. No `-4`: an
 *   IPv4 literal is pinged over IPv4 anyway, and Wine's ping.exe (like ReactOS's) refuses the flag and prints its usage.
 * - No deadline anywhere: with one, iputils waits for it to expire whenever an echo is lost; the kill timer bounds
 *   the run instead, on every OS.
 * - Unix runs in the C locale so iputils never prints translated words or a decimal comma.
 */
export function buildPingCommand(
  address: string,
  opts: { count: number; spacingMs: number; timeoutMs: number },
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): PingCommand {
  const v6 = isIP(address) === 6;
  const windows = platform === 'win32';
  // iputils since 20210202 lets users go down to 2 ms (older ones: 200 ms); busybox has no floor.
  const spacingS = Math.max(0.002, opts.spacingMs / 1000);
  const spacing = ['-i', spacingS.toFixed(3).replace(/\.?0+$/, '')];
  const count = String(opts.count);
  let file: string;
  let args: string[];
  if (windows) {
    file = `${env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows'}\\System32\\PING.EXE`;
    args = [...(v6 ? ['-6'] : []), '-n', count, '-w', String(Math.max(1, Math.round(opts.timeoutMs))), address];
  } else if (platform === 'darwin') {
    file = v6 ? '/sbin/ping6' : '/sbin/ping';
    args = v6 ? ['-n', '-c', count, ...spacing, address] : ['-n', '-W', String(Math.max(1, Math.round(opts.timeoutMs))), '-c', count, ...spacing, address];
  } else {
    file = 'ping';
    args = ['-n', '-W', String(Math.max(1, Math.ceil(opts.timeoutMs / 1000))), '-c', count, ...spacing, address];
  }
  // ping.exe sends the next echo a second after the previous one was sent or timed out. A loaded machine stretches
  // short intervals (10 ms echoes took 17 ms on a CI box at load 9), hence three times the nominal time; the
  // cycle deadline (0.9 × interval) is the tighter bound in normal use.
  const perEcho = windows ? Math.max(1000, opts.timeoutMs) : opts.spacingMs;
  const budgetMs = Math.ceil(3 * opts.count * perEcho + opts.timeoutMs + 1000);
  return {
    file,
    args,
    options: windows ? { windowsHide: true } : { windowsHide: true, env: { ...env, LC_ALL: 'C', LANG: 'C' } },
    budgetMs,
  };
}

interface PingRun {
  output: string;
  killed: boolean;
  spawnError?: NodeJS.ErrnoException;
}

/** Spawns ping and kills it when the budget or the cycle's deadline runs out; resolves whatever happens. */
export function runPing(cmd: PingCommand, signal: AbortSignal): Promise<PingRun> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let killed = false;
    let settled = false;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(cmd.file, cmd.args, { ...cmd.options, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      // Node throws, rather than emits, the errors it does not count as run-time ones: EPERM when exec is refused
      // (CAP_NET_RAW outside a service's bounding set). A refused ping is a failed sample, not a bug.
      resolve({ output: '', killed: false, spawnError: err as NodeJS.ErrnoException });
      return;
    }
    const kill = () => {
      killed = true;
      child.kill();
    };
    const timer = setTimeout(kill, cmd.budgetMs);
    signal.addEventListener('abort', kill, { once: true });
    const finish = (spawnError?: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', kill);
      resolve({ output: decodePingBytes(Buffer.concat(chunks)), killed, ...(spawnError ? { spawnError } : {}) });
    };
    child.stdout!.on('data', (c: Buffer) => chunks.push(c));
    child.stderr!.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', (err) => finish(err));
    child.once('close', () => finish());
  });
}

/** What ping said went wrong, for a sample's `detail`: every line of it, readable, at most 300 characters. */
function pingDetail(lines: readonly string[]): string {
  return lines.map(readableLine).join(' | ').slice(0, 300);
}

/**
 * Turns a parsed run into a sample. Pure. Order matters: any reply makes it `ok`; ping's own complaint (it could not
 * start, or could not send: no permission, no route) is an `error` with its words; an ICMP error from the path is
 * `unreachable`; silence is a `timeout`.
 */
export function pingResult(parsed: PingOutput, run: { killed: boolean; count: number }): ProbeResult {
  const received = parsed.rtts.length;
  const sent = Math.max(received, parsed.transmitted ?? run.count);
  const summary = summarizeRtts(parsed.rtts, sent);
  if (received > 0) return { ...summary, ok: true };
  if (!parsed.started) return { ...summary, ok: false, error: 'error', detail: pingDetail(parsed.message) || 'ping printed nothing' };
  if (parsed.message.length > 0) return { ...summary, ok: false, error: 'error', detail: pingDetail(parsed.message) };
  if (parsed.icmpErrors > 0) return { ...summary, ok: false, error: 'unreachable', detail: `${parsed.icmpErrors} ICMP errors from the path` };
  return { ...summary, ok: false, error: 'timeout', detail: run.killed ? 'ping killed at its time budget' : 'no echo reply' };
}

export interface IcmpDeps {
  platform?: NodeJS.Platform;
}

export async function runIcmp(opts: IcmpTarget, ctx: ProbeContext, deps: IcmpDeps = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeout ?? ctx.timeoutMs;
  const none = { sent: 0, received: 0, loss: 1, ok: false } as const;
  let address = opts.host;
  // Resolved here rather than by ping, so a name that does not resolve is a dns_error in any language.
  if (isIP(address) === 0) {
    try {
      address = (await lookup(address, opts.family ? { family: opts.family } : {})).address;
    } catch (err) {
      return { ...none, error: classifySocketError(err as NodeJS.ErrnoException), detail: (err as NodeJS.ErrnoException).code ?? String(err) };
    }
  }
  const cmd = buildPingCommand(address, { count: opts.count, spacingMs: opts.spacing, timeoutMs }, deps.platform ?? process.platform);
  const run = await runPing(cmd, ctx.signal);
  if (run.spawnError) return { ...none, error: 'error', detail: `cannot run ${cmd.file}: ${run.spawnError.code ?? run.spawnError.message}` };
  return pingResult(parsePingOutput(run.output, address), { killed: run.killed, count: opts.count });
}

export const icmpProbe: ProbeKindDef<typeof icmpTarget> = {
  schema: icmpTarget,
  run: (opts, ctx) => runIcmp(opts, ctx),
};
