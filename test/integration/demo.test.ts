import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { demoProvince, runDemo, slug } from '../../cli/demo.js';
import { tempDir } from '../helpers/env.js';

describe('linkwatch demo', () => {
  it('builds a province of real Bắc Kạn districts with unique ids', () => {
    const stations = demoProvince(20);
    expect(stations).toHaveLength(20);
    expect(new Set(stations.map((s) => s.id)).size).toBe(20);
    expect(new Set(stations.map((s) => s.district.name)).size).toBe(8);
    expect(stations.map((s) => s.district.name)).toContain('Chợ Mới');
    expect(slug('Thành phố Bắc Kạn')).toBe('thanh-pho-bac-kan');
  });

  it('runs broker, InfluxDB, collector and agents, prints what it reads back, and leaves nothing running', async () => {
    const lines: string[] = [];
    const dir = tempDir('lw-demo-');
    let pids: number[] = [];
    await runDemo({
      stations: 4, intervalS: 2, durationS: 14, dir, until: new Promise(() => {}),
      out: (t) => {
        lines.push(t);
        const m = /mosquitto .* \(pid (\d+)\), influxd .* \(pid (\d+)\)/.exec(t);
        if (m) pids = [Number(m[1]), Number(m[2])];
      },
    });
    const text = lines.join('\n');
    expect(text).toContain('Công an xã Đức Xuân');
    expect(text).toContain('Thành phố Bắc Kạn');
    // Latency read back from InfluxDB for every station, and verdicts once the evaluator has run.
    expect(text).toMatch(/Công an xã Chợ Rã\s+Ba Bể\s+VNPT\s+[\d.]+ms 0%/);
    expect(text).toMatch(/All 4 stations ok|stations not ok/);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(dir)).toBe(true); // a --dir the user gave is kept
  });
});
