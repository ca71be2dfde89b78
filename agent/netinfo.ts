/**
 * The few network facts the agent needs from the OS: the default route's interface and gateway, and an interface's
 * operational state. On Linux they are two small file reads (`/proc/net/route`, `/sys/class/net/<if>/operstate`, the
 * same files systeminformation reads there); on Windows and macOS, and on a Linux host without an IPv4 default route,
 * systeminformation answers, loaded only then: the agent's steady footprint does not carry it where it is not needed
 * (docs/performance.md, "Agent footprint").
 */
import { readFile } from 'node:fs/promises';

/** Loaded on first use only. */
const si = async () => (await import('systeminformation')).default;

const RTF_UP = 0x1;

/** A little-endian hex IPv4 address of /proc/net/route (`010200C0` → `192.0.2.1`). */
function hexToIpv4(hex: string): string | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const n = Number.parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

/**
 * The IPv4 default route of `/proc/net/route` (proc(5)): the route that is up with destination and mask 0, lowest
 * metric first. Pure.
 */
export function parseProcNetRoute(text: string): { iface: string; gateway?: string } | undefined {
  let best: { iface: string; gateway?: string; metric: number } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, gw, flags, , , metric, mask] = f as [string, string, string, string, string, string, string, string];
    if (dest !== '00000000' || mask !== '00000000' || (Number.parseInt(flags, 16) & RTF_UP) === 0) continue;
    const m = Number(metric);
    if (best && best.metric <= m) continue;
    const gateway = hexToIpv4(gw);
    best = { iface, metric: m, ...(gateway && gateway !== '0.0.0.0' ? { gateway } : {}) };
  }
  return best ? { iface: best.iface, ...(best.gateway ? { gateway: best.gateway } : {}) } : undefined;
}

const linux = process.platform === 'linux';

async function linuxDefaultRoute(): Promise<{ iface: string; gateway?: string } | undefined> {
  return parseProcNetRoute(await readFile('/proc/net/route', 'utf8').catch(() => ''));
}

/** The name of the interface the default route leaves by; `''` when there is none. */
export async function defaultInterface(): Promise<string> {
  const route = linux ? await linuxDefaultRoute() : undefined;
  if (route) return route.iface;
  return (await si()).networkInterfaceDefault();
}

/** The default gateway's address as the OS reports it (`''` when none); see `pickGateway`. */
export async function defaultGateway(): Promise<unknown> {
  const route = linux ? await linuxDefaultRoute() : undefined;
  if (route?.gateway) return route.gateway;
  return (await si()).networkGatewayDefault();
}

/** Reads an interface's operstate; `undefined` for an interface the OS does not have. */
export type OperstateReader = (iface: string) => Promise<{ iface: string; operstate: unknown } | undefined>;

export const readOperstate: OperstateReader = async (iface) => {
  if (linux) {
    // A name is one path segment; anything else cannot be an interface.
    if (!iface || iface.includes('/') || iface === '.' || iface === '..') return undefined;
    const state = await readFile(`/sys/class/net/${iface}/operstate`, 'utf8').catch(() => undefined);
    return state === undefined ? undefined : { iface, operstate: state.trim() };
  }
  // systeminformation falls back to the default interface for an unknown name; callers compare `iface`.
  const s = (await (await si()).networkStats(iface))[0];
  return s ? { iface: s.iface, operstate: s.operstate } : undefined;
};
