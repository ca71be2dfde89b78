/**
 * What the real run of the agent needs from this machine and this user, checked before it starts (and by `--once`):
 * its secret and certificate files readable, its outbox directory writable, ICMP permitted. Each problem names the
 * config key to look at, so an operator fixes it without reading a stack trace.
 */
import { closeSync, existsSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../lib/errors.js';
import { readSecret } from '../lib/secrets.js';
import type { AgentConfig } from './config.js';
import { buildPingCommand, runPing } from './probes/icmp.js';
import { parsePingOutput } from './probes/ping-output.js';

/** Something the real run needs that is missing; `key` is the config key it concerns (`outbox.path`). */
export interface Unready {
  key: string;
  problem: string;
}

const errno = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** Whether a file can be opened for reading, by opening it (permission bits, ACLs and mounts all have their say). */
function unreadable(path: string): string | undefined {
  try {
    closeSync(openSync(path, 'r'));
    return undefined;
  } catch (err) {
    return `cannot read ${path} (${errno(err)})`;
  }
}

/** The broker's password file and certificate files, which the agent reads when it connects. */
export function checkSecrets(cfg: AgentConfig, configFile: string): Unready[] {
  const out: Unready[] = [];
  try {
    readSecret({ file: cfg.broker.password_file, envName: 'LINKWATCH_BROKER_PASSWORD', key: 'broker.password_file', configFile });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out.push({ key: err.key, problem: `${err.problem}${cfg.broker.password_file ? ` (${cfg.broker.password_file})` : ''}` });
  }
  for (const key of ['ca', 'cert', 'key'] as const) {
    const path = cfg.broker[key];
    const problem = path ? unreadable(path) : undefined;
    if (problem) out.push({ key: `broker.${key}`, problem });
  }
  return out;
}

const OUTBOX_FILES = ['outbox.db', 'outbox.db-wal', 'outbox.db-shm'];

/**
 * Why the outbox directory cannot be used by this process, or undefined when it can. Creates and removes a probe file
 * in the directory, or, when the directory does not exist yet, in the nearest existing parent it would be created in:
 * nothing of an outbox is left behind either way. Existing database files must open for writing too (an outbox made
 * by root and then run as the service user is read-only to it).
 */
export function outboxWriteProblem(dir: string): string | undefined {
  let at = resolve(dir);
  while (!existsSync(at)) {
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  try {
    if (!statSync(at).isDirectory()) return at === resolve(dir) ? `${dir} is not a directory` : `cannot create ${dir}: ${at} is not a directory`;
  } catch (err) {
    return `cannot use ${dir} (${errno(err)})`;
  }
  const probe = join(at, `.linkwatch-write-check-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    const code = errno(err);
    const why = code === 'EROFS' ? 'read-only file system; under systemd ProtectSystem=strict only the StateDirectory= (/var/lib/linkwatch) is writable' : code;
    return at === resolve(dir) ? `cannot write in ${dir} (${why})` : `cannot create ${dir}: cannot write in ${at} (${why})`;
  }
  if (at !== resolve(dir)) return undefined;
  for (const f of OUTBOX_FILES) {
    const file = join(at, f);
    if (!existsSync(file)) continue;
    try {
      closeSync(openSync(file, 'r+'));
    } catch (err) {
      return `cannot write ${file} (${errno(err)}); give it to the user the agent runs as`;
    }
  }
  return undefined;
}

/** The checks that need no network, as one ConfigError: the agent's start runs them before it opens anything. */
export function assertStartable(cfg: AgentConfig, configFile: string): void {
  const outbox = outboxWriteProblem(cfg.outbox.path);
  const first = checkSecrets(cfg, configFile)[0] ?? (outbox ? { key: 'outbox.path', problem: outbox } : undefined);
  if (first) throw new ConfigError(configFile, first.key, first.problem);
}

/** What to do when ping may not open its socket: the two ways Linux permits ICMP to an unprivileged user. */
export function icmpAdvice(gid: number | undefined): string {
  return 'grant CAP_NET_RAW (the unit deploy/systemd/linkwatch-agent.service does: AmbientCapabilities=CAP_NET_RAW) ' +
    `or set net.ipv4.ping_group_range to a range that holds this user's group${gid === undefined ? '' : ` (gid ${gid})`}`;
}

/**
 * Whether this user may send ICMP echoes, found by pinging 127.0.0.1 once with the probe's own command. Linux only:
 * there ping needs CAP_NET_RAW (its file capability is lost under no_new_privs) or a ping_group_range covering the
 * user; Windows' ping.exe and macOS's setuid ping need nothing. Resolves with the problem, or undefined.
 */
export async function icmpProblem(opts: { platform?: NodeJS.Platform; timeoutMs?: number } = {}): Promise<string | undefined> {
  const platform = opts.platform ?? process.platform;
  if (platform !== 'linux') return undefined;
  const cmd = buildPingCommand('127.0.0.1', { count: 1, spacingMs: 200, timeoutMs: opts.timeoutMs ?? 1000 }, platform);
  // spawn() throws at once, rather than emitting 'error', for some exec failures: EPERM among them.
  const run = await runPing(cmd, AbortSignal.timeout(cmd.budgetMs + 1000)).catch((err: NodeJS.ErrnoException) => ({ output: '', killed: false, spawnError: err }));
  if (run.spawnError?.code === 'EPERM') {
    // The kernel refuses to exec a file whose capabilities (ping's cap_net_raw) exceed the bounding set.
    return `ICMP not permitted: ${cmd.file} may not be started (EPERM: its file capability CAP_NET_RAW is outside this process's bounding set): ` +
      'keep CAP_NET_RAW in the bounding set, and grant it (the unit deploy/systemd/linkwatch-agent.service has CapabilityBoundingSet=CAP_NET_RAW and AmbientCapabilities=CAP_NET_RAW)';
  }
  if (run.spawnError) return `cannot run ${cmd.file} (${errno(run.spawnError)})`;
  const parsed = parsePingOutput(run.output, '127.0.0.1');
  if (parsed.rtts.length > 0) return undefined;
  const said = run.output.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).join(' / ').slice(0, 300) || 'ping printed nothing';
  if (!parsed.started) return `ICMP not permitted to this user (${said}): ${icmpAdvice(process.getgid?.())}`;
  return `no echo reply from 127.0.0.1 (${said}): is the loopback interface up?`;
}

/**
 * Everything the real run needs, for `--once`: secrets, outbox, and ICMP when a target uses it. An empty list means
 * ready.
 */
export async function checkReadiness(cfg: AgentConfig, opts: { configFile: string; platform?: NodeJS.Platform }): Promise<Unready[]> {
  const out = checkSecrets(cfg, opts.configFile);
  const outbox = outboxWriteProblem(cfg.outbox.path);
  if (outbox) out.push({ key: 'outbox.path', problem: outbox });
  const icmp = cfg.targets.findIndex((t) => t.kind === 'icmp');
  if (icmp >= 0) {
    const problem = await icmpProblem({ ...(opts.platform ? { platform: opts.platform } : {}) });
    if (problem) out.push({ key: `targets[${icmp}]`, problem });
  }
  return out;
}
