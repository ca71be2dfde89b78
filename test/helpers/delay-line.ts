/**
 * A packet-level delay line for tests, for kernels without `tc netem`:
 *
 *   this process's namespace ── veth ── namespace M (no addresses; test/tools/delay-line.py forwards every frame
 *   between its two veth ends after a per-direction delay) ── veth ── namespace B (the target host)
 *
 * The client end gets `clientIp` and B gets `targetIp` in one random 10.2xx.y.0/24 not routed on this machine, with
 * static neighbour entries both ways (so no ARP crosses the delay line). Probes run in this process reach
 * `targetIp` through M, so a TCP handshake or an ICMP echo is delayed as on a slow link. Everything is named
 * `lw-dl-<random>` / `lwd<random>*`; `stop()` ends every process it started by PID and deletes every namespace and
 * link it created, and the scripts it starts exit at end of standard input, so they die with this process.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../tools/delay-line.py');
/** Debian's interpreter, not a pyenv shim that adds its own start-up time. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const sh = (...args: string[]): string => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).toString();
const quiet = (...args: string[]): void => {
  try {
    sh(...args);
  } catch {
    // already gone
  }
};
const firstLine = (err: unknown): string =>
  String((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message)
    .trim()
    .split('\n')[0]!;

/** Why a delay line cannot be built here, or undefined if it can (creates and deletes a scratch namespace). */
export function delayLineUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'network namespaces and AF_PACKET sockets need root';
  const probe = `lw-dl-${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}-probe`;
  try {
    sh(PYTHON, '-c', 'import socket; socket.AF_PACKET');
    sh('ip', 'netns', 'add', probe);
  } catch (err) {
    return `cannot create a network namespace or run python3 (${firstLine(err)})`;
  } finally {
    quiet('ip', 'netns', 'del', probe);
  }
  return undefined;
}

export interface DelayStats {
  ab: number;
  ba: number;
  dropped: number;
  send_errors: number;
  max_late_ms: number;
  queued: number;
}

export interface DelayLine {
  clientIp: string;
  targetIp: string;
  /** Names of the middle and target namespaces. */
  ns: { middle: string; target: string };
  /** What the script said when ready, e.g. `ready slack=1ns fifo`. */
  ready: string;
  /** Delays from now on: `toTargetMs` on frames client → target (the SYN), `toClientMs` on the way back. */
  setDelay(toTargetMs: number, toClientMs: number): Promise<void>;
  stats(): Promise<DelayStats>;
  /** Starts a TCP listener on targetIp:port in the target namespace that accepts and closes every connection. */
  listenInTarget(port: number): Promise<void>;
  /** Stops every process by PID and deletes every namespace and link; safe to call twice. */
  stop(): Promise<void>;
  /** Names of namespaces this delay line created (to check that none are left). */
  names: string[];
}

interface LineProc {
  child: ChildProcess;
  next(timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Spawns a command that talks in lines on stdin/stdout; `stop` closes stdin, then SIGKILLs by PID after 2 s. */
function lineProc(cmd: string, args: string[]): LineProc {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    next(timeoutMs = 5000) {
      const l = lines.shift();
      if (l !== undefined) return Promise.resolve(l);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(onLine), 1);
          reject(new Error(`${args.join(' ')}: no line within ${timeoutMs} ms (exit ${child.exitCode}, stderr: ${stderr.trim()})`));
        }, timeoutMs);
        const onLine = (line: string) => {
          clearTimeout(t);
          resolve(line);
        };
        waiters.push(onLine);
        void exited.then(() => {
          if (!waiters.includes(onLine)) return;
          waiters.splice(waiters.indexOf(onLine), 1);
          clearTimeout(t);
          reject(new Error(`${args.join(' ')} exited ${child.exitCode ?? child.signalCode}: ${stderr.trim()}`));
        });
      });
    },
    async stop() {
      if (!alive()) return;
      child.stdin!.end();
      const t = setTimeout(() => alive() && child.pid && process.kill(child.pid, 'SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A random 10.(200–249).y.0/24 that no route on this machine covers or falls inside. */
function freeSubnet(): string {
  for (let i = 0; i < 50; i++) {
    const net = `10.${200 + randomInt(0, 50)}.${randomInt(0, 256)}`;
    const inside = sh('ip', '-4', 'route', 'show', 'root', `${net}.0/24`).trim();
    const covering = sh('ip', '-4', 'route', 'show', 'match', `${net}.0/24`)
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('default'));
    if (!inside && covering.length === 0) return net;
  }
  throw new Error('no free 10.2xx.y.0/24 in 50 tries');
}

const macOf = (dev: string, ns?: string): string => {
  const out = ns ? sh('ip', '-n', ns, '-j', 'link', 'show', 'dev', dev) : sh('ip', '-j', 'link', 'show', 'dev', dev);
  return (JSON.parse(out) as Array<{ address: string }>)[0]!.address;
};

export async function startDelayLine(opts: { toTargetMs?: number; toClientMs?: number; realtime?: boolean } = {}): Promise<DelayLine> {
  const id = randomInt(0, 0xffffff).toString(16).padStart(6, '0');
  const M = `lw-dl-${id}-m`;
  const B = `lw-dl-${id}-b`;
  const clientIf = `lwd${id}c`; // this namespace
  const midC = `lwd${id}m`; // M, towards the client
  const midT = `lwd${id}n`; // M, towards the target
  const targetIf = `lwd${id}t`; // B
  const procs: LineProc[] = [];
  let line: LineProc | undefined;
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(procs.map((p) => p.stop()));
    // Deleting a namespace deletes the veth ends in it, and with them their peers.
    quiet('ip', 'netns', 'del', M);
    quiet('ip', 'netns', 'del', B);
    quiet('ip', 'link', 'del', clientIf);
  };

  try {
    const net = freeSubnet();
    const clientIp = `${net}.1`;
    const targetIp = `${net}.2`;
    sh('ip', 'netns', 'add', M);
    sh('ip', 'netns', 'add', B);
    sh('ip', 'link', 'add', clientIf, 'type', 'veth', 'peer', 'name', midC, 'netns', M);
    sh('ip', 'link', 'add', midT, 'netns', M, 'type', 'veth', 'peer', 'name', targetIf, 'netns', B);
    // No IPv6 link-local addresses: no DAD, router or MLD chatter through the delay line.
    sh('ip', 'link', 'set', clientIf, 'addrgenmode', 'none');
    for (const dev of [midC, midT]) sh('ip', '-n', M, 'link', 'set', dev, 'addrgenmode', 'none', 'up');
    sh('ip', '-n', B, 'link', 'set', targetIf, 'addrgenmode', 'none');
    sh('ip', 'addr', 'add', `${clientIp}/24`, 'dev', clientIf);
    sh('ip', 'link', 'set', clientIf, 'up');
    sh('ip', '-n', B, 'addr', 'add', `${targetIp}/24`, 'dev', targetIf);
    sh('ip', '-n', B, 'link', 'set', targetIf, 'up');
    sh('ip', '-n', B, 'link', 'set', 'lo', 'up');
    sh('ip', 'neigh', 'replace', targetIp, 'lladdr', macOf(targetIf, B), 'dev', clientIf, 'nud', 'permanent');
    sh('ip', '-n', B, 'neigh', 'replace', clientIp, 'lladdr', macOf(clientIf), 'dev', targetIf, 'nud', 'permanent');

    const args = ['netns', 'exec', M, PYTHON, SCRIPT, midC, midT, '--ab', String(opts.toTargetMs ?? 0), '--ba', String(opts.toClientMs ?? 0)];
    if (opts.realtime ?? true) args.push('--realtime');
    line = lineProc('ip', args); // `ip netns exec` execs the script: this PID is python's.
    procs.push(line);
    const ready = await line.next(10_000);
    if (!ready.startsWith('ready')) throw new Error(`delay-line.py: ${ready}`);
    const dl = line;

    return {
      clientIp,
      targetIp,
      ns: { middle: M, target: B },
      ready,
      names: [M, B],
      async setDelay(toTargetMs, toClientMs) {
        dl.child.stdin!.write(`delay ${toTargetMs} ${toClientMs}\n`);
        const ok = await dl.next();
        if (!ok.startsWith('ok ')) throw new Error(`delay-line.py: ${ok}`);
      },
      async stats() {
        dl.child.stdin!.write('stats\n');
        return JSON.parse(await dl.next()) as DelayStats;
      },
      async listenInTarget(port) {
        const code = [
          'import socket, sys, select',
          's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
          `s.bind((${JSON.stringify(targetIp)}, ${port})); s.listen(512); print("listening", flush=True)`,
          'while True:',
          '    r, _, _ = select.select([s, sys.stdin], [], [])',
          '    if sys.stdin in r and not sys.stdin.buffer.raw.read(4096): break',
          '    if s in r: s.accept()[0].close()',
        ].join('\n');
        const p = lineProc('ip', ['netns', 'exec', B, PYTHON, '-c', code]);
        procs.push(p);
        const l = await p.next(10_000);
        if (l !== 'listening') throw new Error(`listener in ${B}: ${l}`);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
