import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AGENT_VERSION } from '../../agent/version.js';
import { formatAgentVersions } from '../../cli/status.js';
import { reportToLines, reportToPoints } from '../../collector/points.js';
import { report } from '../../protocol/report.js';

const station = { id: 'bk-cho-moi', name: 'Công an xã Chợ Mới', commune: 'Chợ Mới', district: 'Chợ Mới', province: 'Bắc Kạn', isp: 'VNPT', circuit: 'c1', lat: 22, lon: 105, sla_target: 99.5 };
const base = { v: 1, station: 'bk-cho-moi', seq: 7, ts: 1_780_000_000_000, interval_s: 10, probes: [] };

describe('agent version on the wire and in InfluxDB', () => {
  it('is package.json\'s version', () => {
    expect(AGENT_VERSION).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it('is optional in a report, so older agents stay accepted', () => {
    expect(report.safeParse(base).success).toBe(true);
    expect(report.parse({ ...base, agent_version: '0.2.0-rc.1' }).agent_version).toBe('0.2.0-rc.1');
  });

  it.each(['', 'x'.repeat(33), '0.1.0 "; DROP', '0.1.0\n'])('refuses a version that is not a version: %j', (v) => {
    expect(report.safeParse({ ...base, agent_version: v }).success).toBe(false);
  });

  it('is stored as a string field of the report point, by both ways of writing it', () => {
    const r = report.parse({ ...base, agent_version: '0.1.0' });
    const point = reportToPoints(r, station as never, r.ts + 5).find((p) => p.measurement === 'report')!;
    expect(point.fields!.agent_version).toBe('0.1.0');
    expect(reportToLines(r, station as never, r.ts + 5).lines).toMatch(/^report,.* agent_version="0\.1\.0",clock_offset_ms|^report,.* agent_version="0\.1\.0",cycle=/m);
    expect(reportToLines(report.parse(base), station as never, base.ts).lines).not.toMatch(/agent_version/);
  });
});

describe('formatAgentVersions', () => {
  it('counts stations per version, newest first, and names the stations on older ones', () => {
    const versions = { 'bk-a': '0.10.0', 'bk-b': '0.9.2', 'bk-c': '0.10.0', 'bk-d': '0.9.2', 'bk-e': '0.1.0' };
    expect(formatAgentVersions(versions)).toBe('agent versions: 0.10.0 × 2, 0.9.2 × 2 (bk-b, bk-d), 0.1.0 × 1 (bk-e)');
  });
});
