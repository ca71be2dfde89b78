/**
 * The agent's default route from /proc/net/route (agent/netinfo.ts). Format: proc(5), "/proc/net/route", written by
 * the kernel's fib_route_seq_show() (net/ipv4/fib_trie.c): addresses in network byte order printed as host-order hex,
 * so little-endian on x86. The first fixture is this project's CI VM, captured with `cat /proc/net/route`.
 */
import { describe, expect, it } from 'vitest';
import { parseProcNetRoute } from '../../agent/netinfo.js';

const HEADER = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       ';
const CI_VM = [
  HEADER,
  'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0                                                                               ',
  'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0                                                                               ',
].join('\n');
// A station PC with wired and Wi-Fi uplinks, as NetworkManager sets them up (wired metric 100, Wi-Fi 600), plus a
// VPN route and a default route that is down.
const TWO_UPLINKS = [
  HEADER,
  'wlp2s0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0',
  'enp3s0\t00000000\t01000A0A\t0003\t0\t0\t100\t00000000\t0\t0\t0',
  'tun0\t00000A0A\t00000000\t0001\t0\t0\t50\t0000FFFF\t0\t0\t0',
  'enp4s0\t00000000\t0100A8C0\t0002\t0\t0\t10\t00000000\t0\t0\t0',
].join('\n');

describe('parseProcNetRoute', () => {
  it.each([
    { name: 'the CI VM', text: CI_VM, route: { iface: 'eth0', gateway: '192.0.2.1' } },
    { name: 'two uplinks: the lowest metric that is up', text: TWO_UPLINKS, route: { iface: 'enp3s0', gateway: '10.10.0.1' } },
    { name: 'a point-to-point default route has no gateway', text: `${HEADER}\nppp0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0`, route: { iface: 'ppp0' } },
    { name: 'no default route', text: CI_VM.split('\n').filter((l) => !l.includes('010200C0')).join('\n'), route: undefined },
    { name: 'empty (not Linux, or unreadable)', text: '', route: undefined },
  ])('$name', ({ text, route }) => {
    expect(parseProcNetRoute(text)).toEqual(route);
  });
});
