import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import type { HostSample } from '../protocol/report.js';
import { defaultInterface, readOperstate, type OperstateReader } from './netinfo.js';
import { operstateUp } from './sessions.js';

/** Busy and total CPU time summed over all cores (ms), as `os.cpus()` reports them. */
export interface CpuTimes {
  busy: number;
  total: number;
}

export function cpuTimes(cpus: ReadonlyArray<{ times: { user: number; nice: number; sys: number; idle: number; irq: number } }>): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times: t } of cpus) {
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

/** CPU use between two readings, in percent. Pure. */
export function cpuPercent(prev: CpuTimes, cur: CpuTimes): number | undefined {
  const total = cur.total - prev.total;
  if (total <= 0) return undefined;
  return Math.round(Math.max(0, Math.min(100, ((cur.busy - prev.busy) / total) * 100)) * 10) / 10;
}

export const memUsedPct = (total: number, free: number): number | undefined =>
  total > 0 ? Math.round(Math.max(0, Math.min(100, (1 - free / total) * 100)) * 10) / 10 : undefined;

export interface HostVitalsDeps {
  /** A path on the disk whose free space is reported (the outbox's). */
  diskPath: string;
  /** The interface to report; default: the OS's default interface, looked up once per `ifaceTtlMs`. */
  iface?: string;
  now?: () => number;
  readOperstate?: OperstateReader;
  defaultIface?: () => Promise<string>;
  ifaceTtlMs?: number;
}

/**
 * Free bytes on the disk holding `path`; a path not made yet (the outbox before its first report, `--once`) is asked
 * of its nearest existing parent.
 */
export async function freeBytes(path: string): Promise<number | undefined> {
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      const s = await statfs(p);
      return s.bavail * s.bsize;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) return undefined;
    }
  }
}

/**
 * Host vitals, cheaply: CPU from `os.cpus()` deltas, memory from `os`, free disk from one statfs, uptime from `os`;
 * the default interface (cached) and its operstate from agent/netinfo.ts (on Linux one procfs and one sysfs read,
 * elsewhere systeminformation). Measured on the CI box: about 1 ms of CPU per sample. `si.networkInterfaces()` is
 * avoided (about 140 ms and child processes per call).
 */
export class HostVitals {
  private prevCpu: CpuTimes = cpuTimes(os.cpus());
  private lastCpuPct: number | undefined;
  private iface: { name: string; at: number } | undefined;

  constructor(private readonly deps: HostVitalsDeps) {}

  private async ifaceName(): Promise<string | undefined> {
    if (this.deps.iface) return this.deps.iface;
    const now = (this.deps.now ?? Date.now)();
    if (this.iface && now - this.iface.at < (this.deps.ifaceTtlMs ?? 300_000)) return this.iface.name;
    const name = await (this.deps.defaultIface ?? defaultInterface)().catch(() => '');
    this.iface = name ? { name, at: now } : undefined;
    return name || undefined;
  }

  async sample(): Promise<HostSample> {
    const cur = cpuTimes(os.cpus());
    // os.cpus() counts in 10 ms ticks: two samples closer than that show no change, so keep the last figure.
    const fresh = cpuPercent(this.prevCpu, cur);
    if (fresh !== undefined) {
      this.prevCpu = cur;
      this.lastCpuPct = fresh;
    }
    const cpu = this.lastCpuPct;
    const mem = memUsedPct(os.totalmem(), os.freemem());
    const disk = await freeBytes(this.deps.diskPath);
    const iface = await this.ifaceName();
    let ifaceUp: boolean | undefined;
    if (iface) {
      const r = await (this.deps.readOperstate ?? readOperstate)(iface).catch(() => undefined);
      // An interface the OS does not have (or systeminformation's `unknown`) claims nothing either way.
      ifaceUp = r && r.iface === iface ? operstateUp(r.operstate) : undefined;
      if (ifaceUp === false) this.iface = undefined; // the default may have moved to another interface
    }
    return {
      ...(cpu !== undefined ? { cpu_pct: cpu } : {}),
      ...(mem !== undefined ? { mem_used_pct: mem } : {}),
      ...(disk !== undefined ? { disk_free_bytes: Math.floor(disk) } : {}),
      uptime_s: Math.round(os.uptime()),
      ...(iface ? { iface: iface.slice(0, 64) } : {}),
      ...(ifaceUp !== undefined ? { iface_up: ifaceUp } : {}),
    };
  }
}
