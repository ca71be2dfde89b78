import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pingResult } from '../../agent/probes/icmp.js';
import { decodePingBytes, parsePingOutput, readableLine } from '../../agent/probes/ping-output.js';
import { summarizeRtts } from '../../agent/stats.js';

const fixture = (name: string) => decodePingBytes(readFileSync(new URL(`../fixtures/ping/${name}`, import.meta.url)));

type Status = 'ok' | 'timeout' | 'unreachable' | 'error';
interface Case {
  file: string;
  target: string;
  transmitted: number | undefined;
  rtts: number[];
  /** What the probe reports: `ok`, or the `error` of a failed sample. */
  status: Status;
  /** Loss the probe reports (5 echoes asked for when ping printed no statistics). */
  loss: number;
  icmpErrors?: number;
  started?: boolean;
}

const cases: Case[] = [
  // Captured here (see the README)
  { file: 'linux-iputils-all-replies.txt', target: '10.254.77.2', transmitted: 5, rtts: [0.039, 0.047, 0.047, 0.045, 0.047], status: 'ok', loss: 0 },
  { file: 'linux-iputils-partial-loss.txt', target: '10.254.77.2', transmitted: 10, rtts: [0.069, 0.058, 0.053, 0.054, 0.055, 0.054], status: 'ok', loss: 0.4 },
  { file: 'linux-iputils-all-lost.txt', target: '10.254.77.2', transmitted: 5, rtts: [], icmpErrors: 0, status: 'timeout', loss: 1 },
  { file: 'linux-iputils-unreachable.txt', target: '10.254.78.5', transmitted: 8, rtts: [], icmpErrors: 6, status: 'unreachable', loss: 1 },
  { file: 'linux-iputils-unknown-host.txt', target: '10.254.77.2', transmitted: undefined, rtts: [], started: false, status: 'error', loss: 1 },
  { file: 'linux-iputils-no-permission.txt', target: '127.0.0.1', transmitted: undefined, rtts: [], started: false, status: 'error', loss: 1 },
  { file: 'busybox-all-replies.txt', target: '10.254.77.2', transmitted: 5, rtts: [0.07, 0.081, 0.082, 0.079, 0.082], status: 'ok', loss: 0 },
  { file: 'busybox-partial-loss.txt', target: '10.254.77.2', transmitted: 10, rtts: [0.07, 0.086, 0.072, 0.093, 0.088, 0.08, 0.079], status: 'ok', loss: 0.3 },
  { file: 'busybox-all-lost.txt', target: '10.254.77.2', transmitted: 5, rtts: [], icmpErrors: 0, status: 'timeout', loss: 1 },
  { file: 'busybox-unreachable.txt', target: '10.254.78.5', transmitted: 8, rtts: [], icmpErrors: 0, status: 'timeout', loss: 1 },
  { file: 'busybox-unknown-host.txt', target: '10.254.77.2', transmitted: undefined, rtts: [], started: false, status: 'error', loss: 1 },
  // iputils, busybox and macOS captured by others
  { file: 'linux-iputils-gateway-unreachable.txt', target: '10.0.3.22', transmitted: 3, rtts: [], icmpErrors: 3, status: 'unreachable', loss: 1 },
  { file: 'linux-iputils-ipv6-hostname.txt', target: '2606:4700:4700::1111', transmitted: 2, rtts: [1.66, 1.42], status: 'ok', loss: 0 },
  { file: 'linux-iputils-ipv6-address-unreachable.txt', target: '2001:4ca0:0:107::a9c:ca0b', transmitted: 4, rtts: [], icmpErrors: 1, status: 'unreachable', loss: 1 },
  { file: 'busybox-alpine-all-replies.txt', target: '8.8.8.8', transmitted: 1, rtts: [1.637], status: 'ok', loss: 0 },
  { file: 'busybox-permission-denied.txt', target: '1.1.1.1', transmitted: undefined, rtts: [], icmpErrors: 0, status: 'error', loss: 1 },
  { file: 'macos-all-replies.txt', target: '127.0.0.1', transmitted: 3, rtts: [0.052, 0.095, 0.05], status: 'ok', loss: 0 },
  { file: 'macos-ipv6-all-replies.txt', target: '::1', transmitted: 3, rtts: [0.071, 0.153, 0.122], status: 'ok', loss: 0 },
  { file: 'macos-unreachable-from-target.txt', target: '192.168.1.220', transmitted: 8, rtts: [], icmpErrors: 6, status: 'unreachable', loss: 1 },
  // Windows ping.exe
  { file: 'windows-en-all-replies.txt', target: '127.0.0.1', transmitted: 4, rtts: [564, 555, 554, 548], status: 'ok', loss: 0 },
  { file: 'windows-en-net-unreachable.txt', target: '8.8.8.8', transmitted: 4, rtts: [], icmpErrors: 1, status: 'unreachable', loss: 1 },
  { file: 'windows-en-ttl-expired.txt', target: '8.8.8.8', transmitted: 4, rtts: [], icmpErrors: 1, status: 'unreachable', loss: 1 },
  { file: 'windows-en-host-unreachable-from-self.txt', target: '192.168.1.72', transmitted: 4, rtts: [], icmpErrors: 4, status: 'unreachable', loss: 1 },
  { file: 'windows-en-general-failure.txt', target: '192.168.192.1', transmitted: 3, rtts: [], icmpErrors: 1, status: 'unreachable', loss: 1 },
  { file: 'windows-en-bad-option.txt', target: '8.8.8.8', transmitted: undefined, rtts: [], started: false, status: 'error', loss: 1 },
  { file: 'windows-pl-all-replies.txt', target: '8.8.8.8', transmitted: 4, rtts: [49, 46, 48, 57], status: 'ok', loss: 0 },
  { file: 'windows-pl-all-lost.txt', target: '195.187.242.157', transmitted: 4, rtts: [], icmpErrors: 0, status: 'timeout', loss: 1 },
  { file: 'windows-pl-partial-loss.txt', target: '66.6.44.4', transmitted: 9, rtts: [114, 114, 118, 114, 114, 119, 116], status: 'ok', loss: 0.222 },
  { file: 'windows-pl-partial-loss.cp852.txt', target: '66.6.44.4', transmitted: 9, rtts: [114, 114, 118, 114, 114, 119, 116], status: 'ok', loss: 0.222 },
  { file: 'windows-de-ipv6.txt', target: '2a00:1450:4001:810::2003', transmitted: 4, rtts: [11, 11, 18, 11], status: 'ok', loss: 0 },
  { file: 'windows-de-ipv6.cp850.txt', target: '2a00:1450:4001:810::2003', transmitted: 4, rtts: [11, 11, 18, 11], status: 'ok', loss: 0 },
  { file: 'windows-fr-all-replies.txt', target: '8.8.8.8', transmitted: 4, rtts: [6, 6, 6, 6], status: 'ok', loss: 0 },
  { file: 'windows-fr-below-1ms.txt', target: '127.0.0.1', transmitted: 4, rtts: [0.5, 0.5, 0.5, 0.5], status: 'ok', loss: 0 },
  { file: 'windows-it-split-below-1ms.txt', target: '192.168.1.139', transmitted: 1, rtts: [0.5], status: 'ok', loss: 0 },
  { file: 'windows-it-split-below-1ms.cp850.txt', target: '192.168.1.139', transmitted: 1, rtts: [0.5], status: 'ok', loss: 0 },
  { file: 'windows-zh-tw-all-replies.txt', target: '216.58.203.14', transmitted: 4, rtts: [2, 2, 3, 3], status: 'ok', loss: 0 },
  { file: 'windows-zh-tw-all-replies.cp950.txt', target: '216.58.203.14', transmitted: 4, rtts: [2, 2, 3, 3], status: 'ok', loss: 0 },
  { file: 'windows-zh-tw-below-1ms.txt', target: '127.0.0.1', transmitted: 4, rtts: [0.5, 0.5, 0.5, 0.5], status: 'ok', loss: 0 },
  { file: 'windows-zh-cn-ipv4-all-replies.txt', target: '180.97.33.107', transmitted: 4, rtts: [7, 6, 5, 10], status: 'ok', loss: 0 },
  { file: 'windows-zh-cn-ipv6.txt', target: '240c::6644', transmitted: 4, rtts: [161, 47, 46, 46], status: 'ok', loss: 0 },
  { file: 'windows-zh-cn-ipv6.cp936.txt', target: '240c::6644', transmitted: 4, rtts: [161, 47, 46, 46], status: 'ok', loss: 0 },
  { file: 'windows-zh-cn-ipv6-partial-loss.txt', target: '2620:1ec:33:1::10', transmitted: 19, rtts: [41, 52, 41, 48, 50, 40, 39, 41, 41, 41, 42, 41, 48, 42, 42, 41, 40, 41], status: 'ok', loss: 0.053 },
  { file: 'windows-ja-all-replies.txt', target: '216.58.197.142', transmitted: 4, rtts: [7, 5, 4, 4], status: 'ok', loss: 0 },
  { file: 'windows-ja-all-replies.cp932.txt', target: '216.58.197.142', transmitted: 4, rtts: [7, 5, 4, 4], status: 'ok', loss: 0 },
  { file: 'windows-ja-ipv4-all-replies.txt', target: '8.8.8.8', transmitted: 4, rtts: [4, 4, 5, 6], status: 'ok', loss: 0 },
  { file: 'windows-ja-ipv6-link-local.txt', target: 'fe80::35e:6cf:fe79:ce%3', transmitted: 4, rtts: [3, 0.5, 0.5, 0.5], status: 'ok', loss: 0 },
  { file: 'windows-ja-ipv6-link-local.cp932.txt', target: 'fe80::35e:6cf:fe79:ce%3', transmitted: 4, rtts: [3, 0.5, 0.5, 0.5], status: 'ok', loss: 0 },
  { file: 'windows-ru-all-replies.txt', target: '8.8.8.8', transmitted: 4, rtts: [37, 33, 38, 34], status: 'ok', loss: 0 },
  { file: 'windows-ru-all-replies.cp866.txt', target: '8.8.8.8', transmitted: 4, rtts: [37, 33, 38, 34], status: 'ok', loss: 0 },
];

describe('parsePingOutput on captured output', () => {
  it.each(cases)('reads $file: sent $transmitted, replies $rtts.length, $status', (c) => {
    const out = parsePingOutput(fixture(c.file), c.target);
    expect(out.transmitted).toBe(c.transmitted);
    expect(out.rtts).toEqual(c.rtts);
    if (c.icmpErrors !== undefined) expect(out.icmpErrors).toBe(c.icmpErrors);
    expect(out.started).toBe(c.started ?? true);
    const sample = pingResult(out, { killed: false, count: 5 });
    expect(sample.ok ? 'ok' : sample.error).toBe(c.status);
    expect(sample.loss).toBe(c.loss);
    expect(sample.received).toBe(c.rtts.length);
  });

  it('covers every fixture in the folder', async () => {
    const { readdirSync } = await import('node:fs');
    const files = readdirSync(new URL('../fixtures/ping/', import.meta.url)).filter((f) => f.endsWith('.txt'));
    expect(files.filter((f) => !cases.some((c) => c.file === f))).toEqual([]);
  });

  it('agrees with the statistics iputils printed for min/avg/max', () => {
    const out = parsePingOutput(fixture('linux-iputils-partial-loss.txt'), '10.254.77.2');
    const s = summarizeRtts(out.rtts, out.transmitted!);
    // rtt min/avg/max/mdev = 0.053/0.057/0.069/0.005 ms; 40% packet loss
    expect([s.rtt_min_ms, s.rtt_avg_ms, s.rtt_max_ms]).toEqual([0.053, 0.057, 0.069]);
    expect(s.loss).toBe(0.4);
  });

  it('agrees with the statistics ping.exe printed in Polish (min 114, max 119, 22 % loss)', () => {
    const out = parsePingOutput(fixture('windows-pl-partial-loss.cp852.txt'), '66.6.44.4');
    const s = summarizeRtts(out.rtts, out.transmitted!);
    expect([s.rtt_min_ms, s.rtt_max_ms, Math.round(s.loss * 100)]).toEqual([114, 119, 22]);
  });

  it('does not count an unreachable reply as an echo reply, unlike ping.exe\'s own "Received = 1"', () => {
    const out = parsePingOutput(fixture('windows-en-net-unreachable.txt'), '8.8.8.8');
    expect(summarizeRtts(out.rtts, out.transmitted!).loss).toBe(1);
  });

  it('ignores a duplicated reply', () => {
    const text = 'PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.5 ms\n64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.6 ms (DUP!)\n';
    expect(parsePingOutput(text, '10.0.0.2').rtts).toEqual([0.5]);
  });

  it('reads replies of a run cut short by the kill timer, with no statistics', () => {
    const full = fixture('linux-iputils-all-replies.txt');
    const cut = full.slice(0, full.indexOf('icmp_seq=3'));
    const out = parsePingOutput(cut, '10.254.77.2');
    expect(out.transmitted).toBeUndefined();
    expect(out.rtts).toEqual([0.039, 0.047]);
  });
});

describe('what ping said when it failed', () => {
  it('keeps every line of an iputils refusal, including the one that says what to do', () => {
    const out = parsePingOutput(fixture('linux-iputils-no-permission.txt'), '127.0.0.1');
    const sample = pingResult(out, { killed: false, count: 5 });
    expect(sample.error).toBe('error');
    expect(sample.detail).toBe('ping: socktype: SOCK_RAW | ping: socket: Operation not permitted | ping: => missing cap_net_raw+p capability or setuid?');
  });

  it('reads a busybox "permission denied" after its header as an error, not as a silent target', () => {
    const sample = pingResult(parsePingOutput(fixture('busybox-permission-denied.txt'), '1.1.1.1'), { killed: false, count: 5 });
    expect(sample).toMatchObject({ ok: false, error: 'error', detail: 'ping: permission denied (are you root?)' });
  });

  it("keeps only ping.exe's first paragraph of a bad option, not its usage text", () => {
    const sample = pingResult(parsePingOutput(fixture('windows-en-bad-option.txt'), '8.8.8.8'), { killed: false, count: 5 });
    expect(sample.detail).toBe('Bad option -d.');
  });

  it('ignores an iputils warning when echoes are simply lost', () => {
    const text = 'ping: Warning: time of day goes back (-3us), taking countermeasures\nPING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n\n--- 10.0.0.2 ping statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 2040ms\n';
    expect(pingResult(parsePingOutput(text, '10.0.0.2'), { killed: false, count: 3 }).error).toBe('timeout');
  });

  it('shows UTF-8 as it is and the unknown bytes of an OEM code page as ?', () => {
    expect(readableLine(decodePingBytes(Buffer.from('Zeitüberschreitung', 'utf8')))).toBe('Zeitüberschreitung');
    expect(readableLine(decodePingBytes(Buffer.from([0x50, 0x49, 0x4e, 0x47, 0x3a, 0x20, 0xb4, 0xab, 0xca, 0xe4])))).toBe('PING: ?');
  });
});

describe('Windows statistics read by their arithmetic', () => {
  it('reads the sent count of Italian statistics split over two lines, not the 0 = 0 + 0 of sub-millisecond times', () => {
    // The old reading took `Minimo = 0ms, Massimo = 0ms, Medio = 0ms` for sent = received + lost, so sent was 0
    // and every lost echo vanished from the loss.
    const out = parsePingOutput(fixture('windows-it-split-below-1ms.cp850.txt'), '192.168.1.139');
    expect(out.transmitted).toBe(1);
  });

  it('counts a lost echo of a Chinese IPv6 run (19 sent, 18 replies)', () => {
    const out = parsePingOutput(fixture('windows-zh-cn-ipv6-partial-loss.txt'), '2620:1ec:33:1::10');
    expect(summarizeRtts(out.rtts, out.transmitted!).loss).toBe(0.053);
  });

  it('keeps the GBK bytes ping.exe writes on a Simplified Chinese Windows (正在 = D5 FD D4 DA, as seen in red/red#2473)', () => {
    const bytes = readFileSync(new URL('../fixtures/ping/windows-zh-cn-ipv6.cp936.txt', import.meta.url));
    expect(bytes.subarray(0, 4).toString('hex')).toBe('d5fdd4da');
  });
});
