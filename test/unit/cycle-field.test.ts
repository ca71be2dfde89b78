import { describe, expect, it } from 'vitest';
import { decodeCycle, encodeCycle } from '../../collector/cycle-field.js';
import { report } from '../../protocol/report.js';

const r = report.parse({
  v: 1, station: 'bk-cm-1', seq: 7, ts: 1_764_000_000_000, interval_s: 10,
  probes: [
    { target: 'vpn', role: 'core', kind: 'tcp', ok: false, sent: 1, received: 0, loss: 1, error: 'timeout' },
    { target: 'gw', role: 'gateway', kind: 'icmp', ok: true, sent: 5, received: 5, loss: 0, rtt_avg_ms: 0.62, jitter_ms: 0.1 },
  ],
  sessions: [{ name: 'vpn-ipsec', up: false, drops: 2, down_ms: 4000 }],
  backlog: [{ source: 'outbox-dir', pending: 3 }, { source: 'spool', bytes: 10 }],
  clock: { offset_ms: -1.5 },
});

describe('the cycle field', () => {
  it('says one report in one line: probes by role then target, absent values empty, backlog without a read value left out', () => {
    expect(encodeCycle(r)).toBe('1;10;-1.5;core,vpn,0,1,,|gateway,gw,1,0,0.62,0.1;vpn-ipsec,0,2;outbox-dir,3,');
  });

  it('reads back what it says', () => {
    expect(decodeCycle(encodeCycle(r), r.ts)).toEqual({
      ts: r.ts, interval_s: 10, clock_offset_ms: -1.5,
      probes: [{ target: 'vpn', role: 'core', ok: false, loss: 1 }, { target: 'gw', role: 'gateway', ok: true, loss: 0, rtt_ms: 0.62, jitter_ms: 0.1 }],
      sessions: [{ name: 'vpn-ipsec', up: false, drops: 2 }],
      backlog: [{ source: 'outbox-dir', pending: 3 }],
    });
  });

  it.each(['2;10;;;;', '1;10;;;', '', 'garbage'])('does not read %j (another version or not a cycle), so the reader falls back to the measurements', (text) => {
    expect(decodeCycle(text, 0)).toBeUndefined();
  });
});
