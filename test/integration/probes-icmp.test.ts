import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { icmpTarget, runIcmp } from '../../agent/probes/icmp.js';
import { tcpProbe, tcpTarget } from '../../agent/probes/tcp.js';
import type { ProbeContext } from '../../agent/probes/types.js';
import { IfaceWatcher, sessionSchema, type SessionEventOut } from '../../agent/sessions.js';

/**
 * ICMP against a host the test creates: a network namespace joined to this one by a veth pair, addresses in a
 * random 10.x/30 on the veth only. Loss is injected inside the namespace with iptables' statistic match.
 */
const id = randomInt(0, 0xffffff).toString(16).padStart(6, '0');
const NS = `lw-test-${id}`;
const HOST_IF = `lwt${id}a`;
const PEER_IF = `lwt${id}b`;
const NET = `10.${200 + randomInt(0, 50)}.${randomInt(0, 256)}.${4 * randomInt(0, 64)}`;
const octets = NET.split('.').map(Number);
const HOST_IP = [...octets.slice(0, 3), octets[3]! + 1].join('.');
const PEER_IP = [...octets.slice(0, 3), octets[3]! + 2].join('.');

const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (...args: string[]) => sh('ip', 'netns', 'exec', NS, ...args);

let skipReason: string | undefined;
try {
  if (process.platform !== 'linux') throw new Error(`network namespaces need Linux, this is ${process.platform}`);
  sh('ip', 'netns', 'add', NS);
  sh('iptables', '--version');
} catch (err) {
  skipReason = `cannot create a network namespace (${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim().split('\n')[0]})`;
  console.warn(`probes-icmp: SKIPPED: ${skipReason}`);
}
const skip = skipReason !== undefined;
const ctx = (): ProbeContext => ({ signal: AbortSignal.timeout(30_000), log: silentLogger(), timeoutMs: 1000 });

describe.skipIf(skip)(`ICMP in a network namespace${skip ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(() => {
    sh('ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', PEER_IF);
    sh('ip', 'link', 'set', PEER_IF, 'netns', NS);
    sh('ip', 'addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
    sh('ip', 'link', 'set', HOST_IF, 'up');
    inNs('ip', 'addr', 'add', `${PEER_IP}/30`, 'dev', PEER_IF);
    inNs('ip', 'link', 'set', PEER_IF, 'up');
    inNs('ip', 'link', 'set', 'lo', 'up');
  });
  afterAll(() => {
    // Deleting the namespace removes its iptables rules and the veth pair with it.
    for (const cmd of [['ip', 'netns', 'del', NS], ['ip', 'link', 'del', HOST_IF]]) {
      try {
        sh(...cmd);
      } catch {
        // already gone
      }
    }
  });

  it('measures no loss on a clean link', async () => {
    const r = await runIcmp(icmpTarget.parse({ name: 'ns', role: 'gateway', kind: 'icmp', host: PEER_IP, count: 20, spacing: '10ms' }), ctx());
    expect(r).toMatchObject({ ok: true, sent: 20, received: 20, loss: 0 });
    expect(r.rtt_avg_ms).toBeLessThan(5);
  });

  it('measures loss injected with iptables -m statistic within a 4-sigma binomial bound', async () => {
    const p = 0.3;
    const n = 400;
    inNs('iptables', '-A', 'INPUT', '-p', 'icmp', '--icmp-type', 'echo-request', '-m', 'statistic', '--mode', 'random', '--probability', String(p), '-j', 'DROP');
    try {
      const r = await runIcmp(icmpTarget.parse({ name: 'ns', role: 'gateway', kind: 'icmp', host: PEER_IP, count: n, spacing: '10ms' }), ctx());
      const sigma = Math.sqrt((p * (1 - p)) / n);
      console.log(`icmp: injected loss ${p}, measured ${r.loss} over ${r.sent} echoes (${r.received} replies), 4σ = ${(4 * sigma).toFixed(3)}`);
      expect(r.sent).toBe(n);
      expect(Math.abs(r.loss - p)).toBeLessThanOrEqual(4 * sigma);
    } finally {
      inNs('iptables', '-F', 'INPUT');
    }
  });

  it('reports a TCP port whose SYNs are dropped as timeout', async () => {
    inNs('iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-j', 'DROP');
    try {
      const r = await tcpProbe.run(tcpTarget.parse({ name: 't', role: 'core', kind: 'tcp', host: PEER_IP, port: 9, count: 1 }), { ...ctx(), timeoutMs: 300 });
      expect(r).toMatchObject({ ok: false, received: 0, error: 'timeout' });
    } finally {
      inNs('iptables', '-F', 'INPUT');
    }
  });

  it('measures a downed link as 100 % loss and counts the interface flap once', async () => {
    const events: SessionEventOut[] = [];
    const watcher = new IfaceWatcher(sessionSchema.parse({ name: 'lan', kind: 'iface', interface: HOST_IF, poll: '50ms' }) as never, { now: Date.now, log: silentLogger(), emit: (e) => events.push(e) });
    watcher.start();
    try {
      await watcher.poll();
      expect(watcher.current.phase).toBe('up');
      inNs('ip', 'link', 'set', PEER_IF, 'down');
      const r = await runIcmp(icmpTarget.parse({ name: 'ns', role: 'gateway', kind: 'icmp', host: PEER_IP, count: 10, spacing: '20ms' }), ctx());
      expect(r).toMatchObject({ ok: false, received: 0, loss: 1 });
      expect(['timeout', 'unreachable']).toContain(r.error);
      await watcher.poll();
      expect(watcher.current.phase).toBe('down');
      inNs('ip', 'link', 'set', PEER_IF, 'up');
      const t0 = Date.now();
      while (watcher.current.phase !== 'up' && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 20));
      const s = watcher.sample();
      expect(s).toMatchObject({ name: 'lan', up: true, drops: 1 });
      expect(s.down_ms).toBeGreaterThan(0);
      expect(events).toEqual([{ type: 'iface_flap', name: 'lan', detail: 'link_down', ts: expect.any(Number) }]);
    } finally {
      watcher.stop();
    }
  });
});
