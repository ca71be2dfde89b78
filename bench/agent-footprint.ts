/**
 * Agent footprint: the real agent CLI as a child process, one station with 4 targets (ICMP to 127.0.0.1 twice, a
 * local TCP port, a local HTTP server), one held TCP session, one backlog folder and the host vitals, at a 10 s
 * interval, reporting through real mosquitto to a real collector and InfluxDB. Beside it, in the same run, a bare
 * `node -e "setInterval(()=>{},1000)"`. RSS and CPU come from /proc/<pid>/status and /proc/<pid>/stat; the agent's
 * CPU includes the `ping` processes it spawns (the reaped children's time).
 *
 * With `--baseline BIN` another build of the CLI (for example the commit before a change) runs beside it as a second
 * station with the same config, so before and after are measured in the same run.
 *
 *   node dist/bench/agent-footprint.js [--minutes 3] [--interval 10] [--baseline /path/to/old/bin/linkwatch.js]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, cpuSeconds, cpuWithChildren, machineLine, median, memoryMb, sleep, startFootprintStation, runBench, stopChildren, type FootprintStation } from './common.js';

const MINUTES = arg('minutes', 3);
const INTERVAL_S = arg('interval', 10);
// Startup (module loading, first connection) is not the steady state the budget is about.
const WARMUP_S = Math.min(30, MINUTES * 15);
const SAMPLE_MS = 2000;
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/linkwatch.js');
const STATION = 'bk-cho-moi-yen-dinh';
const BASELINE = arg('baseline', '');
const BASELINE_STATION = 'bk-cho-moi-thanh-mai';

const dir = mkdtempSync(join(tmpdir(), 'lw-bench-agent-'));
const children: ChildProcess[] = [];
let station: FootprintStation | undefined;

async function main() {
  console.log(`agent footprint: ${MINUTES} min at a ${INTERVAL_S} s interval (warm-up ${WARMUP_S} s excluded from the rates)`);
  console.log(`machine: ${machineLine()}`);


  station = await startFootprintStation(dir, [STATION, BASELINE_STATION]);


  const agent = spawn(process.execPath, [BIN, 'agent', '--config', station.agentConfig(STATION, INTERVAL_S)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const bare = spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' });
  children.push(agent, bare);
  const baseline = BASELINE ? spawn(process.execPath, [BASELINE, 'agent', '--config', station.agentConfig(BASELINE_STATION, INTERVAL_S)], { stdio: ['ignore', 'ignore', 'pipe'] }) : undefined;
  if (baseline) children.push(baseline);
  let baselineLog = '';
  baseline?.stderr!.on('data', (d: Buffer) => (baselineLog = (baselineLog + d.toString()).slice(-5000)));
  let agentLog = '';
  agent.stderr!.on('data', (d: Buffer) => (agentLog = (agentLog + d.toString()).slice(-5000)));
  const start = performance.now();

  const samples: Array<{ t: number; agent: number; bare: number; baseline: number }> = [];
  let warm: { t: number; agent: ReturnType<typeof cpuWithChildren>; bare: number; baseline: ReturnType<typeof cpuWithChildren> } | undefined;
  const endAt = start + MINUTES * 60_000;
  while (performance.now() < endAt) {
    await sleep(SAMPLE_MS);
    if (agent.exitCode !== null) throw new Error(`agent exited (${agent.exitCode}):\n${agentLog}`);
    if (baseline && baseline.exitCode !== null) throw new Error(`baseline agent exited (${baseline.exitCode}):\n${baselineLog}`);
    const t = (performance.now() - start) / 1000;
    samples.push({ t, agent: memoryMb(agent.pid!).rss, bare: memoryMb(bare.pid!).rss, baseline: baseline ? memoryMb(baseline.pid!).rss : NaN });
    if (!warm && t >= WARMUP_S) warm = { t, agent: cpuWithChildren(agent.pid!), bare: cpuSeconds(bare.pid!), baseline: baseline ? cpuWithChildren(baseline.pid!) : { self: 0, children: 0 } };
  }
  const t = (performance.now() - start) / 1000;
  const end = { agent: cpuWithChildren(agent.pid!), bare: cpuSeconds(bare.pid!), baseline: baseline ? cpuWithChildren(baseline.pid!) : { self: 0, children: 0 } };
  const hwm = { agent: memoryMb(agent.pid!).hwm, bare: memoryMb(bare.pid!).hwm, baseline: baseline ? memoryMb(baseline.pid!).hwm : NaN };
  const w = warm ?? { t: 0, agent: { self: 0, children: 0 }, bare: 0, baseline: { self: 0, children: 0 } };
  const steadyS = t - w.t;
  const perHour = (cpu: number) => (cpu / steadyS) * 3600;
  const agentSelf = perHour(end.agent.self - w.agent.self);
  // Reaped children only: a ping still running at the sample is counted at the next one, which evens out over minutes.
  const agentPings = perHour(end.agent.children - w.agent.children);
  const bareCpu = perHour(end.bare - w.bare);
  const steady = samples.filter((s) => s.t >= WARMUP_S);
  const rss = { agent: steady.map((s) => s.agent), bare: steady.map((s) => s.bare), baseline: steady.map((s) => s.baseline) };
  const agentRss = Math.max(...rss.agent);
  const bareRss = median(rss.bare);

  // The ingest's count: the writer's also counts the collector's own points (station status, its `collector` point).
  const stored = station.collector.ingest.stats.reports;
  console.log(`\nreports taken by the collector: ${stored} (expected about ${Math.floor((t * 1000) / (INTERVAL_S * 1000)) * (baseline ? 2 : 1)})`);
  console.log('\n| process | RSS median MB | RSS max MB (steady) | VmHWM MB | CPU-s per hour (own) | CPU-s per hour (pings) |');
  console.log('|---|---|---|---|---|---|');
  console.log(`| agent | ${median(rss.agent).toFixed(1)} | ${agentRss.toFixed(1)} | ${hwm.agent.toFixed(1)} | ${agentSelf.toFixed(1)} | ${agentPings.toFixed(1)} |`);
  if (baseline) {
    const self = perHour(end.baseline.self - w.baseline.self);
    const pings = perHour(end.baseline.children - w.baseline.children);
    console.log(`| agent, baseline build | ${median(rss.baseline).toFixed(1)} | ${Math.max(...rss.baseline).toFixed(1)} | ${hwm.baseline.toFixed(1)} | ${self.toFixed(1)} | ${pings.toFixed(1)} |`);
  }
  console.log(`| bare node | ${bareRss.toFixed(1)} | ${Math.max(...rss.bare).toFixed(1)} | ${hwm.bare.toFixed(1)} | ${bareCpu.toFixed(2)} | – |`);
  const over = agentRss - bareRss;
  const cpu = agentSelf + agentPings;
  console.log(`\nRSS: agent max ${agentRss.toFixed(1)} MB = bare node + ${over.toFixed(1)} MB — budget ≤ +30 MB: ${over <= 30 ? 'holds' : 'MISSED'}`);
  if (baseline) console.log(`RSS: baseline build max ${Math.max(...rss.baseline).toFixed(1)} MB = bare node + ${(Math.max(...rss.baseline) - bareRss).toFixed(1)} MB`);
  console.log(`CPU: ${cpu.toFixed(1)} CPU-s per hour (agent ${agentSelf.toFixed(1)} + pings ${agentPings.toFixed(1)}) over ${steadyS.toFixed(0)} s — budget ≤ 20: ${cpu <= 20 ? 'holds' : 'MISSED'}`);
}

async function cleanup() {
  await stopChildren(children);
  await station?.close();
  rmSync(dir, { recursive: true, force: true });
}

runBench(main, cleanup);
