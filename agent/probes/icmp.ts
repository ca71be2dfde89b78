import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { z } from 'zod';
import { durationMs } from '../../lib/config-file.js';
import { summarizeRtts } from '../stats.js';
import { decodePingBytes, parsePingOutput, type PingOutput } from './ping-output.js';
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

interface PingBuilder {
  getCommandArguments(target: string, config: Record<string, unknown>): string[];
  getSpawnOptions(): Record<string, unknown>;
}
interface PingFactory {
  createBuilder(platform: string): PingBuilder;
  getExecutablePath(platform: string, v6: boolean): string;
  isWindow(platform: string): boolean;
  isLinux(platform: string): boolean;
}
// The `ping` package's builders keep the per-OS flags in one maintained place; its parser is not used (it reads
// localised words, node-ping #80/#17).
const pingFactory = createRequire(import.meta.url)('ping/lib/builder/factory') as PingFactory;

export interface PingCommand {
  file: string;
  args: string[];
  options: { windowsHide: true; env?: NodeJS.ProcessEnv };
  /** The hard kill timer: the longest this run may take. */
  budgetMs: number;
}

/**
 * Builds the ping command for a platform. Pure apart from reading the environment.
 * - Timeout: ping 0.4's Linux builder passes `-W` as whole seconds (busybox rejects fractions) and replaces 0 with
 *   its default, so it gets at least 1 s; its Windows builder turns seconds into `-w` milliseconds.
 * - Count goes through the builder as `min_reply` (`-c` / `-n`).
 * - Spacing is `-i` on Linux and macOS only; ping.exe has no such flag (its `-i` is the TTL).
 * - No deadline (`-w`): with one, iputils waits for it to expire whenever an echo is lost; the kill timer bounds the
 *   run instead, on every OS (the Windows builder refuses a deadline anyway).
 * - No `-4` on Windows: the address is already an IPv4 literal, and Wine's ping.exe knows no such flag.
 * - The environment is copied with `LC_ALL=C`, not taken from `getSpawnOptions()`, whose Linux version assigns
 *   `LANG=C` into this process's own `process.env`.
 */
export function buildPingCommand(
  address: string,
  opts: { count: number; spacingMs: number; timeoutMs: number },
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): PingCommand {
  const v6 = isIP(address) === 6;
  const builder = pingFactory.createBuilder(platform);
  const windows = pingFactory.isWindow(platform);
  const timeoutS = windows ? Math.max(0.001, opts.timeoutMs / 1000) : Math.max(1, Math.ceil(opts.timeoutMs / 1000));
  // iputils since 20210202 lets users go down to 2 ms (older ones: 200 ms); busybox has no floor.
  const spacingS = Math.max(0.002, opts.spacingMs / 1000);
  const extra = windows ? [] : ['-i', spacingS.toFixed(3).replace(/\.?0+$/, '')];
  let args = builder.getCommandArguments(address, { numeric: true, timeout: timeoutS, min_reply: opts.count, v6, extra });
  // An IPv4 literal is pinged over IPv4 anyway; Wine's ping.exe (and ReactOS's) refuses `-4` and prints its usage.
  if (windows && !v6) args = args.filter((a) => a !== '-4');
  // ping.exe sends the next echo a second after the previous one was sent or timed out. A loaded machine stretches
  // short intervals (10 ms echoes took 17 ms on a CI box at load 9), hence three times the nominal time; the
  // cycle deadline (0.9 × interval) is the tighter bound in normal use.
  const perEcho = windows ? Math.max(1000, opts.timeoutMs) : opts.spacingMs;
  const budgetMs = Math.ceil(3 * opts.count * perEcho + opts.timeoutMs + 1000);
  return {
    file: pingFactory.getExecutablePath(platform, v6),
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
    const child = spawn(cmd.file, cmd.args, { ...cmd.options, stdio: ['ignore', 'pipe', 'pipe'] });
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
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', (err) => finish(err));
    child.once('close', () => finish());
  });
}

/** Turns a parsed run into a sample. Pure. */
export function pingResult(parsed: PingOutput, run: { killed: boolean; count: number }): ProbeResult {
  const received = parsed.rtts.length;
  const sent = Math.max(received, parsed.transmitted ?? run.count);
  const summary = summarizeRtts(parsed.rtts, sent);
  if (received > 0) return { ...summary, ok: true };
  if (!parsed.started) return { ...summary, ok: false, error: 'error', detail: parsed.firstLine.slice(0, 300) || 'ping printed nothing' };
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
