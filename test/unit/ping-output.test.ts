import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodePingBytes, parsePingOutput } from '../../agent/probes/ping-output.js';
import { summarizeRtts } from '../../agent/stats.js';

const fixture = (name: string) => decodePingBytes(readFileSync(new URL(`../fixtures/ping/${name}`, import.meta.url)));

interface Case {
  file: string;
  target: string;
  transmitted: number | undefined;
  rtts: number[];
  icmpErrors?: number;
  started?: boolean;
}

const cases: Case[] = [
  { file: 'linux-iputils-all-replies.txt', target: '10.254.77.2', transmitted: 5, rtts: [0.039, 0.047, 0.047, 0.045, 0.047] },
  { file: 'linux-iputils-partial-loss.txt', target: '10.254.77.2', transmitted: 10, rtts: [0.069, 0.058, 0.053, 0.054, 0.055, 0.054] },
  { file: 'linux-iputils-all-lost.txt', target: '10.254.77.2', transmitted: 5, rtts: [], icmpErrors: 0 },
  { file: 'linux-iputils-unreachable.txt', target: '10.254.78.5', transmitted: 8, rtts: [], icmpErrors: 6 },
  { file: 'linux-iputils-unknown-host.txt', target: '10.254.77.2', transmitted: undefined, rtts: [], started: false },
  { file: 'busybox-all-replies.txt', target: '10.254.77.2', transmitted: 5, rtts: [0.07, 0.081, 0.082, 0.079, 0.082] },
  { file: 'busybox-partial-loss.txt', target: '10.254.77.2', transmitted: 10, rtts: [0.07, 0.086, 0.072, 0.093, 0.088, 0.08, 0.079] },
  { file: 'busybox-all-lost.txt', target: '10.254.77.2', transmitted: 5, rtts: [], icmpErrors: 0 },
  { file: 'busybox-unreachable.txt', target: '10.254.78.5', transmitted: 8, rtts: [] },
  { file: 'busybox-unknown-host.txt', target: '10.254.77.2', transmitted: undefined, rtts: [], started: false },
  { file: 'windows-en-all-replies.txt', target: '127.0.0.1', transmitted: 4, rtts: [564, 555, 554, 548] },
  { file: 'windows-en-net-unreachable.txt', target: '8.8.8.8', transmitted: 4, rtts: [], icmpErrors: 1 },
  { file: 'windows-en-ttl-expired.txt', target: '8.8.8.8', transmitted: 4, rtts: [], icmpErrors: 1 },
  { file: 'windows-en-bad-option.txt', target: '8.8.8.8', transmitted: undefined, rtts: [], started: false },
  { file: 'windows-pl-all-replies.txt', target: '8.8.8.8', transmitted: 4, rtts: [49, 46, 48, 57] },
  { file: 'windows-pl-all-lost.txt', target: '195.187.242.157', transmitted: 4, rtts: [], icmpErrors: 0 },
  { file: 'windows-pl-partial-loss.txt', target: '66.6.44.4', transmitted: 9, rtts: [114, 114, 118, 114, 114, 119, 116] },
  { file: 'windows-pl-partial-loss.cp852.txt', target: '66.6.44.4', transmitted: 9, rtts: [114, 114, 118, 114, 114, 119, 116] },
  { file: 'windows-de-ipv6.txt', target: '2a00:1450:4001:810::2003', transmitted: 4, rtts: [11, 11, 18, 11] },
  { file: 'windows-de-ipv6.cp850.txt', target: '2a00:1450:4001:810::2003', transmitted: 4, rtts: [11, 11, 18, 11] },
  { file: 'windows-fr-all-replies.txt', target: '8.8.8.8', transmitted: 4, rtts: [6, 6, 6, 6] },
  { file: 'windows-fr-below-1ms.txt', target: '127.0.0.1', transmitted: 4, rtts: [0.5, 0.5, 0.5, 0.5] },
  { file: 'windows-zh-tw-all-replies.txt', target: '216.58.203.14', transmitted: 4, rtts: [2, 2, 3, 3] },
  { file: 'windows-zh-tw-all-replies.cp950.txt', target: '216.58.203.14', transmitted: 4, rtts: [2, 2, 3, 3] },
  { file: 'windows-zh-tw-below-1ms.txt', target: '127.0.0.1', transmitted: 4, rtts: [0.5, 0.5, 0.5, 0.5] },
  { file: 'windows-ja-all-replies.txt', target: '216.58.197.142', transmitted: 4, rtts: [7, 5, 4, 4] },
  { file: 'windows-ja-all-replies.cp932.txt', target: '216.58.197.142', transmitted: 4, rtts: [7, 5, 4, 4] },
  { file: 'windows-ru-all-replies.txt', target: '8.8.8.8', transmitted: 4, rtts: [37, 33, 38, 34] },
  { file: 'windows-ru-all-replies.cp866.txt', target: '8.8.8.8', transmitted: 4, rtts: [37, 33, 38, 34] },
];

describe('parsePingOutput on captured output', () => {
  it.each(cases)('reads $file: sent $transmitted, replies $rtts.length', (c) => {
    const out = parsePingOutput(fixture(c.file), c.target);
    expect(out.transmitted).toBe(c.transmitted);
    expect(out.rtts).toEqual(c.rtts);
    if (c.icmpErrors !== undefined) expect(out.icmpErrors).toBe(c.icmpErrors);
    expect(out.started).toBe(c.started ?? true);
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
