import { mkdtempSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { GatewayResolver } from '../../agent/gateway.js';
import { freeBytes, HostVitals } from '../../agent/host.js';
import { formatReport } from '../../agent/once.js';
import { withGateway } from '../../agent/probes/index.js';
import { tcpProbe, tcpTarget } from '../../agent/probes/tcp.js';
import { close, listen, portOf } from '../helpers/probe-targets.js';
import type { Report } from '../../protocol/report.js';

const ctx = () => ({ signal: AbortSignal.timeout(10_000), log: silentLogger(), timeoutMs: 500 });

describe('host: auto', () => {
  it('probes the resolved gateway, and resolves it again after the probe failed', async () => {
    const server = await listen(createServer((s) => s.destroy()));
    const answers = ['127.0.0.1', '127.0.0.2'];
    let lookups = 0;
    const resolver = new GatewayResolver(async () => answers[Math.min(lookups++, 1)]);
    const probe = withGateway(tcpProbe, resolver);
    const target = tcpTarget.parse({ name: 'gw', role: 'gateway', kind: 'tcp', host: 'auto', port: portOf(server), count: 1 });
    expect(await probe.run(target, ctx())).toMatchObject({ ok: true });
    await close(server);
    const down = await probe.run(target, ctx());
    expect(down).toMatchObject({ ok: false, error: 'refused' });
    expect(down.detail).toMatch(/^127\.0\.0\.1: /);
    expect(lookups).toBe(1);
    await probe.run(target, ctx());
    expect(lookups).toBe(2);
  });

  it('reports a station without a default route as unreachable, not a crash', async () => {
    const probe = withGateway(tcpProbe, new GatewayResolver(async () => ''));
    const r = await probe.run(tcpTarget.parse({ name: 'gw', role: 'gateway', kind: 'tcp', host: 'auto', port: 80 }), ctx());
    expect(r).toMatchObject({ ok: false, error: 'unreachable', detail: 'no default gateway found' });
  });
});

describe('host vitals', () => {
  it('reports this machine: free space of the outbox disk, memory, uptime, the default interface up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lw-host-'));
    const host = new HostVitals({ diskPath: dir });
    await host.sample();
    await new Promise((r) => setTimeout(r, 100)); // os.cpus() moves in 10 ms ticks
    const before = process.cpuUsage();
    const n = 20;
    let s = await host.sample();
    for (let i = 1; i < n; i++) s = await host.sample();
    const used = process.cpuUsage(before);
    const cpuMs = (used.user + used.system) / 1000 / n;
    console.log(`host vitals: ${cpuMs.toFixed(2)} ms CPU per sample; ${JSON.stringify(s)}`);
    const fs = await statfs(dir);
    expect(Math.abs(s.disk_free_bytes! - fs.bavail * fs.bsize)).toBeLessThan(256 * 1024 * 1024);
    expect(s.mem_used_pct).toBeGreaterThan(0);
    expect(s.uptime_s).toBeGreaterThan(0);
    expect(s.cpu_pct).toBeGreaterThanOrEqual(0);
    expect(s.iface).toBeTruthy();
    expect(s.iface_up).toBe(true);
    // the agent's budget is 20 CPU-seconds an hour at a 10 s interval: 55 ms a cycle for everything
    expect(cpuMs).toBeLessThan(10);
  });

  it('claims nothing about a named interface the OS does not know', async () => {
    const host = new HostVitals({ diskPath: tmpdir(), iface: 'lw-none0' });
    const s = await host.sample();
    expect(s.iface).toBe('lw-none0');
    expect(s.iface_up).toBeUndefined();
  });
});

describe('--once table', () => {
  it('prints probes, phases, sessions, backlog and host in readable columns', () => {
    const r: Report = {
      v: 1, station: 'bk-cho-moi-yen-dinh', seq: 0, ts: Date.parse('2026-11-22T03:00:00Z'), interval_s: 10,
      probes: [
        { target: 'gw', role: 'gateway', kind: 'icmp', ok: true, sent: 5, received: 5, loss: 0, rtt_avg_ms: 0.8, rtt_p95_ms: 1.1, jitter_ms: 0.2 },
        { target: 'dancu', role: 'service', kind: 'http', ok: false, sent: 1, received: 1, loss: 0, rtt_avg_ms: 120, status: 503, error: 'http_status', phases: { dns_ms: 4, connect_ms: 30, tls_ms: 60, ttfb_ms: 26 }, cert_days: 41 },
      ],
      sessions: [{ name: 'dancu-tls', up: false, drops: 2, down_ms: 4100 }],
      backlog: [{ source: 'ho-so', pending: 37, bytes: 91234, oldest_age_s: 5400 }, { source: 'queue-api', error: 'ECONNREFUSED' }],
      host: { cpu_pct: 12.5, mem_used_pct: 61.2, disk_free_bytes: 41_200_000_000, uptime_s: 86_400, iface: 'Ethernet', iface_up: true },
      outbox: { depth: 0, dropped: 0 }, clock: {},
    };
    const out = formatReport(r);
    expect(out).toMatch(/dancu\s+service\s+http\s+http_status 503\s+0\s+120.0/);
    expect(out).toMatch(/dancu\s+4\.0\s+30\.0\s+60\.0\s+26\.0\s+41/);
    expect(out).toMatch(/dancu-tls\s+DOWN\s+2\s+4100/);
    expect(out).toMatch(/queue-api\s+-\s+-\s+-\s+ECONNREFUSED/);
    expect(out).toContain('disk free 41.2 GB');
    expect(out).toContain('iface Ethernet up');
  });
});

describe('free disk space', () => {
  it('asks the nearest existing parent of a path not made yet', async () => {
    const free = await freeBytes(join(tmpdir(), 'lw-not-made-yet', 'outbox'));
    expect(free).toBeGreaterThan(0);
    expect(free).toBe(await freeBytes(tmpdir()));
  });
});
