/**
 * The collector process bounds its own heap (`boundCollectorHeap` in collector/heap.ts, called first by
 * bin/linkwatch.js): V8 lets its old generation grow only HEAP_GROWING_PERCENT past what the last full GC kept alive,
 * instead of 3–4×, and keeps the young generation at its starting size. Measured inside the real `linkwatch collector`
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

describe('the collector process', () => {
  let env: TestEnv;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    env = await startEnv({ mqttPersistence: false });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    await env?.close();
  });

  it(`lets its old generation grow only ${HEAP_GROWING_PERCENT} % past what the last full GC kept alive, and its young generation not at all`, async () => {
    env.writeRegistry([{ id: 'bk-cho-don-bang-lung', name: 'Công an thị trấn Bằng Lũng', commune: 'Bằng Lũng', district: 'Chợ Đồn', isp: 'Viettel' }]);
    const file = env.writeConfig('collector.yaml', env.collectorConfig({ log_level: 'info', evaluator: { enabled: false } }));
    const proc = spawn(process.execPath, ['--expose-gc', '--import', PROBE, join(ROOT, 'bin/linkwatch.js'), 'collector', '--config', file], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    child = proc;
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
    const { live_bytes, peak_bytes, young_bytes } = await figures;
    // The IPC channel would keep the collector alive after SIGTERM.
    proc.disconnect();
    console.log(`collector process: ${(live_bytes / 1e6).toFixed(0)} MB live after a full GC, old space peaked at ${(peak_bytes / 1e6).toFixed(0)} MB (${(peak_bytes / live_bytes).toFixed(2)}×); young generation ${(young_bytes / 1e6).toFixed(1)} MB`);
    // HEAP_GROWING_PERCENT, or V8's minimum step of 16 MB where that is more, plus what a collection lets through.
    expect(peak_bytes).toBeLessThan(live_bytes * 1.5);
    // Two 1 MB semi-spaces as V8 starts them; grown, they reach 8 and then 16 MB each.
    expect(young_bytes).toBeLessThan(4 * 1024 * 1024);
  }, 120_000);
});
