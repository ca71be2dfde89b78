import { describe, expect, it } from 'vitest';
import { globToRegExp, parseCount, readField, summarizeFiles } from '../../agent/backlog.js';
import { agentConfigSchema } from '../../agent/config.js';
import { GatewayResolver, pickGateway } from '../../agent/gateway.js';
import { cpuPercent, cpuTimes, memUsedPct } from '../../agent/host.js';
import { classifyDnsError } from '../../agent/probes/dns.js';
import { parseStatusRanges, statusExpected } from '../../agent/probes/http.js';
import { buildPingCommand, pingResult } from '../../agent/probes/icmp.js';
import { certDaysLeft } from '../../agent/probes/tls.js';
import { evolve, initialSession, operstateUp, reconnectDelay, takeSample, type SessionEvent } from '../../agent/sessions.js';

describe('buildPingCommand', () => {
  const opts = { count: 5, spacingMs: 200, timeoutMs: 1500 };
  it('on Linux: numeric, whole-second -W, count and interval, no deadline, in the C locale', () => {
    const c = buildPingCommand('10.0.0.1', opts, 'linux', { PATH: '/usr/bin' });
    expect(c.file).toBe('ping');
    expect(c.args).toEqual(['-n', '-W', '2', '-c', '5', '-i', '0.2', '10.0.0.1']);
    expect(c.options.env).toMatchObject({ LC_ALL: 'C', LANG: 'C', PATH: '/usr/bin' });
  });
  it('on Linux: pings an IPv6 address with the same ping, which takes the family from the address', () => {
    const c = buildPingCommand('2001:db8::1', opts, 'linux', {});
    expect([c.file, c.args.at(-1)]).toEqual(['ping', '2001:db8::1']);
  });
  it('on Windows: -n count and -w in milliseconds, no interval, deadline, -4 (Wine\'s ping.exe refuses it) or Linux flag', () => {
    const c = buildPingCommand('10.0.0.1', opts, 'win32', { SystemRoot: 'C:\\Windows' });
    expect(c.args).toEqual(['-n', '5', '-w', '1500', '10.0.0.1']);
    expect(c.args).not.toContain('-i');
    expect(c.args).not.toContain('-c');
    expect(c.file).toBe('C:\\Windows\\System32\\PING.EXE');
    expect(c.options).toEqual({ windowsHide: true });
  });
  it('on Windows: pings an IPv6 address with -6', () => {
    expect(buildPingCommand('2001:db8::1', opts, 'win32', {}).args[0]).toBe('-6');
  });
  it('on macOS: -W in milliseconds for IPv4, ping6 without one for IPv6', () => {
    expect(buildPingCommand('10.0.0.1', opts, 'darwin', {}).args).toEqual(['-n', '-W', '1500', '-c', '5', '-i', '0.2', '10.0.0.1']);
    const v6 = buildPingCommand('2001:db8::1', opts, 'darwin', {});
    expect([v6.file, v6.args]).toEqual(['/sbin/ping6', ['-n', '-c', '5', '-i', '0.2', '2001:db8::1']]);
  });
  it('sets a kill budget that covers every echo and the last timeout', () => {
    expect(buildPingCommand('10.0.0.1', opts, 'linux').budgetMs).toBe(3 * 5 * 200 + 1500 + 1000);
    // ping.exe spaces echoes by a second at least
    expect(buildPingCommand('10.0.0.1', opts, 'win32').budgetMs).toBe(3 * 5 * 1500 + 1500 + 1000);
  });
  it('never passes a sub-second timeout to Linux ping, which takes whole seconds', () => {
    expect(buildPingCommand('10.0.0.1', { ...opts, timeoutMs: 300 }, 'linux').args.slice(1, 3)).toEqual(['-W', '1']);
  });
});

describe('pingResult', () => {
  it('is ok with loss when some echoes came back', () => {
    expect(pingResult({ transmitted: 10, rtts: [1, 2, 3], icmpErrors: 0, started: true, message: [] }, { killed: false, count: 10 })).toMatchObject({ ok: true, sent: 10, received: 3, loss: 0.7 });
  });
  it('names ICMP errors from the path as unreachable', () => {
    expect(pingResult({ transmitted: 4, rtts: [], icmpErrors: 1, started: true, message: [] }, { killed: false, count: 4 })).toMatchObject({ ok: false, loss: 1, error: 'unreachable' });
  });
  it('counts the requested echoes as sent when the kill timer cut the statistics off', () => {
    expect(pingResult({ rtts: [], icmpErrors: 0, started: true, message: [] }, { killed: true, count: 5 })).toMatchObject({ sent: 5, loss: 1, error: 'timeout' });
  });
  it('reports output that never started as an error with its first line', () => {
    expect(pingResult({ rtts: [], icmpErrors: 0, started: false, message: ['Bad option -d.'] }, { killed: false, count: 5 })).toMatchObject({ error: 'error', detail: 'Bad option -d.' });
  });
});

describe('gateway', () => {
  it.each([
    ['192.168.1.1', '192.168.1.1'],
    [' 10.0.0.1 ', '10.0.0.1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['', undefined],
    ['0.0.0.0', undefined],
    [undefined, undefined],
    ['not an address', undefined],
  ])('picks %j as %j', (raw, expected) => expect(pickGateway(raw)).toBe(expected));

  it('resolves once, caches, and resolves again after invalidate', async () => {
    const answers = ['192.168.1.1', '192.168.2.1'];
    let calls = 0;
    const r = new GatewayResolver(async () => answers[calls++]);
    expect(await r.get()).toBe('192.168.1.1');
    expect(await r.get()).toBe('192.168.1.1');
    expect(calls).toBe(1);
    r.invalidate();
    expect(await r.get()).toBe('192.168.2.1');
  });

  it('accepts host: auto only on a gateway target of kind icmp or tcp', () => {
    const base = { station: 'x', broker: { url: 'mqtt://h' }, outbox: { path: '/tmp' } };
    expect(agentConfigSchema.safeParse({ ...base, targets: [{ name: 'gw', role: 'gateway', kind: 'icmp', host: 'auto' }] }).success).toBe(true);
    const bad = agentConfigSchema.safeParse({ ...base, targets: [{ name: 'gw', role: 'isp', kind: 'icmp', host: 'auto' }] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['targets', 0, 'host']);
  });
});

describe('http status ranges', () => {
  it.each([
    ['200-399', 302, true],
    ['200-399', 404, false],
    ['200,204', 204, true],
    ['200, 301-302', 303, false],
    [[200, '500-599'], 503, true],
  ] as const)('%j accepts %i: %s', (spec, status, ok) => expect(statusExpected(status, parseStatusRanges(spec as never))).toBe(ok));
  it.each(['2xx', '399-200', '20'])('refuses %j', (spec) => expect(() => parseStatusRanges(spec)).toThrow(RangeError));
});

describe('certDaysLeft', () => {
  const now = Date.parse('2026-11-22T00:00:00Z');
  it.each([
    ['Dec 22 00:00:00 2026 GMT', 30],
    ['Nov 20 00:00:00 2026 GMT', -2],
    ['Nov 22 12:00:00 2026 GMT', 0.5],
  ])('%s is %f days away', (validTo, days) => expect(certDaysLeft(validTo, now)).toBe(days));
  it('is undefined for an unreadable date', () => expect(certDaysLeft('garbage', now)).toBeUndefined());
});

describe('classifyDnsError', () => {
  it.each([
    ['ENOTFOUND', 'dns_error', 'NXDOMAIN'],
    ['ESERVFAIL', 'dns_error', 'SERVFAIL'],
    ['EREFUSED', 'dns_error', 'REFUSED'],
    ['ENODATA', 'dns_error', 'NODATA'],
    ['ETIMEOUT', 'timeout', undefined],
    ['ECONNREFUSED', 'refused', undefined],
  ])('%s → %s %s', (code, error, rcode) => {
    const c = classifyDnsError(code);
    expect(c.error).toBe(error);
    expect(c.rcode?.name).toBe(rcode);
  });
});

describe('session state machine', () => {
  const run = (events: SessionEvent[], at0 = 0) => events.reduce(evolve, initialSession(at0));

  it('counts a drop only when an established session goes down', () => {
    const s = run([{ type: 'up', at: 0 }, { type: 'down', at: 100, cause: 'reset' }, { type: 'failed', at: 200, cause: 'refused' }, { type: 'up', at: 1100 }]);
    expect(s).toMatchObject({ phase: 'up', drops: 1, downMs: 1000, failures: 0 });
  });

  it('does not count a session that never came up as a drop, but counts its downtime', () => {
    const s = run([{ type: 'failed', at: 0, cause: 'refused' }, { type: 'failed', at: 500, cause: 'refused' }]);
    const { sample } = takeSample('x', s, 2000);
    expect(sample).toEqual({ name: 'x', up: false, drops: 0, down_ms: 2000 });
    expect(s.failures).toBe(2);
  });

  it('splits downtime across reports and restarts the counters each report', () => {
    const s = run([{ type: 'up', at: 0 }, { type: 'down', at: 1000, cause: 'close' }]);
    const first = takeSample('x', s, 4000);
    expect(first.sample).toEqual({ name: 'x', up: false, drops: 1, down_ms: 3000 });
    const back = evolve(first.next, { type: 'up', at: 5500 });
    expect(takeSample('x', back, 14000).sample).toEqual({ name: 'x', up: true, drops: 0, down_ms: 1500 });
  });

  it('counts each of several drops in one interval', () => {
    const s = run([
      { type: 'up', at: 0 }, { type: 'down', at: 10, cause: 'reset' }, { type: 'up', at: 20 },
      { type: 'down', at: 30, cause: 'close' }, { type: 'up', at: 45 }, { type: 'down', at: 50, cause: 'timeout' }, { type: 'up', at: 50 },
    ]);
    expect(takeSample('x', s, 100).sample).toEqual({ name: 'x', up: true, drops: 3, down_ms: 25 });
  });

  it('backs off reconnects exponentially up to a cap', () => {
    const s = (failures: number) => ({ ...initialSession(0), failures });
    expect([1, 2, 3, 4, 10].map((f) => reconnectDelay(s(f), 1000, 5000))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it.each([['up', true], ['down', false], ['lowerlayerdown', false], ['unknown', undefined], [undefined, undefined]])('operstate %j is up: %j', (o, up) => expect(operstateUp(o)).toBe(up));
});

describe('backlog calculations', () => {
  it('summarises files: count, bytes and the age of the oldest', () => {
    expect(summarizeFiles([{ size: 10, mtimeMs: 1000 }, { size: 5, mtimeMs: 61_000 }], 121_000)).toEqual({ pending: 2, bytes: 15, oldest_age_s: 120 });
    expect(summarizeFiles([], 0)).toEqual({ pending: 0, bytes: 0 });
  });
  it.each([
    [{ pending: 7 }, 'pending', 7],
    [{ data: { pending: '12' } }, 'data.pending', 12],
    [{ queues: [{ size: 3 }] }, 'queues.0.size', 3],
  ])('reads %j at %s', (data, path, value) => expect(readField(data, path)).toEqual({ value }));
  it.each([
    [{ data: {} }, 'data.pending'],
    [{ pending: null }, 'pending'],
    [{ pending: 'many' }, 'pending'],
    [{ pending: -1 }, 'pending'],
  ])('refuses %j at %s instead of reading zero', (data, path) => expect(readField(data, path)).toHaveProperty('error'));
  it.each([
    ['42\n', 42],
    ['pending: 17 records\r\n', 17],
    ['  0 ', 0],
  ])('reads the count printed as %j', (out, n) => expect(parseCount(out)).toEqual({ value: n }));
  it('refuses output with no number', () => expect(parseCount('queue unavailable')).toHaveProperty('error'));
  it('matches simple globs case-insensitively', () => {
    const re = globToRegExp('HS_*.xml');
    expect(['HS_1.xml', 'hs_22.XML'].every((n) => re.test(n))).toBe(true);
    expect(['HS_1.xml.tmp', 'xHS_1.xml'].some((n) => re.test(n))).toBe(false);
  });
});

describe('host calculations', () => {
  const cpu = (user: number, idle: number) => ({ times: { user, nice: 0, sys: 0, idle, irq: 0 } });
  it('computes CPU use between two readings over all cores', () => {
    const a = cpuTimes([cpu(100, 900), cpu(100, 900)]);
    const b = cpuTimes([cpu(150, 950), cpu(200, 900)]);
    expect(cpuPercent(a, b)).toBe(75);
    expect(cpuPercent(b, b)).toBeUndefined();
  });
  it('computes memory use in percent', () => expect(memUsedPct(8e9, 2e9)).toBe(75));
});
