import { describe, expect, it } from 'vitest';
import { decideWatchdog, evolveWatchdog, initialWatchdog, type WatchdogEvent, type WatchdogState } from '../../collector/watchdog.js';
import { pipelineState } from '../../collector/verdict/pipeline.js';
import { healthOf } from '../../collector/self-health.js';

const DEAF_AFTER = 10_000;
const fold = (events: WatchdogEvent[], start = 0): WatchdogState => events.reduce(evolveWatchdog, initialWatchdog(start));

describe('the pipeline watchdog', () => {
  it('does nothing while reports or canaries come through', () => {
    const s = fold([{ type: 'connected', at: 0 }, { type: 'heard', at: 9_000 }, { type: 'heard', at: 18_000 }]);
    expect(decideWatchdog(s, 27_000, DEAF_AFTER)).toBe('none');
  });

  it('subscribes again once nothing was heard for deaf_after while connected', () => {
    const s = fold([{ type: 'connected', at: 0 }, { type: 'heard', at: 1_000 }]);
    expect(decideWatchdog(s, 10_999, DEAF_AFTER)).toBe('none');
    expect(decideWatchdog(s, 11_000, DEAF_AFTER)).toBe('resubscribe');
  });

  it('reconnects when subscribing again brought nothing, and keeps reconnecting every deaf_after', () => {
    let s = fold([{ type: 'connected', at: 0 }, { type: 'remedied', at: 10_000, action: 'resubscribe' }]);
    expect(s.deafSince).toBe(10_000);
    expect(decideWatchdog(s, 19_000, DEAF_AFTER)).toBe('none');
    expect(decideWatchdog(s, 20_000, DEAF_AFTER)).toBe('reconnect');
    s = evolveWatchdog(s, { type: 'remedied', at: 20_000, action: 'reconnect' });
    s = evolveWatchdog(s, { type: 'disconnected', at: 20_001 });
    expect(decideWatchdog(s, 40_000, DEAF_AFTER)).toBe('none'); // not connected: the reconnect loop's business
    s = evolveWatchdog(s, { type: 'connected', at: 41_000 });
    expect(decideWatchdog(s, 50_000, DEAF_AFTER)).toBe('none'); // a new connection gets its full deaf_after
    expect(decideWatchdog(s, 51_000, DEAF_AFTER)).toBe('reconnect');
    expect(s.deafSince).toBe(10_000); // deaf until something is heard
  });

  it('is cured by the first thing heard', () => {
    const s = fold([{ type: 'connected', at: 0 }, { type: 'remedied', at: 10_000, action: 'resubscribe' }, { type: 'heard', at: 12_000 }]);
    expect(s.deafSince).toBeUndefined();
    expect(s.remedies).toBe(0);
    expect(decideWatchdog(s, 21_999, DEAF_AFTER)).toBe('none');
    expect(decideWatchdog(s, 22_000, DEAF_AFTER)).toBe('resubscribe');
  });
});

describe('pipelineState', () => {
  const AT = 1_000_000;
  const STALE = 32_000;
  it.each([
    ['no collector points at all: no evidence', [], { ok: undefined }],
    ['one healthy collector', [{ collector: 'a', ts: AT - 5_000, connected: 1, deaf: 0 }], { ok: true }],
    ['one of two collectors deaf, the other fine', [{ collector: 'a', ts: AT - 5_000, connected: 1, deaf: 1 }, { collector: 'b', ts: AT - 8_000, connected: 1, deaf: 0 }], { ok: true }],
    ['every collector deaf', [{ collector: 'a', ts: AT - 5_000, connected: 1, deaf: 1 }, { collector: 'b', ts: AT - 8_000, connected: 0, deaf: 0 }], { ok: false, reason: 'deaf' }],
    ['every collector disconnected', [{ collector: 'a', ts: AT - 5_000, connected: 0, deaf: 0 }], { ok: false, reason: 'disconnected' }],
    ['collectors stopped writing', [{ collector: 'a', ts: AT - 40_000, connected: 1, deaf: 0 }], { ok: false, reason: 'collectors_silent' }],
    ['points from an older collector without the fields', [{ collector: 'a', ts: AT - 5_000 }], { ok: false, reason: 'disconnected' }],
  ])('%s', (_, points, expected) => {
    expect(pipelineState(points, AT, STALE)).toEqual(expected);
  });
});

describe('/healthz', () => {
  const now = Date.UTC(2026, 11, 1, 3, 0, 0);
  it('is ok while connected, hearing, and writing', () => {
    const h = healthOf({ brokerConnected: true, deaf: false, lastReportAgeMs: 1_234, pendingPoints: 12 }, now);
    expect(h.status).toBe('ok');
    expect(h.body).toMatchObject({ status: 'ok', broker: 'connected', pipeline: 'ok', influx: 'ok', last_report_age_s: 1.2, pending_points: 12 });
  });
  it('names every problem at once', () => {
    const h = healthOf({ brokerConnected: true, deaf: true, deafSince: now - 60_000, pendingPoints: 5000, influxFailingSince: now - 30_000 }, now);
    expect(h.status).toBe('failing');
    expect(h.problems).toEqual(['pipeline_deaf', 'influx_failing']);
    expect(h.body).toMatchObject({ deaf_since: '2026-12-01T02:59:00.000Z', influx_failing_since: '2026-12-01T02:59:30.000Z' });
  });
  it('fails while the broker is away', () => {
    expect(healthOf({ brokerConnected: false, deaf: false, pendingPoints: 0 }, now).problems).toEqual(['broker_disconnected']);
  });
});
