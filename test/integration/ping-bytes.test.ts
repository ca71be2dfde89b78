/**
 * The shell around the parser: `runPing` reads a child's output as bytes, whatever code page it is in and however the
 * pipe splits it. The child here is node replaying the CP936 bytes of a Simplified Chinese ping.exe (the fixture) in
 * chunks cut inside multi-byte characters, as a pipe may deliver them; ping.exe itself cannot run on the Linux CI.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pingResult, runPing } from '../../agent/probes/icmp.js';
import { parsePingOutput } from '../../agent/probes/ping-output.js';

const fixture = fileURLToPath(new URL('../fixtures/ping/windows-zh-cn-ipv6.cp936.txt', import.meta.url));

/** A child that writes `file` to stdout in chunks of `size` bytes, 20 ms apart, so each arrives on its own. */
function replay(file: string, size: number) {
  const script = `const b=require('fs').readFileSync(${JSON.stringify(file)});let i=0;const t=setInterval(()=>{process.stdout.write(b.subarray(i,i+${size}));i+=${size};if(i>=b.length)clearInterval(t)},20)`;
  return { file: process.execPath, args: ['-e', script], options: { windowsHide: true as const }, budgetMs: 10_000 };
}

describe('runPing on the bytes of a non-UTF-8 ping.exe', () => {
  it.each([[7], [64]])('reads every reply of CP936 output delivered in %d-byte chunks', async (size) => {
    // 7 is odd, so chunk edges fall inside two-byte GBK characters.
    const run = await runPing(replay(fixture, size), new AbortController().signal);
    expect(run.killed).toBe(false);
    expect(Buffer.from(run.output, 'latin1').equals(readFileSync(fixture))).toBe(true);
    const sample = pingResult(parsePingOutput(run.output, '240c::6644'), { killed: false, count: 4 });
    expect(sample).toMatchObject({ ok: true, sent: 4, received: 4, loss: 0, rtt_min_ms: 46, rtt_max_ms: 161 });
  });

  it('keeps the replies printed before the kill timer stopped a run that hung', async () => {
    // The header and two replies, then nothing: the child stays alive until runPing's budget (5 s) kills it.
    const bytes = readFileSync(fixture);
    let end = 0;
    for (let line = 0; line < 3; line++) end = bytes.indexOf('\r\n', end) + 2;
    const script = `process.stdout.write(require('fs').readFileSync(${JSON.stringify(fixture)}).subarray(0, ${end}));setInterval(() => {}, 1000)`;
    const run = await runPing({ file: process.execPath, args: ['-e', script], options: { windowsHide: true }, budgetMs: 5000 }, new AbortController().signal);
    expect(run.killed).toBe(true);
    const parsed = parsePingOutput(run.output, '240c::6644');
    expect(parsed.rtts).toEqual([161, 47]);
    expect(pingResult(parsed, { killed: true, count: 4 })).toMatchObject({ ok: true, sent: 4, received: 2, loss: 0.5 });
  });

  it('resolves with the error when node refuses to spawn ping at once, instead of throwing into the cycle', async () => {
    // Node throws, not emits, some spawn errors (EPERM when a service's bounding set lacks CAP_NET_RAW, or an argument
    // it cannot pass); a NUL byte in an argument is one that can be made anywhere, as any user.
    const run = await runPing({ file: process.execPath, args: ['-e', 'x\0y'], options: { windowsHide: true }, budgetMs: 5000 }, new AbortController().signal);
    expect(run.spawnError?.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(run.killed).toBe(false);
  });
});
