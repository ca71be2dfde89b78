/**
 * `linkwatch collector --bounded-heap` bounds its own heap (`boundCollectorHeap` in collector/heap.ts, called first by
 * bin/linkwatch.js): V8 lets its old generation grow only HEAP_GROWING_PERCENT past what the last full GC kept alive,
 * instead of 3–4×, and keeps the young generation at its starting size. Without the option the collector leaves the
 * sizing to V8, for throughput (the option costs CPU: docs/performance.md). Measured inside the real `linkwatch collector`
 * process: test/fixtures/heap-probe.mjs is loaded into it with `--import` and, once the collector has started, keeps a
 * live set, collects, churns through promoted garbage and reports the most the old space held and the young
 * generation's size. Without the bound: 3.7× the live set, and a 16 MB young generation at idle. Nothing is timed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT } from '../../collector/heap.js';
import { startEnv, type TestEnv } from '../helpers/env.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const PROBE = join(ROOT, 'test/fixtures/heap-probe.mjs');

interface HeapFigures {
  live_bytes: number;
  peak_bytes: number;
  young_bytes: number;
}

/** Starts the real collector CLI with the probe loaded, lets it measure, and stops it. */
async function measure(env: TestEnv, extraArgs: string[], started: (c: ChildProcess) => void): Promise<HeapFigures> {
  const file = env.writeConfig('collector.yaml', env.collectorConfig({ log_level: 'info', evaluator: { enabled: false } }));
  const proc = spawn(process.execPath, ['--expose-gc', '--import', PROBE, join(ROOT, 'bin/linkwatch.js'), 'collector', '--config', file, ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  started(proc);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"msg":"collector started"')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`collector exited (${code}): ${out.slice(-2000)}`)));
  });
  const figures = new Promise<HeapFigures>((resolve) => proc.once('message', (m) => resolve(m as HeapFigures)));
  proc.send('measure');
  const f = await figures;
  // The IPC channel would keep the collector alive after SIGTERM.
  proc.disconnect();
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
  console.log(`collector ${extraArgs.join(' ') || '(no option)'}: ${(f.live_bytes / 1e6).toFixed(0)} MB live after a full GC, old space peaked at ${(f.peak_bytes / 1e6).toFixed(0)} MB (${(f.peak_bytes / f.live_bytes).toFixed(2)}×); young generation ${(f.young_bytes / 1e6).toFixed(1)} MB`);
  return f;
}

describe('the collector process', () => {
  let env: TestEnv;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    env = await startEnv({ mqttPersistence: false });
    env.writeRegistry([{ id: 'bk-cho-don-bang-lung', name: 'Công an thị trấn Bằng Lũng', commune: 'Bằng Lũng', district: 'Chợ Đồn', isp: 'Viettel' }]);
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    await env?.close();
  });

  it(`with --bounded-heap lets its old generation grow only ${HEAP_GROWING_PERCENT} % past what the last full GC kept alive, and its young generation not at all`, async () => {
    const { live_bytes, peak_bytes, young_bytes } = await measure(env, ['--bounded-heap'], (c) => (child = c));
    // HEAP_GROWING_PERCENT, or V8's minimum step of 16 MB where that is more, plus what a collection lets through.
    expect(peak_bytes).toBeLessThan(live_bytes * 1.5);
    // Two 1 MB semi-spaces as V8 starts them; grown, they reach 8 and then 16 MB each.
    expect(young_bytes).toBeLessThan(4 * 1024 * 1024);
  }, 120_000);

  it('without it leaves the sizing to V8 (the option is what bounds the heap, and it is off by default)', async () => {
    const { live_bytes, peak_bytes, young_bytes } = await measure(env, [], (c) => (child = c));
    // V8's own growing factor is 1.1–4 by its measured GC speed; loading the modules alone grows the semi-spaces to 8 MB.
    expect(peak_bytes > live_bytes * 1.5 || young_bytes >= 4 * 1024 * 1024).toBe(true);
  }, 120_000);
});
