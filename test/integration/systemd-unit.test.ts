/**
 * The shipped systemd units, as the service will run them. The agent is started with exactly the user, capabilities
 * and no_new_privs that deploy/systemd/linkwatch-agent.service declares (read from the file, applied with setpriv),
 * in a network namespace of its own whose net.ipv4.ping_group_range is the kernel default `1 0`, so only the unit's
 * capability can make ICMP work; then again with the line that grants it removed, where ICMP must fail.
 * ProtectSystem=strict with StateDirectory= is emulated in a mount namespace. What is not emulated (PrivateTmp=,
 * RestrictAddressFamilies=, the journal) is checked by systemd-analyze where it is installed, and by the paths the
 * units and the config generator share.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { agentConfigFor, STATION_DIRS } from '../../cli/credentials.js';
import { parseUnitFile, servicePrivileges, setprivArgs, type ServicePrivileges } from '../helpers/systemd-unit.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/linkwatch.js');
const UNITS = join(ROOT, 'deploy/systemd');
const unitText = (name: string) => readFileSync(join(UNITS, name), 'utf8');
const AGENT_UNIT = unitText('linkwatch-agent.service');

const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const isRoot = process.getuid?.() === 0;
const NS = `lw-unit-${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}`;

interface Run {
  code: number | null;
  output: string;
  status: string;
}

describe.skipIf(!isRoot)(`the agent as linkwatch-agent.service runs it${isRoot ? '' : ' (skipped: needs root for setpriv, useradd and ip netns)'}`, () => {
  const declared = servicePrivileges(parseUnitFile(AGENT_UNIT));
  // The unit without the line that grants ICMP: the test must be able to fail.
  const withoutGrant = servicePrivileges(parseUnitFile(AGENT_UNIT.split('\n').filter((l) => !/^AmbientCapabilities=/.test(l.trim())).join('\n')));
  let createdUser = false;
  let dir: string;
  let gid: number;

  beforeAll(() => {
    try {
      sh('id', '-u', declared.user);
    } catch {
      sh('useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', declared.user);
      createdUser = true;
    }
    gid = Number(sh('id', '-g', declared.user).trim());
    sh('ip', 'netns', 'add', NS);
    sh('ip', 'netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
    // ping_group_range is per network namespace: this sets the kernel default in the test's own, not the host's.
    sh('ip', 'netns', 'exec', NS, 'sh', '-c', 'echo "1 0" > /proc/sys/net/ipv4/ping_group_range');
    // Not under the run's TMPDIR (mode 700): the service user must reach its config and state directory.
    dir = mkdtempSync('/tmp/lw-unit-');
    chmodSync(dir, 0o755);
  });

  afterAll(() => {
    try {
      sh('ip', 'netns', 'del', NS);
    } catch {
      // never made
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (createdUser) sh('userdel', declared.user);
  });

  /** A state directory owned by the service user, as StateDirectory= makes it, and an agent config using it. */
  function station(name: string, extra: Record<string, unknown> = {}): { config: string; outbox: string } {
    const state = join(dir, name);
    mkdirSync(state);
    chownSync(state, Number(sh('id', '-u', declared.user).trim()), gid);
    const config = join(dir, `${name}.yaml`);
    writeFileSync(config, YAML.stringify({
      station: 'bk-unit-test',
      interval: '1s',
      // Nothing listens here: reports stay in the outbox, where the test reads them.
      broker: { url: 'mqtt://127.0.0.1:1' },
      outbox: { path: join(state, 'outbox') },
      targets: [{ name: 'lo', role: 'gateway', kind: 'icmp', host: '127.0.0.1', count: 3, spacing: '100ms' }],
      log_level: 'warn',
      ...extra,
    }));
    return { config, outbox: join(state, 'outbox') };
  }

  /**
   * ProtectSystem=strict with StateDirectory=, as a mount namespace of the run's own: every mount read-only but /proc,
   * /sys and /dev, and `state` mounted where systemd puts the state directory (a tmpfs over /var/lib in this namespace
   * only, so the host's /var/lib is not touched), read-write.
   */
  function protectSystemStrict(state: string): string[] {
    const service = parseUnitFile(AGENT_UNIT).get('Service')!;
    expect(service.get('ProtectSystem')?.at(-1)).toBe('strict');
    const target = `/var/lib/${service.get('StateDirectory')!.at(-1)}`;
    const script = [
      'set -e',
      'mount -t tmpfs -o mode=0755 tmpfs /var/lib',
      `mkdir -p ${target}`,
      `mount --bind "$0" ${target}`,
      `for m in $(findmnt -rn -o TARGET | sort -u); do case "$m" in /proc*|/sys*|/dev*|${target}) ;; *) mount -o remount,bind,ro "$m" ;; esac; done`,
      'exec "$@"',
    ].join('\n');
    return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, state];
  }

  /** Runs the CLI in the namespace with the unit's privileges; `until` decides when a long-running agent is stopped. */
  async function runAs(p: ServicePrivileges, args: string[], until?: () => boolean, opts: { readOnlyExcept?: string } = {}): Promise<Run> {
    // `ip netns exec`, unshare, sh's exec and setpriv all exec, so the child's PID is the agent's own.
    const sandbox = opts.readOnlyExcept ? protectSystemStrict(opts.readOnlyExcept) : [];
    const child = spawn('ip', ['netns', 'exec', NS, ...sandbox, 'setpriv', ...setprivArgs(p, gid), process.execPath, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let status = '';
    if (until) {
      const deadline = Date.now() + 20_000;
      while (!until() && Date.now() < deadline && child.exitCode === null) {
        if (!status) {
          try {
            status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
            if (!/^Name:\s*node/m.test(status)) status = '';
          } catch {
            // exited
          }
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      if (child.exitCode === null) child.kill('SIGTERM');
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    return { code, output, status };
  }

  function icmpSamples(outbox: string): Array<{ ok: boolean; error?: string; detail?: string }> {
    const file = join(outbox, 'outbox.db');
    if (!existsSync(file)) return [];
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare('SELECT body FROM report ORDER BY seq').all() as Array<{ body: string }>;
      return rows.flatMap((r) => (JSON.parse(r.body) as { probes: Array<{ target: string; ok: boolean; error?: string; detail?: string }> }).probes.filter((p) => p.target === 'lo'));
    } catch {
      return []; // the agent has not made its tables yet
    } finally {
      db.close();
    }
  }

  it('reads the privileges the unit declares: an unprivileged user, no_new_privs, CAP_NET_RAW ambient and bounding', () => {
    expect(declared.user).toBe('linkwatch');
    expect(declared.noNewPrivileges).toBe(true);
    expect([...declared.ambient]).toEqual(['net_raw']);
    expect([...(declared.bounding ?? [])]).toEqual(['net_raw']);
    expect(withoutGrant.ambient.size).toBe(0);
    expect(sh('ip', 'netns', 'exec', NS, 'cat', '/proc/sys/net/ipv4/ping_group_range').trim().split(/\s+/)).toEqual(['1', '0']);
  });

  it('measures ICMP to 127.0.0.1 as ok, running as the unit declares', async () => {
    const s = station('granted');
    const run = await runAs(declared, ['agent', '--config', s.config], () => icmpSamples(s.outbox).length >= 2);
    const samples = icmpSamples(s.outbox);
    expect(run.output).not.toMatch(/\n\s+at /); // no stack trace
    expect(samples.length, run.output).toBeGreaterThanOrEqual(2);
    expect(samples.every((x) => x.ok), JSON.stringify(samples)).toBe(true);
    // The process really ran with the unit's privileges: uid, no_new_privs, CAP_NET_RAW (bit 13) ambient only.
    expect(run.status).toMatch(new RegExp(`^Uid:\\s+${sh('id', '-u', declared.user).trim()}\\s`, 'm'));
    expect(run.status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(run.status).toMatch(/^CapAmb:\s+0000000000002000$/m);
    expect(run.status).toMatch(/^CapBnd:\s+0000000000002000$/m);
  });

  it('passes --once as the unit declares, with the ICMP row ok', async () => {
    const s = station('once-granted');
    const run = await runAs(declared, ['agent', '--config', s.config, '--once', '--json']);
    expect(run.code, run.output).toBe(0);
    const report = JSON.parse(run.output.slice(run.output.indexOf('{'))) as { probes: Array<{ target: string; ok: boolean }> };
    expect(report.probes.find((p) => p.target === 'lo')?.ok).toBe(true);
    expect(existsSync(s.outbox)).toBe(false); // --once makes no outbox
  });

  it('runs a generated Linux config under ProtectSystem=strict: the outbox fills in the state directory', async () => {
    const state = join(dir, 'strict-state');
    mkdirSync(state);
    chownSync(state, Number(sh('id', '-u', declared.user).trim()), gid);
    const generated = agentConfigFor('bk-unit-test', { os: 'linux', brokerUrl: 'mqtts://hub.example:8883', auth: 'certificate', protocolVersion: 5 });
    expect(generated.outbox).toMatchObject({ path: '/var/lib/linkwatch/outbox' });
    const config = join(dir, 'strict.yaml');
    // The generator's outbox; a plain broker that is not there (no certificates to install for this test).
    writeFileSync(config, YAML.stringify({
      ...generated,
      interval: '1s',
      broker: { url: 'mqtt://127.0.0.1:1' },
      targets: [{ name: 'lo', role: 'gateway', kind: 'icmp', host: '127.0.0.1', count: 3, spacing: '100ms' }],
      log_level: 'warn',
    }));
    const outbox = join(state, 'outbox');
    const run = await runAs(declared, ['agent', '--config', config], () => icmpSamples(outbox).length >= 2, { readOnlyExcept: state });
    const samples = icmpSamples(outbox);
    expect(samples.length, run.output).toBeGreaterThanOrEqual(2);
    expect(samples.every((x) => x.ok), JSON.stringify(samples)).toBe(true);
  });

  it('refuses to start under ProtectSystem=strict with an outbox in /etc/linkwatch: exit 2 naming outbox.path, no stack trace', async () => {
    const state = join(dir, 'strict-etc');
    mkdirSync(state);
    const config = join(dir, 'strict-etc.yaml');
    writeFileSync(config, YAML.stringify({
      station: 'bk-unit-test',
      broker: { url: 'mqtt://127.0.0.1:1' },
      outbox: { path: '/etc/linkwatch/outbox' }, // where the generator used to put it
      targets: [{ name: 'lo', role: 'gateway', kind: 'icmp', host: '127.0.0.1' }],
    }));
    const run = await runAs(declared, ['agent', '--config', config], undefined, { readOnlyExcept: state });
    expect(run.code, run.output).toBe(2);
    expect(run.output).toMatch(/config error: .*strict-etc\.yaml: outbox\.path: cannot create \/etc\/linkwatch\/outbox: cannot write in \/etc[a-z/]* \(read-only file system; .*StateDirectory/);
    expect(run.output).not.toMatch(/\n\s+at /);
  });

  it('measures ICMP as failed when the AmbientCapabilities= line is removed', async () => {
    const s = station('removed');
    const run = await runAs(withoutGrant, ['agent', '--config', s.config], () => icmpSamples(s.outbox).length >= 2);
    const samples = icmpSamples(s.outbox);
    expect(samples.length, run.output).toBeGreaterThanOrEqual(2);
    expect(samples.some((x) => x.ok), JSON.stringify(samples)).toBe(false);
    expect(run.status).toMatch(/^CapAmb:\s+0000000000000000$/m);
  });

  it('fails --once with exit 2 saying to keep CAP_NET_RAW in the bounding set when the unit empties it', async () => {
    const emptied = servicePrivileges(parseUnitFile(AGENT_UNIT.replace(/^AmbientCapabilities=.*$/m, '').replace(/^CapabilityBoundingSet=.*$/m, 'CapabilityBoundingSet=')));
    expect(emptied.bounding?.size).toBe(0);
    const s = station('once-emptied');
    const run = await runAs(emptied, ['agent', '--config', s.config, '--once']);
    expect(run.code, run.output).toBe(2);
    expect(run.output).toMatch(/targets\[0\]: ICMP not permitted: .*EPERM.*bounding set/);
    expect(run.output).not.toMatch(/\n\s+at /);
  });

  it('fails --once with exit 2 naming the ICMP target and what to grant when the line is removed', async () => {
    const s = station('once-removed');
    const run = await runAs(withoutGrant, ['agent', '--config', s.config, '--once']);
    expect(run.code, run.output).toBe(2);
    expect(run.output).toMatch(/not ready: .*once-removed\.yaml: targets\[0\]: ICMP not permitted .*CAP_NET_RAW.*ping_group_range/);
    expect(run.output).not.toMatch(/\n\s+at /);
  });
});

describe('the units and the config generator agree on where services may write', () => {
  const service = (name: string) => parseUnitFile(unitText(name)).get('Service')!;
  const stateDir = (name: string) => {
    const s = service(name).get('StateDirectory');
    return s ? `/var/lib/${s.at(-1)}` : undefined;
  };
  const under = (path: string, dir: string | undefined) => dir !== undefined && (path === dir || path.startsWith(`${dir}/`));

  it('puts the generated Linux outbox under the agent unit\'s StateDirectory', () => {
    expect(stateDir('linkwatch-agent.service')).toBe('/var/lib/linkwatch');
    expect(under(STATION_DIRS.linux.outbox, stateDir('linkwatch-agent.service'))).toBe(true);
    expect(service('linkwatch-agent.service').get('ProtectSystem')).toEqual(['strict']);
  });

  it('puts the example collector\'s dead letters under the collector unit\'s StateDirectory', () => {
    const example = YAML.parse(readFileSync(join(ROOT, 'deploy/examples/collector.yaml'), 'utf8')) as { dead_letter: { path: string } };
    expect(under(example.dead_letter.path, stateDir('linkwatch-collector.service'))).toBe(true);
  });

  it.each(['linkwatch-agent.service', 'linkwatch-collector.service', 'linkwatch-evaluator.service'])('%s: its working directory is made by systemd, and it names no ReadWritePaths= that may not exist', (name) => {
    const s = service(name);
    const wd = s.get('WorkingDirectory')?.at(-1);
    if (wd !== undefined) expect(wd).toBe(`%S/${s.get('StateDirectory')?.at(-1)}`);
    expect(s.get('ReadWritePaths')).toBeUndefined();
  });

  const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  it.skipIf(!analyze).each(['linkwatch-agent.service', 'linkwatch-collector.service', 'linkwatch-evaluator.service'])('%s: systemd-analyze verify knows every line', (name) => {
    const r = spawnSync('systemd-analyze', ['verify', join(UNITS, name)], { encoding: 'utf8', timeout: 30_000 });
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/Unknown (key|section)|Failed to parse|Invalid|not valid/i);
  });
});
