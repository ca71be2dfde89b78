import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { icmpTarget, runIcmp } from '../../agent/probes/icmp.js';
import { tcpProbe, tcpTarget } from '../../agent/probes/tcp.js';
import type { ProbeContext, ProbeResult } from '../../agent/probes/types.js';
import { delayLineUnavailable, startDelayLine, type DelayLine } from '../helpers/delay-line.js';

/**
 * Issue 3: "a TCP target behind a delaying proxy measures the injected delay within 2 ms". A user-space proxy cannot
 * delay a handshake (the kernel answers the SYN) and this kernel has no netem, so the delay is injected per frame by
 * test/tools/delay-line.py in a namespace between this process and the target's (see test/helpers/delay-line.ts).
 * Baseline and delayed runs alternate, and each side's minimum over all its connects is compared: the minimum is
 * what the path costs when the scheduler does not get in the way, on a shared two-core machine.
 */
const skipReason = delayLineUnavailable();
if (skipReason) console.warn(`probes-delay: SKIPPED: ${skipReason}`);
const skip = skipReason !== undefined;
const TOLERANCE_MS = 2;
const ROUNDS = 3;
const PER_ROUND = 8;
const PORT = 20_000 + randomInt(0, 20_000);

const ctx = (timeoutMs = 1000): ProbeContext => ({ signal: AbortSignal.timeout(30_000), log: silentLogger(), timeoutMs });
const minOf = (rs: ProbeResult[]) => Math.min(...rs.map((r) => r.rtt_min_ms ?? Infinity));
const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.skipIf(skip)(`probes through a packet delay line${skip ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dl: DelayLine;
  beforeAll(async () => {
    dl = await startDelayLine();
    await dl.listenInTarget(PORT);
  });
  afterAll(async () => {
    if (!dl) return;
    const stats = await dl.stats().catch(() => undefined);
    console.log(`delay-line: ${dl.ready}; ${JSON.stringify(stats)}`);
    await dl.stop();
    const left = execFileSync('ip', ['netns', 'list']).toString();
    expect(dl.names.filter((n) => left.includes(n))).toEqual([]);
  });

  /** Alternates baseline and delayed rounds of `measure`; returns the minimum of each side. */
  async function compare(toTarget: number, toClient: number, measure: () => Promise<ProbeResult>) {
    const base: ProbeResult[] = [];
    const delayed: ProbeResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await dl.setDelay(0, 0);
      base.push(await measure());
      await dl.setDelay(toTarget, toClient);
      delayed.push(await measure());
    }
    await dl.setDelay(0, 0);
    for (const r of [...base, ...delayed]) expect(r).toMatchObject({ ok: true, loss: 0 });
    return { base: minOf(base), delayed: minOf(delayed), baseAvg: medianOf(base.map((r) => r.rtt_avg_ms!)), delayedAvg: medianOf(delayed.map((r) => r.rtt_avg_ms!)) };
  }

  const tcpRun = () =>
    tcpProbe.run(tcpTarget.parse({ name: 'dl', role: 'core', kind: 'tcp', host: dl.targetIp, port: PORT, count: PER_ROUND, spacing: '10ms' }), ctx());

  it.each([
    { toTarget: 20, toClient: 20, what: '20 ms each way' },
    { toTarget: 0, toClient: 40, what: '40 ms on the SYN-ACK only' },
    { toTarget: 5, toClient: 0, what: '5 ms on the SYN only' },
  ])('tcp: connect time grows by the injected delay within 2 ms ($what)', async ({ toTarget, toClient }) => {
    const injected = toTarget + toClient;
    const m = await compare(toTarget, toClient, tcpRun);
    const error = m.delayed - m.base - injected;
    console.log(
      `tcp ${toTarget}+${toClient} ms: baseline min ${m.base.toFixed(3)} ms, delayed min ${m.delayed.toFixed(3)} ms, ` +
        `measured ${(m.delayed - m.base).toFixed(3)} ms for ${injected} injected, error ${error.toFixed(3)} ms ` +
        `(${ROUNDS * PER_ROUND} connects each; median of round averages ${m.baseAvg.toFixed(3)} / ${m.delayedAvg.toFixed(3)} ms)`,
    );
    expect(Math.abs(error)).toBeLessThanOrEqual(TOLERANCE_MS);
  });

  it('icmp: echo RTT grows by the injected delay within 2 ms (20 ms each way)', async () => {
    const run = () => runIcmp(icmpTarget.parse({ name: 'dl', role: 'gateway', kind: 'icmp', host: dl.targetIp, count: PER_ROUND, spacing: '10ms' }), ctx());
    const m = await compare(20, 20, run);
    const error = m.delayed - m.base - 40;
    console.log(
      `icmp 20+20 ms: baseline min ${m.base.toFixed(3)} ms, delayed min ${m.delayed.toFixed(3)} ms, error ${error.toFixed(3)} ms ` +
        `(${ROUNDS * PER_ROUND} echoes each; median of round averages ${m.baseAvg.toFixed(3)} / ${m.delayedAvg.toFixed(3)} ms)`,
    );
    expect(Math.abs(error)).toBeLessThanOrEqual(TOLERANCE_MS);
  });

  it('tcp: a handshake delayed past the timeout is a timeout, not a crash', async () => {
    await dl.setDelay(0, 300);
    try {
      const r = await tcpProbe.run(tcpTarget.parse({ name: 'dl', role: 'core', kind: 'tcp', host: dl.targetIp, port: PORT, count: 1 }), ctx(100));
      expect(r).toMatchObject({ ok: false, received: 0, loss: 1, error: 'timeout' });
    } finally {
      await dl.setDelay(0, 0);
    }
  });
});
